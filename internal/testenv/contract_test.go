package testenv

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/wire"
)

// failures is a testing.TB that keeps what Contract reports.
type failures struct {
	testing.TB
	mu   sync.Mutex
	msgs []string
}

func (f *failures) Helper() {}

func (f *failures) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
}

func (f *failures) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}

// TestContractReportsWhatTheDocumentDoesNotSay runs exchanges that match the
// API's document and exchanges that do not through Contract, and checks that
// exactly the second kind are reported.
func TestContractReportsWhatTheDocumentDoesNotSay(t *testing.T) {
	now := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	imp, _ := json.Marshal(wire.FromImport(sweep.Import{ID: 5, Status: sweep.StatusQueued, Source: sweep.SourceUpload,
		Policy: sweep.PolicyLine, FileName: "customers.csv", CreatedBy: "ops", CreatedAt: now, UpdatedAt: now}))
	answer := func(status int, contentType, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if contentType != "" {
				w.Header().Set("Content-Type", contentType)
			}
			w.WriteHeader(status)
			w.Write([]byte(body))
		}
	}
	const jsonType = "application/json; charset=utf-8"
	notFound := `{"error":{"code":"not_found","message":"Import 5 was not found."}}`
	for _, c := range []struct {
		name         string
		method, path string
		header       string // Content-Type of the request
		body         string
		pattern      string // the route the handler is registered at
		handler      http.HandlerFunc
		want         string // a part of the one report; empty: none
	}{
		{name: "documented answer", method: "GET", path: "/healthz", pattern: "GET /healthz",
			handler: answer(200, jsonType, `{"status":"ok"}`)},
		{name: "member the document does not name", method: "GET", path: "/healthz", pattern: "GET /healthz",
			handler: answer(200, jsonType, `{"status":"ok","uptime":3}`), want: `property "uptime" is unsupported`},
		{name: "value outside the enum", method: "GET", path: "/healthz", pattern: "GET /healthz",
			handler: answer(200, jsonType, `{"status":"fine"}`), want: "value is not one of the allowed values"},
		{name: "undocumented status", method: "GET", path: "/v1/imports/5", pattern: "GET /v1/imports/{id}",
			handler: answer(418, jsonType, notFound), want: "status is not supported"},
		{name: "documented error", method: "GET", path: "/v1/imports/5", pattern: "GET /v1/imports/{id}",
			handler: answer(404, jsonType, notFound)},
		{name: "error that is not JSON", method: "GET", path: "/v1/imports/5", pattern: "GET /v1/imports/{id}",
			handler: answer(404, "text/plain; charset=utf-8", "404 page not found\n"), want: "text/plain"},
		{name: "accepted request the document refuses", method: "POST", path: "/v1/imports/5/start", pattern: "POST /v1/imports/{id}/start",
			header: "application/json", body: `{"parallelism": 99}`, handler: answer(202, jsonType, string(imp)),
			want: "the request does not match operation startImport"},
		{name: "refused request", method: "POST", path: "/v1/imports/5/start", pattern: "POST /v1/imports/{id}/start",
			header: "application/json", body: `{"parallelism": 99}`,
			handler: answer(400, jsonType, `{"error":{"code":"invalid","message":"parallelism must be from 1 to 16; found 99."}}`)},
		{name: "accepted request", method: "POST", path: "/v1/imports/5/start", pattern: "POST /v1/imports/{id}/start",
			header: "application/json", body: `{"parallelism": 2}`, handler: answer(202, jsonType, string(imp))},
		{name: "CSV of the wrong type", method: "GET", path: "/v1/sample.csv", pattern: "GET /v1/sample.csv",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Disposition", `attachment; filename="sweep-sample.csv"`)
				answer(200, "application/octet-stream", "action,customerId\n")(w, r)
			}, want: "application/octet-stream"},
		{name: "CSV without its file name", method: "GET", path: "/v1/sample.csv", pattern: "GET /v1/sample.csv",
			handler: answer(200, "text/csv; charset=utf-8", "action,customerId\n"), want: `"Content-Disposition" missing`},
		{name: "route the document lacks", method: "GET", path: "/v1/secret", pattern: "GET /v1/secret",
			handler: answer(200, jsonType, `{}`), want: "has no operation GET /v1/secret"},
		{name: "unknown route answered 404", method: "GET", path: "/v1/secret", pattern: "/v1/",
			handler: answer(404, jsonType, `{"error":{"code":"not_found","message":"There is no route."}}`)},
		{name: "excluded route", method: "GET", path: "/", pattern: "GET /{$}",
			handler: answer(200, "text/html; charset=utf-8", "<!doctype html>")},
		{name: "no content where the document has none", method: "DELETE", path: "/v1/imports/5", pattern: "DELETE /v1/imports/{id}",
			handler: answer(204, "", "")},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &failures{}
			mux := http.NewServeMux()
			mux.Handle(c.pattern, c.handler)
			req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
			if c.header != "" {
				req.Header.Set("Content-Type", c.header)
			}
			Contract(f, mux).ServeHTTP(httptest.NewRecorder(), req)
			switch {
			case c.want == "" && len(f.msgs) > 0:
				t.Errorf("reported %q, want nothing", f.msgs)
			case c.want != "" && (len(f.msgs) != 1 || !strings.Contains(f.msgs[0], c.want)):
				t.Errorf("reported %q, want one report with %q", f.msgs, c.want)
			}
		})
	}
}
