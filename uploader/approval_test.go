package uploader_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/uploader"
)

// approvals sets the tenant's approval threshold and returns the token of
// another person who may approve ("risk lead").
func (a *api) approvals(threshold int64) string {
	a.t.Helper()
	ctx := context.Background()
	if err := a.db.SetApprovalThreshold(ctx, tenant, &threshold); err != nil {
		a.t.Fatal(err)
	}
	approver, _, err := a.db.CreateToken(ctx, tenant, "risk lead", []sweep.Scope{sweep.ScopeImportsRead, sweep.ScopeImportsApprove})
	if err != nil {
		a.t.Fatal(err)
	}
	return approver
}

// Four eyes: above the tenant's threshold, a start waits for approval; the
// requester's own approval (or rejection) is refused with what to do, a
// wrong count too; another token with imports:approve approves and the run
// deletes; a rejection ends the import rejected with its reason and deletes
// nothing; an expired request ends rejected and says so; the timeline names
// everyone.
func TestApprovalThroughTheAPI(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	ctx := context.Background()
	approver := a.approvals(2)
	// The requester may approve in general (it holds the scope), never its own.
	a.db.SQL().MustExec(`UPDATE api_tokens SET scopes = array_append(scopes, 'imports:approve') WHERE tenant_id = $1 AND name = 'ops'`, tenant)
	as := func(token string) []string {
		return []string{"Authorization", "Bearer " + token, "Content-Type", "application/json"}
	}
	js := []string{"Content-Type", "application/json"}
	started := func(file string) (string, map[string]any) {
		t.Helper()
		_, imp := a.upload(file)
		a.waitStatus(imp["id"])
		path := fmt.Sprintf("/v1/imports/%v", imp["id"])
		code, _, b := a.request("POST", path+"/start", nil)
		if got := decode(t, b); code != http.StatusAccepted || got["status"] != "awaiting_approval" || got["awaits_operator"] != true {
			t.Fatalf("start above the threshold = %d %v; want awaiting_approval", code, got)
		}
		return path, imp
	}

	// A small import (2 customers: not above 2) needs none.
	_, small := a.upload("action,customerId\nremove,50\nremove,51\n")
	a.waitStatus(small["id"])
	if code, _, b := a.request("POST", fmt.Sprintf("/v1/imports/%v/start", small["id"]), nil); code != http.StatusAccepted || decode(t, b)["status"] != "queued" {
		t.Errorf("start at the threshold = %d %s; want queued", code, b)
	}

	path, _ := started("action,customerId\nremove,60\nremove,61\nremove,62\n")
	// While it awaits approval its run is what was asked: no second start,
	// no resume, no change of window or cap.
	for _, step := range []struct{ method, path, body string }{
		{"POST", path + "/start", `{"parallelism": 2}`},
		{"POST", path + "/resume", ""},
		{"PATCH", path, `{"max_rows_per_second": 0}`},
	} {
		var h []string
		if step.body != "" {
			h = js
		}
		if code, _, b := a.request(step.method, step.path, strings.NewReader(step.body), h...); code != http.StatusConflict {
			t.Errorf("%s %s while awaiting approval = %d %s; want 409", step.method, step.path, code, b)
		}
	}
	code, _, b := a.request("POST", path+"/approve", strings.NewReader(`{"confirm_customers": 3}`), js...)
	if msg := fmt.Sprint(decode(t, b)["error"]); code != http.StatusForbidden || !strings.Contains(msg, "another person with the imports:approve scope") {
		t.Errorf("the requester's own approval = %d %s; want 403 saying another person must", code, msg)
	}
	if code, _, b := a.request("POST", path+"/reject", strings.NewReader(`{"reason": "mine"}`), js...); code != http.StatusForbidden {
		t.Errorf("the requester's own rejection = %d %s; want 403", code, b)
	}
	if code, _, b := a.request("POST", path+"/approve", strings.NewReader(`{"confirm_customers": 30}`), as(approver)...); code != http.StatusBadRequest ||
		!strings.Contains(string(b), "type the number of customers") {
		t.Errorf("approval with a wrong count = %d %s; want 400 saying the number", code, b)
	}
	if code, _, b := a.request("POST", path+"/approve", nil, as(approver)...); code != http.StatusBadRequest {
		t.Errorf("approval without a count = %d %s; want 400", code, b)
	}
	if n := a.count(`SELECT count(*) FROM customers WHERE tenant_id = $1 AND id IN (60, 61, 62)`, tenant); n != 3 {
		t.Fatalf("%d of 3 customers left before the approval", n)
	}
	code, _, b = a.request("POST", path+"/approve", strings.NewReader(`{"confirm_customers": 3}`), as(approver)...)
	got := decode(t, b)
	if code != http.StatusAccepted || got["status"] != "queued" || fmt.Sprint(got["approval"]) == "<nil>" {
		t.Fatalf("approval = %d %v", code, got)
	}
	deadline := time.Now().Add(30 * time.Second)
	for a.count(`SELECT count(*) FROM customers WHERE tenant_id = $1 AND id IN (60, 61, 62)`, tenant) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the approved import did not delete its customers")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for a.waitStatus(got["id"])["settled"] != true {
		time.Sleep(20 * time.Millisecond)
	}
	steps, text := a.events(got["id"])
	want := []string{"uploaded by ops", "validating by sweep", "validated by sweep", "awaiting_approval by ops",
		"approved by risk lead", "running by sweep", "completed by sweep"}
	if diff := cmp.Diff(want, steps); diff != "" {
		t.Errorf("timeline of an approved import (-want +got):\n%s", diff)
	}
	if !strings.Contains(text, "approval asked for 3 customers") {
		t.Errorf("the timeline does not say what was asked:\n%s", text)
	}

	// Rejected with a reason: nothing deleted.
	path, rejected := started("action,customerId\nremove,70\nremove,71\nremove,72\n")
	for _, body := range []string{`{}`, `{"reason": "   "}`} {
		if code, _, b := a.request("POST", path+"/reject", strings.NewReader(body), as(approver)...); code != http.StatusBadRequest {
			t.Errorf("rejection with %s = %d %s; want 400", body, code, b)
		}
	}
	code, _, b = a.request("POST", path+"/reject", strings.NewReader(`{"reason": "customer 71 has an open complaint"}`), as(approver)...)
	got = decode(t, b)
	if code != http.StatusAccepted || got["status"] != "rejected" || !strings.Contains(fmt.Sprint(got["error"]), "Rejected by risk lead (token 2): customer 71 has an open complaint") {
		t.Errorf("rejection = %d %v", code, got)
	}
	if n := a.count(`SELECT count(*) FROM customers WHERE tenant_id = $1 AND id IN (70, 71, 72)`, tenant); n != 3 {
		t.Errorf("%d of 3 customers left after a rejection; want all", n)
	}
	if code, _, _ := a.request("POST", path+"/approve", strings.NewReader(`{"confirm_customers": 3}`), as(approver)...); code != http.StatusConflict {
		t.Errorf("approval of a rejected import = %d; want 409", code)
	}
	_ = rejected

	// Expired: an approval that comes too late is refused and ends it at
	// once; the scheduler's sweep ends the others. Both say so.
	expired := func(file string) (string, map[string]any) {
		t.Helper()
		path, imp := started(file)
		a.db.SQL().MustExec(`UPDATE imports SET approval_expires_at = now() - interval '1 second' WHERE tenant_id = $1 AND id = $2`, tenant, imp["id"])
		return path, imp
	}
	late, _ := expired("action,customerId\nremove,80\nremove,81\nremove,82\n")
	if code, _, b := a.request("POST", late+"/approve", strings.NewReader(`{"confirm_customers": 3}`), as(approver)...); code != http.StatusConflict ||
		!strings.Contains(string(b), "expired") {
		t.Errorf("approval after expiry = %d %s; want 409 saying it expired", code, b)
	}
	forgotten, _ := expired("action,customerId\nremove,83\nremove,84\nremove,85\n")
	if n, err := a.db.ExpireApprovals(ctx); err != nil || n != 1 {
		t.Fatalf("ExpireApprovals = %d, %v; want 1", n, err)
	}
	for _, path := range []string{late, forgotten} {
		_, _, b := a.request("GET", path, nil)
		if got := decode(t, b); got["status"] != "rejected" || !strings.Contains(fmt.Sprint(got["error"]), "No one approved it before its request expired") {
			t.Errorf("after expiry: %v", got)
		}
	}
	if n := a.count(`SELECT count(*) FROM customers WHERE tenant_id = $1 AND id BETWEEN 80 AND 85`, tenant); n != 6 {
		t.Errorf("%d of 6 customers left of expired requests; want all", n)
	}
}

