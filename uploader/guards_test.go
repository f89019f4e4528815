package uploader_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/uploader"
)

// The token that asked for a run may not approve it, also when another
// token uploaded the file: the uploader, the requester and the approver are
// three people here, and only the third may decide.
func TestRequesterMayNotApproveWhenAnotherTokenUploaded(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	approver := a.approvals(2)
	starter, _, err := a.db.CreateToken(context.Background(), tenant, "night shift",
		[]sweep.Scope{sweep.ScopeImportsRead, sweep.ScopeImportsWrite, sweep.ScopeImportsApprove})
	if err != nil {
		t.Fatal(err)
	}
	as := func(token string) []string {
		return []string{"Authorization", "Bearer " + token, "Content-Type", "application/json"}
	}
	code, imp := a.upload("action,customerId\nremove,60\nremove,61\nremove,62\n") // by ops
	if code != http.StatusAccepted {
		t.Fatalf("upload = %d %v", code, imp)
	}
	a.waitStatus(imp["id"])
	path := fmt.Sprintf("/v1/imports/%v", imp["id"])
	if code, _, b := a.request("POST", path+"/start", nil, as(starter)...); code != http.StatusAccepted || decode(t, b)["status"] != "awaiting_approval" {
		t.Fatalf("start by night shift above the threshold = %d %s; want 202 awaiting_approval", code, b)
	}
	for _, step := range []struct{ path, body string }{
		{path + "/approve", `{"confirm_customers": 3}`},
		{path + "/reject", `{"reason": "changed my mind"}`},
	} {
		if code, _, b := a.request("POST", step.path, strings.NewReader(step.body), as(starter)...); code != http.StatusForbidden {
			t.Errorf("POST %s by the token that started it = %d %s; want 403", step.path, code, b)
		}
	}
	if code, _, b := a.request("GET", path, nil); code != http.StatusOK || decode(t, b)["status"] != "awaiting_approval" {
		t.Fatalf("after the requester's own decisions: %d %s; want still awaiting_approval", code, b)
	}
	if n := a.count(`SELECT count(*) FROM customers WHERE tenant_id = $1 AND id IN (60, 61, 62)`, tenant); n != 3 {
		t.Fatalf("%d of 3 customers left after the requester approved its own run", n)
	}
	// A third person may.
	if code, _, b := a.request("POST", path+"/approve", strings.NewReader(`{"confirm_customers": 3}`), as(approver)...); code != http.StatusAccepted {
		t.Fatalf("approve by risk lead = %d %s; want 202", code, b)
	}
}

// run_at is part of what an Idempotency-Key binds: the same file under the
// same key with another run_at is 422 and schedules nothing new; with the
// same run_at it replays the first import.
func TestIdempotencyKeyBindsRunAt(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	first := time.Now().Add(2 * time.Hour).Truncate(time.Second).UTC()
	send := func(runAt time.Time) (int, map[string]any) {
		body, ct := rawMultipart(true, "file", "action,customerId\nremove,50\n", "run_at", runAt.Format(time.RFC3339))
		code, _, b := a.request("POST", "/v1/imports", strings.NewReader(body), "Content-Type", ct, "Idempotency-Key", "night-run")
		return code, decode(t, b)
	}
	code, imp := send(first)
	if code != http.StatusAccepted {
		t.Fatalf("first = %d %v", code, imp)
	}
	if code, got := send(first.Add(time.Hour)); code != http.StatusUnprocessableEntity || fmt.Sprint(got["error"].(map[string]any)["code"]) != sweep.EKEYREUSED {
		t.Errorf("same key and file, run_at an hour later = %d %v; want 422 %s", code, got, sweep.EKEYREUSED)
	}
	if code, got := send(first); code != http.StatusOK || got["id"] != imp["id"] {
		t.Errorf("same key, same run_at = %d %v; want 200 with import %v", code, got, imp["id"])
	}
	var runAts []time.Time
	if err := a.db.SQL().Select(&runAts, `SELECT run_at FROM imports WHERE tenant_id = $1`, tenant); err != nil {
		t.Fatal(err)
	}
	if len(runAts) != 1 || !runAts[0].Equal(first) {
		t.Errorf("imports' run_at = %v; want one import at %v", runAts, first)
	}
}

// A run_at with a fraction of a second is never started early: the run task
// is due at run_at or within the second after, never on the second before.
func TestFractionalRunAtNeverStartsEarly(t *testing.T) {
	t.Parallel()
	a := newLiveAPI(t, 100, 0)
	id := a.validated(1, 10)
	runAt := time.Now().Add(time.Hour).Truncate(time.Second).Add(700 * time.Millisecond).UTC()
	if got := a.start(id, `{"run_at":"`+runAt.Format(time.RFC3339Nano)+`"}`); got["status"] != "queued" {
		t.Fatalf("start at %s answered %v", runAt.Format(time.RFC3339Nano), got)
	}
	tasks := a.scheduledRunTasks()
	if len(tasks) != 1 || tasks[0].Before(runAt) || !tasks[0].Before(runAt.Add(time.Second)) {
		t.Fatalf("run tasks due at %v; want one within the second from %s", tasks, runAt.Format(time.RFC3339Nano))
	}
}

