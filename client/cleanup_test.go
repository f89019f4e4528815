package client_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/client"
	"github.com/sweephq/sweep/uploader"
	"github.com/sweephq/sweep/wire"
)

// The Go client covers the cleanup policies' routes: an administrator
// creates a policy above the tenant's threshold, which awaits approval;
// another person approves it as read; it is previewed, changed, run now
// (its batch an import) and deleted; and the client reaches the other
// routes the Go client used to lack.
func TestClientCoversCleanupPolicies(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, db := startAPI(t, uploader.Limits{})
	threshold := int64(50)
	if err := db.SetApprovalThreshold(ctx, tenant, &threshold); err != nil {
		t.Fatal(err)
	}
	tok := func(name string, scopes ...sweep.Scope) *client.Client {
		s, _, err := db.CreateToken(ctx, tenant, name, scopes)
		if err != nil {
			t.Fatal(err)
		}
		return client.New(c.BaseURL(), s)
	}
	admin := tok("ops", sweep.ScopeAdmin, sweep.ScopeImportsRead)
	approver := tok("risk lead", sweep.ScopeImportsApprove)
	db.SQL().MustExec(`UPDATE public.customers SET last_activity_at = CASE WHEN id <= 5 THEN now() - interval '3 years' ELSE now() END WHERE tenant_id = $1`, tenant)

	name, kind, batch, dry, cron := "stale", sweep.CleanupInactive, 100, true, "0 2 * * *"
	p, err := admin.CreateCleanupPolicy(ctx, wire.PolicyChange{Name: &name, Kind: &kind, Params: wire.ParamsOf(sweep.CleanupParams{Days: 730}),
		CronSpec: &cron, MaxBatch: &batch, DryRun: &dry})
	if err != nil {
		t.Fatal(err)
	}
	if !p.AwaitsApproval || p.Name != "stale" || p.Params.Days != 730 {
		t.Fatalf("created %+v; want awaiting approval (100 is above the threshold of 50)", p)
	}
	if _, err := approver.ApproveCleanupPolicy(ctx, p.ID, 99, p.Revision); sweep.ErrorCode(err) == "" {
		t.Errorf("approval with the wrong batch size went through")
	}
	if p, err = approver.ApproveCleanupPolicy(ctx, p.ID, 100, p.Revision); err != nil || p.AwaitsApproval {
		t.Fatalf("approve = %+v, %v", p, err)
	}
	list, err := admin.CleanupPolicies(ctx)
	if err != nil || len(list.Policies) != 1 || len(list.Kinds) == 0 {
		t.Fatalf("list = %+v, %v", list, err)
	}
	pv, err := admin.PreviewCleanupPolicy(ctx, p.ID, 3)
	if err != nil || pv.Count != 5 || len(pv.CustomerIDs) != 3 || !pv.Truncated {
		t.Fatalf("preview = %+v, %v; want 5 found, 3 listed", pv, err)
	}
	newName := "stale customers"
	if p, err = admin.ChangeCleanupPolicy(ctx, p.ID, wire.PolicyChange{Name: &newName}); err != nil || p.Name != newName || p.AwaitsApproval {
		t.Fatalf("rename = %+v, %v; want renamed, still approved", p, err)
	}
	imp, err := admin.RunCleanupPolicyNow(ctx, p.ID)
	if err != nil || imp.CleanupPolicy != p.ID {
		t.Fatalf("run now = %+v, %v", imp, err)
	}
	if got, err := admin.CleanupPolicy(ctx, p.ID); err != nil || got.ID != p.ID {
		t.Fatalf("get = %+v, %v", got, err)
	}
	// And the routes around: the queues, the format's rules, the sample file,
	// a customer deleted by key.
	if q, err := admin.Queues(ctx); err != nil || len(q.Queues) == 0 {
		t.Errorf("queues = %+v, %v", q, err)
	}
	if in, err := c.Instructions(ctx); err != nil || in.Columns["customerId"] == "" {
		t.Errorf("instructions = %+v, %v", in, err)
	}
	var sample strings.Builder
	if err := c.SampleFile(ctx, &sample); err != nil || !strings.HasPrefix(sample.String(), "action,customerId\n") {
		t.Errorf("sample file = %q, %v", sample.String(), err)
	}
	deleter := tok("crm", sweep.ScopeCustomersDelete)
	if err := deleter.DeleteCustomerKey(ctx, "9"); err != nil {
		t.Errorf("delete customer 9 by key: %v", err)
	}
	if err := deleter.DeleteCustomerKey(ctx, "9"); sweep.ErrorCode(err) != sweep.ENOTFOUND {
		t.Errorf("delete customer 9 again: %v, want not found", err)
	}
	if err := admin.DeleteCleanupPolicy(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CleanupPolicy(ctx, p.ID); sweep.ErrorCode(err) != sweep.ENOTFOUND {
		t.Errorf("get after delete: %v, want not found", err)
	}
}
