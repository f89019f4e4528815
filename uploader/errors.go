package uploader

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/client"
)

// writeError answers with err's code and message. Internal errors are logged
// with their detail and answered with a generic message.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := sweep.ErrorCode(err)
	status := client.ErrorStatusCode(code)
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
	body := client.ErrorBody{Error: client.ErrorDetail{Code: code, Message: sweep.ErrorMessage(err)}}
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
