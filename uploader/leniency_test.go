package uploader_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sweephq/sweep/uploader"
)

// uploadError posts a file with fields the way curl -F does and returns the
// answer's status, error code and message.
func (a *api) uploadError(fields ...string) (status int, code, message string) {
	a.t.Helper()
	status, got := a.upload("action,customerId\nremove,60\n", fields...)
	e, _ := got["error"].(map[string]any)
	code, _ = e["code"].(string)
	message, _ = e["message"].(string)
	return status, code, message
}

// jsonError posts a JSON upload and returns the answer's status, error code
// and message.
func (a *api) jsonError(body string) (status int, code, message string) {
	a.t.Helper()
	status, _, b := a.request("POST", "/v1/imports", strings.NewReader(body), "Content-Type", "application/json")
	code, message = errorOf(a.t, b)
	return status, code, message
}

// An upload's options have one spelling, the same in a form field as in
// JSON: run_at without spaces around it, auto_start true or false exactly,
// policy line or file in lower case. Anything else is refused (400) with
// the sentence JSON gets, and nothing is stored. Before, a form field
// " true", "TRUE" or "FILE" was taken, and so was "policy": "FILE" in JSON.
func TestUploadOptionsHaveOneSpelling(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	before, _ := a.stored()
	nextWeek := time.Now().Add(7 * 24 * time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)

	// run_at: the form field is refused with the sentence JSON gets.
	for _, value := range []string{" " + nextWeek, nextWeek + " ", "\t" + nextWeek, nextWeek + "\u00a0"} {
		js, _, jsMsg := a.jsonError(fmt.Sprintf(`{"customer_ids": [60], "auto_start": true, "run_at": %q}`, value))
		status, code, msg := a.uploadError("auto_start", "true", "run_at", value)
		if status != http.StatusBadRequest || code != "invalid" || !strings.Contains(msg, "run_at has spaces before or after the time") {
			t.Errorf("upload with run_at %q = %d %s %q; want 400 invalid saying it has spaces", value, status, code, msg)
		}
		if js != http.StatusBadRequest || msg != jsMsg {
			t.Errorf("run_at %q: the form field says %q, JSON (%d) says %q; want one sentence", value, msg, js, jsMsg)
		}
	}

	// auto_start: true or false exactly, as JSON writes a boolean.
	for _, value := range []string{"True", "TRUE", "FALSE", " true", "true ", "1", "yes", "on"} {
		status, code, msg := a.uploadError("auto_start", value)
		want := fmt.Sprintf("auto_start must be true or false, in lower case and without spaces (as in JSON); found %q.", value)
		if status != http.StatusBadRequest || code != "invalid" || msg != want {
			t.Errorf("upload with auto_start %q = %d %s %q; want 400 invalid %q", value, status, code, msg, want)
		}
	}

	// policy: line or file in lower case, in JSON as in a form field.
	for _, value := range []string{"FILE", "File", "LINE", " file", "line "} {
		want := fmt.Sprintf("policy must be line or file, in lower case and without spaces; found %q.", value)
		status, code, msg := a.jsonError(fmt.Sprintf(`{"customer_ids": [60], "policy": %q}`, value))
		if status != http.StatusBadRequest || code != "invalid" || msg != want {
			t.Errorf("JSON import with policy %q = %d %s %q; want 400 invalid %q", value, status, code, msg, want)
		}
		status, code, msg = a.uploadError("policy", value)
		if status != http.StatusBadRequest || code != "invalid" || msg != want {
			t.Errorf("upload with policy %q = %d %s %q; want 400 invalid %q", value, status, code, msg, want)
		}
	}

	// The other options are read as sent too: a number with a space is not
	// a number, and a window of spaces is not "no window".
	for _, c := range []struct{ name, value, says string }{
		{"max_rows_per_second", " 5000", "max_rows_per_second must be a whole number"},
		{"run_window", "   ", "run_window is empty"},
	} {
		status, code, msg := a.uploadError(c.name, c.value)
		if status != http.StatusBadRequest || code != "invalid" || !strings.Contains(msg, c.says) {
			t.Errorf("upload with %s %q = %d %s %q; want 400 invalid saying %q", c.name, c.value, status, code, msg, c.says)
		}
	}

	if after, _ := a.stored(); after != before {
		t.Errorf("imports = %d after refused uploads; want %d", after, before)
	}

	// The one spelling is taken, in a form field and in JSON.
	if status, got := a.upload("action,customerId\nremove,61\n", "policy", "file", "auto_start", "false", "run_at", nextWeek); status != http.StatusAccepted ||
		got["policy"] != "file" || got["auto_start"] != false {
		t.Errorf("upload with policy file, auto_start false = %d %v; want 202 with both", status, got)
	}
	status, _, body := a.request("POST", "/v1/imports", strings.NewReader(`{"customer_ids": [62], "policy": "line", "auto_start": false}`), "Content-Type", "application/json")
	if got := decode(t, body); status != http.StatusAccepted || got["policy"] != "line" {
		t.Errorf("JSON import with policy line = %d %v; want 202 with policy line", status, got)
	}
	if after, _ := a.stored(); after != before+2 {
		t.Errorf("imports = %d after two good uploads; want %d", after, before+2)
	}
}
