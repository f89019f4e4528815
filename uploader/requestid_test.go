package uploader_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/lifecycle"
	"github.com/sweephq/sweep/uploader"
	"github.com/sweephq/sweep/wire"
)

// Every answer carries a request id: the caller's when usable, else one of
// sweep's; an error body repeats it, and the server's log line of the
// request carries it, so a caller's report meets the logs.
func TestEveryAnswerCarriesARequestID(t *testing.T) {
	db := testenv.DB(t)
	rdb, err := jobs.OpenRedis(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	var logs testenv.Logs
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	life := lifecycle.New(db, rdb, log)
	srv := httptest.NewServer(uploader.NewServer(uploader.Options{DB: db, Redis: rdb, API: true, Lifecycle: life, Queues: life,
		Logger: log, Registry: prometheus.NewRegistry()}))
	defer srv.Close()
	db.SQL().MustExec(`INSERT INTO tenants (id, name) VALUES (5200243, 'acme')`)
	token, _, err := db.CreateToken(t.Context(), 5200243, "ops", []sweep.Scope{sweep.ScopeImportsRead})
	if err != nil {
		t.Fatal(err)
	}
	call := func(id string) (*http.Response, wire.ErrorBody) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+"/v1/imports/999", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if id != "" {
			req.Header.Set("X-Request-Id", id)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body wire.ErrorBody
		json.NewDecoder(resp.Body).Decode(&body)
		return resp, body
	}
	for _, tc := range []struct{ sent, want string }{
		{"ticket-4711/retry:2", "ticket-4711/retry:2"},
		{"", ""},                       // sweep's own
		{"has spaces", ""},             // not usable: sweep's own
		{strings.Repeat("x", 129), ""}, // too long
		{"quote\"and<angle>", ""},      // not usable
	} {
		resp, body := call(tc.sent)
		got := resp.Header.Get("X-Request-Id")
		switch {
		case tc.want != "" && got != tc.want:
			t.Errorf("sent %q: X-Request-Id %q, want it back", tc.sent, got)
		case tc.want == "" && (!strings.HasPrefix(got, "req_") || len(got) != 28):
			t.Errorf("sent %q: X-Request-Id %q, want one of sweep's (req_ and 24 hex digits)", tc.sent, got)
		}
		if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusNotFound || body.Error.RequestID != got {
			t.Errorf("sent %q: %d, error body's request_id %q; want an error naming %q", tc.sent, resp.StatusCode, body.Error.RequestID, got)
		}
	}
	// A log line of a request names it: a server error is logged.
	db.SQL().MustExec(`ALTER TABLE imports RENAME TO imports_gone`)
	defer db.SQL().MustExec(`ALTER TABLE imports_gone RENAME TO imports`)
	resp, body := call("incident-42")
	if resp.StatusCode != http.StatusInternalServerError || body.Error.RequestID != "incident-42" {
		t.Fatalf("with the table gone: %d %+v; want a 500 naming incident-42", resp.StatusCode, body)
	}
	if !strings.Contains(logs.String(), `"request_id":"incident-42"`) {
		t.Errorf("the server's log does not name the request:\n%s", logs.String())
	}
}

// An error names the parameter at fault, where there is one: a query
// parameter, an upload's form field, a path's id.
func TestErrorsNameTheParameterAtFault(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	for _, tc := range []struct {
		method, path, body, contentType, param string
	}{
		{"GET", "/v1/imports?limit=0", "", "", "limit"},
		{"GET", "/v1/imports?limt=5", "", "", "limt"},
		{"GET", "/v1/imports?status=done", "", "", "status"},
		{"GET", "/v1/imports?created_after=yesterday", "", "", "created_after"},
		{"GET", "/v1/imports/abc", "", "", "id"},
		{"POST", "/v1/imports", "--b\r\nContent-Disposition: form-data; name=\"policy\"\r\n\r\nrow\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\naction,customerId\nremove,1\n\r\n--b--\r\n", "multipart/form-data; boundary=b", "policy"},
		{"POST", "/v1/imports", "--b\r\nContent-Disposition: form-data; name=\"run_at\"\r\n\r\n\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\naction,customerId\nremove,1\n\r\n--b--\r\n", "multipart/form-data; boundary=b", "run_at"},
	} {
		var body io.Reader
		var header []string
		if tc.body != "" {
			body = strings.NewReader(tc.body)
			header = []string{"Content-Type", tc.contentType}
		}
		code, _, b := a.request(tc.method, tc.path, body, header...)
		var e wire.ErrorBody
		if err := json.Unmarshal(b, &e); err != nil || code < 400 || e.Error.Param != tc.param {
			t.Errorf("%s %s: %d %s; want an error naming param %q", tc.method, tc.path, code, b, tc.param)
		}
	}
}
