package client

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/wire"
)

// errorFrom turns an error answer into a *sweep.Error: the code and message
// of its wire.ErrorBody, or, when the body is not one, the code of its status
// (wire.FromErrorStatusCode) and a message that names the request and the status.
func errorFrom(resp *http.Response) *sweep.Error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var body wire.ErrorBody
	if json.Unmarshal(b, &body) == nil && body.Error.Code != "" {
		return &sweep.Error{Code: body.Error.Code, Message: body.Error.Message}
	}
	return &sweep.Error{Code: wire.FromErrorStatusCode(resp.StatusCode),
		Message: fmt.Sprintf("%s %s answered %s.", resp.Request.Method, resp.Request.URL.Path, resp.Status)}
}
