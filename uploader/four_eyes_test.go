package uploader_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/client"
	"github.com/sweephq/sweep/uploader"
	"github.com/sweephq/sweep/wire"
)

// Two tokens of one name are one person to a reader: a second token named
// like the one that asked (its holder revoked the first and made another)
// may neither approve nor reject the request, and is told that another
// person must; the approval another person gives records both token ids,
// which the import, the timeline and the rejection's sentence show.
func TestApprovalNamesBothTokensAndRefusesTheRequestersName(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	ctx := context.Background()
	approver := a.approvals(2)
	var opsID, leadID int64
	if err := a.db.SQL().Get(&opsID, `SELECT id FROM api_tokens WHERE tenant_id = $1 AND name = 'ops'`, tenant); err != nil {
		t.Fatal(err)
	}
	if err := a.db.SQL().Get(&leadID, `SELECT id FROM api_tokens WHERE tenant_id = $1 AND name = 'risk lead'`, tenant); err != nil {
		t.Fatal(err)
	}
	js := func(token string) []string {
		return []string{"Authorization", "Bearer " + token, "Content-Type", "application/json"}
	}
	asked := func(file string) string {
		t.Helper()
		_, imp := a.upload(file)
		a.waitStatus(imp["id"])
		path := fmt.Sprintf("/v1/imports/%v", imp["id"])
		if code, _, b := a.request("POST", path+"/start", nil); code != http.StatusAccepted || decode(t, b)["status"] != "awaiting_approval" {
			t.Fatalf("start above the threshold = %d %s", code, b)
		}
		return path
	}
	approvePath := asked("action,customerId\nremove,60\nremove,61\nremove,62\n")
	rejectPath := asked("action,customerId\nremove,70\nremove,71\nremove,72\n")

	// A token named " OPS " may not be made while "ops" is active…
	if _, _, err := a.db.CreateToken(ctx, tenant, " OPS ", []sweep.Scope{sweep.ScopeImportsApprove}); sweep.ErrorCode(err) != sweep.ECONFLICT ||
		!strings.Contains(sweep.ErrorMessage(err), fmt.Sprintf(`active token named "OPS" (token %d)`, opsID)) {
		t.Errorf("a second token named like ops: %v; want a conflict naming token %d", err, opsID)
	}
	// …but its holder may revoke it and make another: still the same person.
	if err := a.db.RevokeToken(ctx, tenant, opsID); err != nil {
		t.Fatal(err)
	}
	ops2, ops2ID, err := a.db.CreateToken(ctx, tenant, " OPS ", []sweep.Scope{sweep.ScopeImportsRead, sweep.ScopeImportsApprove})
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct{ path, body string }{
		{approvePath + "/approve", `{"confirm_customers": 3}`},
		{rejectPath + "/reject", `{"reason": "not needed"}`},
	} {
		code, _, b := a.request("POST", step.path, strings.NewReader(step.body), js(ops2)...)
		msg := fmt.Sprint(decode(t, b)["error"])
		if code != http.StatusForbidden || !strings.Contains(msg, "you are one person") || !strings.Contains(msg, "Another person") ||
			!strings.Contains(msg, fmt.Sprintf("token %d", ops2ID)) {
			t.Errorf("POST %s by a second token named ops = %d %s; want 403 saying another person must", step.path, code, msg)
		}
	}
	if n := a.count(`SELECT count(*) FROM customers WHERE tenant_id = $1 AND id IN (60, 61, 62, 70, 71, 72)`, tenant); n != 6 {
		t.Fatalf("%d of 6 customers left after refused decisions", n)
	}

	// Another person approves: both token ids, in the import and the timeline.
	code, _, b := a.request("POST", approvePath+"/approve", strings.NewReader(`{"confirm_customers": 3}`), js(approver)...)
	if code != http.StatusAccepted {
		t.Fatalf("approval by risk lead = %d %s", code, b)
	}
	var imp wire.Import
	if err := json.Unmarshal(b, &imp); err != nil {
		t.Fatal(err)
	}
	if ap := imp.Approval; ap == nil || ap.RequestedBy != "ops" || ap.RequestedByToken != opsID || ap.ApprovedBy != "risk lead" || ap.ApprovedByToken != leadID {
		t.Errorf("approval = %+v; want asked by ops (token %d), approved by risk lead (token %d)", ap, opsID, leadID)
	}
	got, err := client.New(a.url, approver).Import(ctx, imp.ID)
	if err != nil || got.Approval == nil || got.Approval.ApprovedByToken != leadID || got.Approval.RequestedByToken != opsID {
		t.Errorf("GET the approved import: %+v, %v", got.Approval, err)
	}
	a.token = approver // ops' first token is revoked
	_, text := a.events(imp.ID)
	var askedLine string
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "approval asked for 3 customers") {
			askedLine = line
		}
	}
	if !strings.HasSuffix(askedLine, fmt.Sprintf("(token %d)", opsID)) ||
		!strings.Contains(text, fmt.Sprintf("approved: 3 customers (token %d; asked by token %d)", leadID, opsID)) {
		t.Errorf("the timeline does not name both tokens:\n%s", text)
	}

	// Another person rejects: the sentence names their token.
	code, _, b = a.request("POST", rejectPath+"/reject", strings.NewReader(`{"reason": "customer 71 complained"}`), js(approver)...)
	if msg := fmt.Sprint(decode(t, b)["error"]); code != http.StatusAccepted ||
		!strings.Contains(msg, fmt.Sprintf("Rejected by risk lead (token %d): customer 71 complained", leadID)) {
		t.Errorf("rejection by risk lead = %d %s", code, msg)
	}
}

