package client

import (
	"context"
	"net/http"

	"github.com/sweephq/sweep/wire"
)

// wire.Impact returns an import's impact preview: what starting it will delete.
// An import that has not validated is ECONFLICT.
func (c *Client) Impact(ctx context.Context, id int64) (wire.Impact, error) {
	var m wire.Impact
	err := c.do(ctx, http.MethodGet, importPath(id, "/impact"), nil, "", &m)
	return m, err
}
