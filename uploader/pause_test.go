package uploader_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sweephq/sweep/uploader"
)

// Pause and resume through the API: only a queued or running import pauses;
// a paused one offers resume and cancel (not delete), and resuming queues it
// again with its run_at kept.
func TestPauseAndResumeThroughTheAPI(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	_, imp := a.upload("action,customerId\nremove,40\nremove,41\n")
	id := imp["id"]
	a.waitStatus(id)
	step := func(action string) (int, map[string]any) {
		code, _, b := a.request("POST", fmt.Sprintf("/v1/imports/%v/%s", id, action), nil)
		return code, decode(t, b)
	}
	if code, got := step("pause"); code != http.StatusConflict {
		t.Errorf("pause a validated import = %d %v; want 409", code, got)
	}
	nextWeek := time.Now().Add(7 * 24 * time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)
	if code, _, b := a.request("POST", fmt.Sprintf("/v1/imports/%v/start", id), strings.NewReader(`{"run_at":"`+nextWeek+`"}`), "Content-Type", "application/json"); code != http.StatusAccepted {
		t.Fatalf("start = %d %s", code, b)
	}
	code, got := step("pause")
	if code != http.StatusAccepted || got["status"] != "paused" {
		t.Fatalf("pause a queued import = %d %v", code, got)
	}
	actions := fmt.Sprint(got["actions"])
	if !strings.Contains(actions, "resume") || !strings.Contains(actions, "cancel") || strings.Contains(actions, "delete") || strings.Contains(actions, "start") {
		t.Errorf("actions of a paused import = %v; want resume and cancel, not start or delete", got["actions"])
	}
	if code, _, _ := a.request("DELETE", fmt.Sprintf("/v1/imports/%v", id), nil); code != http.StatusConflict {
		t.Errorf("delete a paused import = %d; want 409", code)
	}
	code, got = step("resume")
	if code != http.StatusAccepted || got["status"] != "queued" || got["run_at"] != nextWeek {
		t.Fatalf("resume = %d %v; want queued at %s", code, got, nextWeek)
	}
	if code, got := step("resume"); code != http.StatusConflict {
		t.Errorf("resume a queued import = %d %v; want 409", code, got)
	}
	step("pause")
	if code, got := step("cancel"); code != http.StatusAccepted || got["status"] != "cancelled" {
		t.Errorf("cancel a paused import = %d %v", code, got)
	}
	if n := a.count(`SELECT count(*) FROM customers WHERE tenant_id = $1 AND id IN (40, 41)`, tenant); n != 2 {
		t.Errorf("customers of a paused, then cancelled import = %d, want 2", n)
	}
}
