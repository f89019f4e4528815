package client

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/sweephq/sweep"
)

// FromErrorStatusCode returns the sweep error code of an HTTP error status,
// for an answer that carries no error body of sweep's (a proxy's page, an
// empty body): the reverse of the API's table in uploader/errors.go, where
// 409 stands for ECONFLICT (ELINKED comes only with its body). A status the
// table does not use is EINTERNAL; a gateway's 502 and 504 are EUNAVAILABLE.
func FromErrorStatusCode(status int) string {
	switch status {
	case http.StatusBadRequest:
		return sweep.EINVALID
	case http.StatusUnauthorized:
		return sweep.EUNAUTHORIZED
	case http.StatusForbidden:
		return sweep.EFORBIDDEN
	case http.StatusNotFound:
		return sweep.ENOTFOUND
	case http.StatusConflict:
		return sweep.ECONFLICT
	case http.StatusRequestEntityTooLarge:
		return sweep.ETOOLARGE
	case http.StatusUnsupportedMediaType:
		return sweep.EUNSUPPORTED
	case http.StatusUnprocessableEntity:
		return sweep.EKEYREUSED
	case http.StatusTooManyRequests:
		return sweep.EBUSY
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return sweep.EUNAVAILABLE
	}
	return sweep.EINTERNAL
}

// errorFrom turns an error answer into a *sweep.Error: the code and message
// of its ErrorBody, or, when the body is not one, the code of its status
// (FromErrorStatusCode) and a message that names the request and the status.
func errorFrom(resp *http.Response) *sweep.Error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var body ErrorBody
	if json.Unmarshal(b, &body) == nil && body.Error.Code != "" {
		return &sweep.Error{Code: body.Error.Code, Message: body.Error.Message}
	}
	return &sweep.Error{Code: FromErrorStatusCode(resp.StatusCode),
		Message: fmt.Sprintf("%s %s answered %s.", resp.Request.Method, resp.Request.URL.Path, resp.Status)}
}
