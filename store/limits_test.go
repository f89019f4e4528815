package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/devdata"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/store"
)

// A tenant's approval limits, its rolling count, its policies' runs and
// their drops are its own: setting, reading, claiming or dropping for one
// tenant never touches another's, nor another run or policy of its own.
func TestApprovalLimitsAndRunsStayInTheirTenant(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	const a, b = 5200243, 1003
	for _, tn := range []int64{a, b} {
		if _, err := devdata.Seed(ctx, db, devdata.SeedOptions{Tenant: tn, Customers: 20, Seed: 3}); err != nil {
			t.Fatal(err)
		}
	}
	// Limits: B's own, A's untouched.
	ten, five := int64(10), int64(5)
	if err := db.SetApprovalThreshold(ctx, b, &ten); err != nil {
		t.Fatal(err)
	}
	if err := db.SetApprovalDailyLimit(ctx, b, &five); err != nil {
		t.Fatal(err)
	}
	if got, err := db.ApprovalLimits(ctx, a, 100); err != nil || got != (sweep.ApprovalLimits{Threshold: 100, Daily: 100}) {
		t.Errorf("A's limits = %+v (%v); want sweep's default 100 and a daily limit of it", got, err)
	}
	if got, _ := db.ApprovalLimits(ctx, b, 100); got != (sweep.ApprovalLimits{Threshold: 10, Daily: 5}) {
		t.Errorf("B's limits = %+v; want its own 10 and 5", got)
	}
	// B's unapproved deletions are not A's.
	db.SQL().MustExec(`INSERT INTO imports (tenant_id, source, key_space, policy, file_name, status, valid_rows, deleted_rows, unapproved_at, finished_at)
		VALUES ($1, 'upload', 'http', 'line', 'b.csv', 'completed', 7, 7, now(), now())`, b)
	if n, err := db.UnapprovedRecently(ctx, a); err != nil || n != 0 {
		t.Errorf("A's unapproved deletions = %d (%v); want 0 (B's 7 are B's)", n, err)
	}
	if n, _ := db.UnapprovedRecently(ctx, b); n != 7 {
		t.Errorf("B's unapproved deletions = %d; want 7", n)
	}
	// Only the last 24 hours count: of A's deleted records (kept when an
	// import record is deleted) and ended imports, those of a day ago and
	// more do not.
	db.SQL().MustExec(`INSERT INTO unapproved_deletions (tenant_id, import_id, finished_at, deleted_rows)
		VALUES ($1, 998, now() - interval '1 hour', 3), ($1, 999, now() - interval '25 hours', 50)`, a)
	db.SQL().MustExec(`INSERT INTO imports (tenant_id, source, key_space, policy, file_name, status, valid_rows, deleted_rows, unapproved_at, finished_at)
		VALUES ($1, 'upload', 'http', 'line', 'old.csv', 'completed', 40, 40, now() - interval '26 hours', now() - interval '25 hours')`, a)
	if n, _ := db.UnapprovedRecently(ctx, a); n != 3 {
		t.Errorf("A's unapproved deletions = %d; want 3 (the ones of the last 24 hours)", n)
	}

	// Runs: A cannot claim B's policy; two runs and two policies of A are
	// dropped one at a time.
	policy := func(tenant int64, name string) sweep.CleanupPolicy {
		p, err := db.CreatePolicy(ctx, sweep.CleanupPolicy{TenantID: tenant, Name: name, Kind: sweep.CleanupErasureRequested,
			CronSpec: "0 2 * * *", MaxBatch: 10, Enabled: true})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	pb := policy(b, "b")
	due := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
	if _, err := db.ClaimRunNow(ctx, a, pb.ID, due, sweep.Requester{}); sweep.ErrorCode(err) != sweep.ENOTFOUND {
		t.Errorf("A claiming B's policy %d: %v; want not found", pb.ID, err)
	}
	p1, p2 := policy(a, "one"), policy(a, "two")
	c1, err := db.ClaimRunNow(ctx, a, p1.ID, due, sweep.Requester{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ClaimRunNow(ctx, a, p2.ID, due, sweep.Requester{}); err != nil {
		t.Fatal(err)
	}
	changed := p1
	changed.MaxBatch = 20
	if _, err := db.UpdatePolicy(ctx, changed); err != nil {
		t.Fatal(err)
	}
	// A later claim takes the revision that stands then, not an earlier
	// claim's.
	c2, err := db.ClaimRunNow(ctx, a, p1.ID, due.Add(time.Hour), sweep.Requester{})
	if err != nil || c2.Revision != 2 {
		t.Fatalf("claim after the change = revision %d (%v); want 2", c2.Revision, err)
	}
	if _, _, err := db.CreateBatch(ctx, c1); err == nil {
		t.Fatal("a run of a changed policy made a batch")
	}
	var outcomes []string
	db.SQL().Select(&outcomes, `SELECT tenant_id || ':' || policy_id || ':' || outcome FROM cleanup_runs ORDER BY tenant_id DESC, policy_id, due`)
	want := []string{fmt.Sprintf("%d:%d:dropped", a, p1.ID), fmt.Sprintf("%d:%d:claimed", a, p1.ID), fmt.Sprintf("%d:%d:claimed", a, p2.ID)}
	if len(outcomes) != len(want) || outcomes[0] != want[0] || outcomes[1] != want[1] || outcomes[2] != want[2] {
		t.Errorf("runs after one was dropped = %v; want %v", outcomes, want)
	}
	if got, _ := db.GetPolicy(ctx, a, p2.ID); got.LastDrop != nil {
		t.Errorf("policy two shows a drop of policy one's run: %+v", got.LastDrop)
	}
	if got, _ := db.GetPolicy(ctx, a, p1.ID); got.LastDrop == nil {
		t.Errorf("policy one does not show its dropped run")
	}
}

// A claimed run's task is enqueued only once its claim can be read, so a
// worker that takes it at once makes its batch (it had been refused as
// unclaimed and archived); a run whose enqueue failed stays undecided for
// the trigger's next look, and a decided one does not.
func TestClaimIsReadableBeforeItsTask(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	const tn = 5200243
	if _, err := devdata.Seed(ctx, db, devdata.SeedOptions{Tenant: tn, Customers: 20, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	db.SQL().MustExec(`UPDATE customers SET erasure_requested_at = now() WHERE tenant_id = $1 AND id <= 5`, tn)
	for _, name := range []string{"one", "two"} {
		if _, err := db.CreatePolicy(ctx, sweep.CleanupPolicy{TenantID: tn, Name: name, Kind: sweep.CleanupErasureRequested,
			CronSpec: "0 2 * * *", MaxBatch: 10, Enabled: true}); err != nil {
			t.Fatal(err)
		}
	}
	db.SQL().MustExec(`UPDATE cleanup_policies SET next_run_at = now() - interval '1 minute'`)
	var made []int64
	n, err := db.ClaimDuePolicies(ctx, time.Now(), func(d store.DuePolicy) error {
		if len(made) == 1 {
			return fmt.Errorf("redis is down")
		}
		imp, _, err := db.CreateBatch(ctx, store.CleanupClaim{TenantID: d.TenantID, PolicyID: d.PolicyID, Due: d.Due, Revision: d.Revision})
		if err != nil {
			return err
		}
		made = append(made, imp.ID)
		return nil
	})
	if n != 2 || len(made) != 1 || err == nil {
		t.Fatalf("claimed %d, made %d batches (%v); want 2 claimed, the first batch made as its task would, the second's enqueue failing", n, len(made), err)
	}
	undecided, err := db.UndecidedRuns(ctx, 0)
	if err != nil || len(undecided) != 1 {
		t.Fatalf("undecided runs = %+v (%v); want the one whose enqueue failed", undecided, err)
	}
}
