package uploader

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/sweephq/sweep"
)

// statusOf is the one place where an error code becomes an HTTP status.
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

// errorBody is the JSON shape of every error answer.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// writeError answers with err's code and message. Internal errors are logged
// with their detail and answered with a generic message.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := sweep.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if status == http.StatusInternalServerError {
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "route", r.Pattern, "err", err)
	}
	if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
		// The body may be unread (a refusal before reading it): close the
		// connection after answering, rather than let the server drain a
		// body a slow client may never finish before the answer goes out.
		w.Header().Set("Connection", "close")
		defer http.NewResponseController(w).SetReadDeadline(time.Now()) // and stop reading it once answered
	}
	var body errorBody
	body.Error.Code = code
	body.Error.Message = sweep.ErrorMessage(err)
	// A message may quote what the client sent; with <, > and & escaped it is
	// never markup, whatever reads the answer.
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(body); err != nil {
		s.log.DebugContext(r.Context(), "write error answer", "err", err)
	}
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		slog.Debug("write response", "err", err)
	}
}