// The approver reads, and confirms, what the run will delete now: the
// preview is counted again when the approval is asked and when it is read
// older than sweep.ImpactFreshFor, says when it was counted, and an approval
// that types a number that no longer holds is refused with the current one.
func TestApproverConfirmsTheFreshPreview(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	approver := a.approvals(2)
	js := []string{"Authorization", "Bearer " + approver, "Content-Type", "application/json"}
	_, imp := a.upload("action,customerId\nremove,20\nremove,21\nremove,22\nremove,23\nremove,24\n")
	a.waitStatus(imp["id"])
	path := fmt.Sprintf("/v1/imports/%v", imp["id"])
	impact := func() wire.Impact {
		t.Helper()
		code, _, b := a.request("GET", path+"/impact", nil, "Authorization", "Bearer "+approver)
		if code != http.StatusOK {
			t.Fatalf("GET impact = %d %s", code, b)
		}
		var m wire.Impact
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	if m := impact(); m.Customers != 5 {
		t.Fatalf("impact after validation: %d customers; want 5", m.Customers)
	}
	// After validation, customer 20 is deleted and 21 linked to a loan.
	a.db.SQL().MustExec(`DELETE FROM customers WHERE tenant_id = $1 AND id = 20`, tenant)
	a.db.SQL().MustExec(`INSERT INTO loans (tenant_id, id, principal_cents) VALUES ($1, 9000, 1000)`, tenant)
	a.db.SQL().MustExec(`INSERT INTO loan_customers (tenant_id, loan_id, customer_id) VALUES ($1, 9000, 21)`, tenant)
	asked := time.Now().Add(-time.Second)
	if code, _, b := a.request("POST", path+"/start", nil); code != http.StatusAccepted || decode(t, b)["status"] != "awaiting_approval" {
		t.Fatalf("start = %d %s", code, b)
	}
	// Asking counted it again.
	m := impact()
	if m.Customers != 3 || m.SkippedRows != 2 || m.ComputedAt.Before(asked) {
		t.Errorf("impact once the approval is asked: %d customers, %d skipped, counted at %v; want 3 and 2, counted since %v",
			m.Customers, m.SkippedRows, m.ComputedAt, asked)
	}
	// The file's 5 is refused, naming the 3 the run deletes.
	code, _, b := a.request("POST", path+"/approve", strings.NewReader(`{"confirm_customers": 5}`), js...)
	if msg := fmt.Sprint(decode(t, b)["error"]); code != http.StatusBadRequest || !strings.Contains(msg, "deletes now: 3 (you typed 5)") {
		t.Errorf("approval typing the file's 5 = %d %s; want 400 giving 3", code, msg)
	}

	// Customer 22 is linked too; the preview read then is half a minute
	// old, so the next read counts again.
	a.db.SQL().MustExec(`INSERT INTO loan_customers (tenant_id, loan_id, customer_id) VALUES ($1, 9000, 22)`, tenant)
	if m := impact(); m.Customers != 3 {
		t.Errorf("a preview read within %v of its count: %d customers; want the kept 3", sweep.ImpactFreshFor, m.Customers)
	}
	age := func() {
		a.db.SQL().MustExec(`UPDATE import_impacts SET computed_at = computed_at - $3 * interval '1 second' WHERE tenant_id = $1 AND import_id = $2`,
			tenant, imp["id"], sweep.ImpactFreshFor.Seconds()+1)
	}
	age()
	read := time.Now().Add(-time.Second)
	if m := impact(); m.Customers != 2 || m.ComputedAt.Before(read) {
		t.Errorf("an old preview read: %d customers counted at %v; want 2, counted since %v", m.Customers, m.ComputedAt, read)
	}
	// Approving counts again when it is old, too: 23 is deleted meanwhile,
	// and the 2 the approver read no longer holds.
	a.db.SQL().MustExec(`DELETE FROM customers WHERE tenant_id = $1 AND id = 23`, tenant)
	age()
	code, _, b = a.request("POST", path+"/approve", strings.NewReader(`{"confirm_customers": 2}`), js...)
	if msg := fmt.Sprint(decode(t, b)["error"]); code != http.StatusBadRequest || !strings.Contains(msg, "deletes now: 1 (you typed 2)") {
		t.Errorf("approval typing a number that no longer holds = %d %s; want 400 giving 1", code, msg)
	}
	code, _, b = a.request("POST", path+"/approve", strings.NewReader(`{"confirm_customers": 1}`), js...)
	if code != http.StatusAccepted {
		t.Fatalf("approval typing the fresh 1 = %d %s", code, b)
	}
	deadline := time.Now().Add(30 * time.Second)
	for a.waitStatus(imp["id"])["settled"] != true {
		if time.Now().After(deadline) {
			t.Fatal("the approved import did not finish")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := a.waitStatus(imp["id"]); got["deleted_rows"] != float64(1) {
		t.Errorf("the run deleted %v; the approver confirmed 1", got["deleted_rows"])
	}
	if _, text := a.events(imp["id"]); !strings.Contains(text, "approved: 1 customers") || !strings.Contains(text, "approval asked for 3 customers") {
		t.Errorf("the timeline does not say what was asked and approved:\n%s", text)
	}
}
