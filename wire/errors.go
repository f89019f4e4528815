package wire

import (
	"net/http"

	"github.com/sweephq/sweep"
)

// statusOf is the one table of the HTTP status each error code is answered
// with; the API (uploader) answers by it, and FromErrorStatusCode reads it
// backwards.
var statusOf = map[string]int{
	sweep.EINVALID:      http.StatusBadRequest,
	sweep.EUNAUTHORIZED: http.StatusUnauthorized,
	sweep.EFORBIDDEN:    http.StatusForbidden,
	sweep.ENOTFOUND:     http.StatusNotFound,
	sweep.ECONFLICT:     http.StatusConflict,
	sweep.ELINKED:       http.StatusConflict,
	sweep.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	sweep.EUNSUPPORTED:  http.StatusUnsupportedMediaType,
	sweep.EUNAVAILABLE:  http.StatusServiceUnavailable,
	sweep.EKEYREUSED:    http.StatusUnprocessableEntity,
	sweep.EBUSY:         http.StatusTooManyRequests,
	sweep.EINTERNAL:     http.StatusInternalServerError,
}

// ErrorStatusCode returns the HTTP status the API answers an error code with;
// a code the table lacks is a 500.
func ErrorStatusCode(code string) int {
	if status, ok := statusOf[code]; ok {
		return status
	}
	return http.StatusInternalServerError
}

// FromErrorStatusCode returns the sweep error code of an HTTP error status,
// for an answer that carries no error body of sweep's (a proxy's page, an
// empty body): the API's table read backwards, where 409 stands for ECONFLICT
// (ELINKED comes only with its body). A status the table does not use is
// EINTERNAL; a gateway's 502 and 504 are EUNAVAILABLE.
func FromErrorStatusCode(status int) string {
	switch status {
	case http.StatusConflict:
		return sweep.ECONFLICT
	case http.StatusBadGateway, http.StatusGatewayTimeout:
		return sweep.EUNAVAILABLE
	}
	for code, s := range statusOf {
		if s == status {
			return code
		}
	}
	return sweep.EINTERNAL
}
