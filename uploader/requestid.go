package uploader

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
)

// Every answer carries a request id (X-Request-Id): the caller's, when it
// sends a usable one, else one of sweep's. It is in every log line written
// for the request and in every error body, so a caller's report and the
// server's logs meet.

// maxRequestID is the longest request id taken from a caller.
const maxRequestID = 128

type requestIDKey struct{}

// requestID is the request id of ctx ("" outside a request).
func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// usableRequestID says whether a caller's id may be taken as it is: 1 to
// maxRequestID characters of letters, digits and -_.:/ (nothing a log line
// or a header could be confused by).
func usableRequestID(s string) bool {
	if s == "" || len(s) > maxRequestID {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':' || c == '/') {
			return false
		}
	}
	return true
}

// withRequestID sets the request's id on its answer and its context.
func withRequestID(w http.ResponseWriter, r *http.Request) *http.Request {
	id := r.Header.Get("X-Request-Id")
	if !usableRequestID(id) {
		b := make([]byte, 12)
		rand.Read(b)
		id = "req_" + hex.EncodeToString(b)
	}
	w.Header().Set("X-Request-Id", id)
	return r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id))
}

// requestIDHandler adds the request id of a record's context to it.
type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, rec slog.Record) error {
	if id := requestID(ctx); id != "" {
		rec.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, rec)
}

func (h requestIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(as)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}
