package client

import (
	"context"
	"net/http"

	"github.com/sweephq/sweep/wire"
)

// wire.Events reads an import's timeline.
func (c *Client) Events(ctx context.Context, id int64) (wire.Events, error) {
	var ev wire.Events
	err := c.do(ctx, http.MethodGet, importPath(id, "/events"), nil, "", &ev)
	return ev, err
}
