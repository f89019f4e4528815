package uploader_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sweephq/sweep/uploader"
)

// events reads an import's timeline as kind/actor pairs, and its sentences.
// The impact preview's step is left out of the pairs: the worker works it out
// right after the import validates, so it may come before or after a start
// sent at once (its sentence is in the text).
func (a *api) events(id any) ([]string, string) {
	a.t.Helper()
	code, _, b := a.request("GET", fmt.Sprintf("/v1/imports/%v/events", id), nil)
	if code != http.StatusOK {
		a.t.Fatalf("events of %v = %d %s", id, code, b)
	}
	var steps []string
	var text strings.Builder
	for _, e := range decode(a.t, b)["events"].([]any) {
		ev := e.(map[string]any)
		if ev["kind"] != "impact_computed" {
			steps = append(steps, fmt.Sprintf("%s by %s", ev["kind"], ev["actor"]))
		}
		fmt.Fprintln(&text, ev["text"])
	}
	return steps, text.String()
}

// The import's timeline holds every step in order, with the token that took
// it or sweep's own workers, and the figures of each: an import that runs to
// the end, and one that is changed, paused, resumed and cancelled.
func TestTimelineThroughTheAPI(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	_, imp := a.upload("action,customerId\nremove,30\nremove,31\nremove,bad\n")
	a.waitStatus(imp["id"])
	path := fmt.Sprintf("/v1/imports/%v", imp["id"])
	if code, _, b := a.request("POST", path+"/start", nil); code != http.StatusAccepted {
		t.Fatalf("start = %d %s", code, b)
	}
	deadline := time.Now().Add(30 * time.Second)
	for a.waitStatus(imp["id"])["settled"] != true {
		if time.Now().After(deadline) {
			t.Fatal("the import did not end")
		}
		time.Sleep(20 * time.Millisecond)
	}
	steps, text := a.events(imp["id"])
	want := []string{"uploaded by ops", "validating by sweep", "validated by sweep", "started by ops", "running by sweep", "completed_with_errors by sweep"}
	if diff := cmp.Diff(want, steps); diff != "" {
		t.Errorf("timeline of a run (-want +got):\n%s", diff)
	}
	for _, s := range []string{"validated: 3 rows, 2 valid, 1 with errors", "impact worked out: 2 customers with 26 related rows",
		"completed with errors: 2 deleted, 0 skipped, 1 with errors"} {
		if !strings.Contains(text, s) {
			t.Errorf("the timeline does not say %q:\n%s", s, text)
		}
	}

	_, other := a.upload("action,customerId\nremove,40\n")
	a.waitStatus(other["id"])
	path = fmt.Sprintf("/v1/imports/%v", other["id"])
	nextWeek := time.Now().Add(7 * 24 * time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)
	js := []string{"Content-Type", "application/json"}
	for _, step := range []struct{ method, path, body string }{
		{"POST", path + "/start", `{"run_at": "` + nextWeek + `"}`},
		{"PATCH", path, `{"max_rows_per_second": 500}`},
		{"POST", path + "/pause", ""},
		{"POST", path + "/resume", ""},
		{"POST", path + "/cancel", ""},
	} {
		var h []string
		if step.body != "" {
			h = js
		}
		if code, _, b := a.request(step.method, step.path, strings.NewReader(step.body), h...); code >= 300 {
			t.Fatalf("%s %s = %d %s", step.method, step.path, code, b)
		}
	}
	steps, text = a.events(other["id"])
	want = []string{"uploaded by ops", "validating by sweep", "validated by sweep", "started by ops", "run_changed by ops",
		"paused by ops", "resumed by ops", "cancelled by ops"}
	if diff := cmp.Diff(want, steps); diff != "" {
		t.Errorf("timeline of a changed, paused, resumed and cancelled import (-want +got):\n%s", diff)
	}
	if !strings.Contains(text, "started, to run at "+strings.TrimSuffix(nextWeek, "Z")) || !strings.Contains(text, "at most 500 rows/s") {
		t.Errorf("the timeline lacks the start's run_at or the cap:\n%s", text)
	}
	if code, _, _ := a.request("GET", "/v1/imports/999999/events", nil); code != http.StatusNotFound {
		t.Errorf("events of an unknown import = %d, want 404", code)
	}
}