// A cleanup policy whose batch may pass the threshold makes no batch until
// another person approves its selection and batch size; a change of either
// asks again, a rename does not; its batches then run without asking.
func TestCleanupPolicyApproval(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{}).asAdmin()
	approver := a.approvals(5)
	a.db.SQL().MustExec(`UPDATE api_tokens SET scopes = array_append(scopes, 'imports:approve') WHERE tenant_id = $1 AND name = 'compliance'`, tenant)
	a.db.SQL().MustExec(`UPDATE customers SET last_activity_at = now() WHERE tenant_id = $1`, tenant)
	a.db.SQL().MustExec(`UPDATE customers SET last_activity_at = now() - interval '400 days' WHERE tenant_id = $1 AND id BETWEEN 10 AND 17`, tenant)
	as := func(token string) []string {
		return []string{"Authorization", "Bearer " + token, "Content-Type", "application/json"}
	}

	code, p := a.json("POST", "/v1/cleanup-policies", `{"name": "stale", "kind": "inactive", "params": {"days": 365}, "cron_spec": "0 2 * * *", "max_batch": 8}`)
	if code != http.StatusCreated || p["awaits_approval"] != true {
		t.Fatalf("create a policy above the threshold = %d %v; want it awaiting approval", code, p)
	}
	path := fmt.Sprintf("/v1/cleanup-policies/%v", p["id"])
	if code, got := a.json("POST", path+"/run-now", ""); code != http.StatusConflict || !strings.Contains(fmt.Sprint(got["error"]), "awaits the approval") {
		t.Errorf("run-now of a policy awaiting approval = %d %v; want 409", code, got)
	}
	if code, got := a.json("POST", path+"/approve", `{"confirm_max_batch": 8, "revision": 1}`); code != http.StatusForbidden {
		t.Errorf("approval by the token that asked = %d %v; want 403", code, got)
	}
	if code, _, b := a.request("POST", path+"/approve", strings.NewReader(`{"confirm_max_batch": 80, "revision": 1}`), as(approver)...); code != http.StatusBadRequest {
		t.Errorf("approval with a wrong batch size = %d %s; want 400", code, b)
	}
	// What the approver read changes before the approval: the approval of
	// the old revision is refused, and whoever changed it asked anew.
	if code, got := a.json("PATCH", path, `{"params": {"days": 366}}`); code != http.StatusOK || got["revision"] != float64(2) {
		t.Fatalf("a new selection = %d %v; want revision 2", code, got)
	}
	if code, _, b := a.request("POST", path+"/approve", strings.NewReader(`{"confirm_max_batch": 8, "revision": 1}`), as(approver)...); code != http.StatusConflict ||
		!strings.Contains(string(b), "changed since you read it") {
		t.Errorf("approval of an old revision = %d %s; want 409", code, b)
	}
	code, _, b := a.request("POST", path+"/approve", strings.NewReader(`{"confirm_max_batch": 8, "revision": 2}`), as(approver)...)
	if got := decode(t, b); code != http.StatusOK || got["awaits_approval"] != false || !strings.Contains(fmt.Sprint(got["approval"]), "risk lead") {
		t.Fatalf("approval = %d %v", code, got)
	}
	if code, got := a.json("PATCH", path, `{"name": "stale customers"}`); code != http.StatusOK || got["awaits_approval"] != false {
		t.Errorf("a rename = %d %v; want the approval kept", code, got)
	}
	// Its batch of 8 (above 5) runs without asking again.
	code, imp := a.json("POST", path+"/run-now", "")
	if code != http.StatusAccepted {
		t.Fatalf("run-now of an approved policy = %d %v", code, imp)
	}
	deadline := time.Now().Add(30 * time.Second)
	for a.count(`SELECT count(*) FROM customers WHERE tenant_id = $1 AND id BETWEEN 10 AND 17`, tenant) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the approved policy's batch did not delete its customers: %v", a.waitStatus(imp["id"]))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, got := a.json("PATCH", path, `{"max_batch": 9}`); code != http.StatusOK || got["awaits_approval"] != true {
		t.Errorf("a new batch size = %d %v; want it awaiting approval again", code, got)
	}
}
