package uploader_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sweephq/sweep/uploader"
)

// Every answer tells the browser not to guess its type, and an error answer is
// JSON in which what the client sent can never be read as markup: the 404 of an
// unknown route quotes the path as it came on the wire (percent-encoded, cut
// short), and <, > and & in any error message are escaped.
func TestAnswersAreNotSniffedAndErrorsDoNotEchoMarkup(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	admin := a.asAdmin()
	for _, c := range []struct {
		api          *api
		method, path string
		code         int
	}{
		{a, "GET", "/healthz", http.StatusOK},
		{a, "GET", "/v1/imports", http.StatusOK},
		{a, "GET", "/v1/sample.csv", http.StatusOK},
		{a, "GET", "/", http.StatusOK},
		{a, "GET", "/v1/%3Cscript%3Ealert(1)%3C/script%3E", http.StatusNotFound},
		{a, "GET", "/v1/<img%20src=x%20onerror=alert(1)>", http.StatusNotFound},
		{a, "GET", "/v1/%1B%5B2J%07" + strings.Repeat("a", 5000), http.StatusNotFound},
		{admin, "GET", "/v1/cleanup-policies/%3Cscript%3Ealert(1)%3C%2Fscript%3E", http.StatusNotFound},
		{a, "GET", "/v1/imports/%3Cb%3E", http.StatusNotFound},
		{a, "DELETE", "/v1/customers/%3Cb%3E", http.StatusForbidden},
		{a, "GET", "/nowhere", http.StatusNotFound},
	} {
		req, err := http.NewRequest(c.method, a.url+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Opaque = c.path // sent exactly as written, not re-encoded
		code, h, body := c.api.do(req)
		if code != c.code {
			t.Errorf("%s %.60s = %d, want %d: %s", c.method, c.path, code, c.code, body)
		}
		if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s %.60s: X-Content-Type-Options = %q, want nosniff", c.method, c.path, got)
		}
		if code < 400 || c.path == "/nowhere" {
			continue
		}
		if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s %.60s: error answered as %q, want application/json", c.method, c.path, ct)
		}
		if strings.ContainsAny(string(body), "<>&\x1b\a") {
			t.Errorf("%s %.60s: error body holds raw markup or control characters: %.300s", c.method, c.path, body)
		}
		if len(body) > 1000 {
			t.Errorf("%s %.60s: error body is %d bytes; a long path is echoed whole", c.method, c.path, len(body))
		}
		msg, _ := decode(t, body)["error"].(map[string]any)["message"].(string)
		if msg == "" {
			t.Errorf("%s %.60s: no error message in %s", c.method, c.path, body)
		}
	}
}
