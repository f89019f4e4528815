package uploader

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/wire"
)

// writeError answers with err's code and message. Internal errors are logged
// with their detail and answered with a generic message.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := sweep.ErrorCode(err)
	status := wire.ErrorStatusCode(code)
	if status == http.StatusInternalServerError {
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "route", r.Pattern, "err", err)
	}
	if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody && !drained(w, r) {
		// The body is still arriving (a refusal before reading it, from a
		// client that sends much or slowly): close the connection after
		// answering, rather than wait for a body a slow client may never
		// finish before the answer goes out.
		w.Header().Set("Connection", "close")
		defer http.NewResponseController(w).SetReadDeadline(time.Now()) // and stop reading it once answered
	}
	body := wire.ErrorBody{Error: wire.ErrorDetail{Code: code, Message: sweep.ErrorMessage(err), Param: sweep.ErrorParam(err), RequestID: requestID(r.Context())}}
	// A message may quote what the client sent; with <, > and & escaped it is
	// never markup, whatever reads the answer.
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(body); err != nil {
		s.log.DebugContext(r.Context(), "write error answer", "err", err)
	}
}

// drainLimit and drainTime bound what a refusal reads of a body it did not
// need: a client still sending a short body gets the answer (had the
// connection closed with its bytes unread, the client's system would answer
// them with a reset, which can drop the answer unread: "connection reset by
// peer" instead of a 413 saying what to fix).
const (
	drainLimit = 1 << 20
	drainTime  = time.Second
)

// drained reads the rest of a refused request's body, when it ends within
// drainLimit bytes and drainTime, and reports whether it did.
func drained(w http.ResponseWriter, r *http.Request) bool {
	rc := http.NewResponseController(w)
	if rc.SetReadDeadline(time.Now().Add(drainTime)) != nil {
		return false
	}
	n, err := io.Copy(io.Discard, io.LimitReader(r.Body, drainLimit+1))
	if err != nil || n > drainLimit {
		return false
	}
	rc.SetReadDeadline(time.Time{})
	return true
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