// An upload answered 5xx stores nothing: here the database refuses the
// file's rows after the import's own row was written. The answer says what
// to do, not the database's words, and the same request under the same key
// later makes its import as if the first had never come.
func TestUploadAnswered5xxStoresNothing(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	a.db.SQL().MustExec(`CREATE FUNCTION refuse_file() RETURNS trigger LANGUAGE plpgsql AS
		$$BEGIN RAISE EXCEPTION 'disk quota of the test exceeded'; END$$`)
	a.db.SQL().MustExec(`CREATE TRIGGER refuse_file BEFORE INSERT ON import_files FOR EACH ROW EXECUTE FUNCTION refuse_file()`)
	body, ct := rawMultipart(true, "file", "action,customerId\nremove,40\nremove,41\n", "auto_start", "true")
	code, _, b := a.request("POST", "/v1/imports", strings.NewReader(body), "Content-Type", ct, "Idempotency-Key", "retry-me")
	if code < 500 {
		t.Fatalf("upload with the database refusing its file = %d %s; want a 5xx", code, b)
	}
	if strings.Contains(string(b), "quota") {
		t.Errorf("the answer shows the database's error: %s", b)
	}
	if imports, files := a.stored(); imports != 0 || files != 0 {
		t.Fatalf("after a %d: %d imports, %d file chunks stored; want none", code, imports, files)
	}
	a.db.SQL().MustExec(`DROP TRIGGER refuse_file ON import_files`)
	code, _, b = a.request("POST", "/v1/imports", strings.NewReader(body), "Content-Type", ct, "Idempotency-Key", "retry-me")
	if code != http.StatusAccepted {
		t.Fatalf("the same request again = %d %s; want 202, a new import", code, b)
	}
	if imports, _ := a.stored(); imports != 1 {
		t.Errorf("%d imports after the retry, want 1", imports)
	}
}

// run_at's edges as the API takes them: a time in the last 24 hours means
// now (23 hours ago runs at once), 25 hours ago is refused, and so is
// anything past 366 days ahead (a year and a day); just inside is taken.
func TestRunAtBounds(t *testing.T) {
	t.Parallel()
	a := newLiveAPI(t, 100, 0)
	now := time.Now()
	for _, c := range []struct {
		name  string
		at    time.Time
		taken bool
	}{
		{"25 h ago", now.Add(-25 * time.Hour), false},
		{"24 h and a minute ago", now.Add(-24*time.Hour - time.Minute), false},
		{"366 days and a minute ahead", now.Add(366*24*time.Hour + time.Minute), false},
		{"367 days ahead", now.Add(367 * 24 * time.Hour), false},
		{"366 days less a minute ahead", now.Add(366*24*time.Hour - time.Minute), true},
	} {
		before, _ := a.stored()
		code, got := a.upload("action,customerId\nremove,20\n", "run_at", c.at.UTC().Format(time.RFC3339))
		after, _ := a.stored()
		switch {
		case c.taken && (code != http.StatusAccepted || after != before+1):
			t.Errorf("run_at %s = %d %v, %d imports made; want 202 and one", c.name, code, got, after-before)
		case !c.taken && (code != http.StatusBadRequest || after != before):
			t.Errorf("run_at %s = %d %v, %d imports made; want 400 and none", c.name, code, got, after-before)
		case !c.taken && !strings.Contains(fmt.Sprint(got["error"]), "within a year"):
			t.Errorf("run_at %s refused with %v; want it to say run_at must be within a year", c.name, got["error"])
		}
	}
	// 23 hours ago means now: with auto_start the run starts at once.
	code, got := a.upload("action,customerId\nremove,30\nremove,31\n", "run_at", now.Add(-23*time.Hour).UTC().Format(time.RFC3339), "auto_start", "true")
	if code != http.StatusAccepted {
		t.Fatalf("run_at 23 h ago = %d %v; want 202", code, got)
	}
	id := int64(got["id"].(float64))
	done := a.waitImport(id, 30*time.Second, "completed", func(i sweep.Import) bool { return i.Status.Terminal() })
	if done.Status != sweep.StatusCompleted || done.DeletedRows != 2 || a.left(30, 31) != 0 {
		t.Errorf("run_at 23 h ago: %s with %d deleted, %d left; want completed at once, 2 deleted", done.Status, done.DeletedRows, a.left(30, 31))
	}
}
