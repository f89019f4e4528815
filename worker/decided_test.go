package worker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/worker"
)

// The case that was reported: a policy's run comes due and its task waits
// (no worker is up); an admin then widens its selection and batch size and
// disables it, so it awaits approval. When a worker takes the task, the run
// makes no batch: it was claimed for the old revision, and the policy says
// why. A task with a due time the scheduler never claimed makes nothing
// either (and does not set the policy's last run back), and neither does a
// run-now, nor a scheduled run of a policy disabled after the claim.
func TestQueuedCleanupRunRunsOnlyWhatWasClaimed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := sharedRedis(t)
	in := newInstance(t, rdb, 300)
	in.db.SQL().MustExec(`UPDATE customers SET erasure_requested_at = CASE WHEN id <= 200 THEN now() - interval '10 days' END WHERE tenant_id = $1`, tenant)
	threshold := int64(100)
	if err := in.db.SetApprovalThreshold(ctx, tenant, &threshold); err != nil {
		t.Fatal(err)
	}
	p, err := in.db.CreatePolicy(ctx, sweep.CleanupPolicy{TenantID: tenant, Name: "erasure", Kind: sweep.CleanupErasureRequested,
		Params: sweep.CleanupParams{Days: 30}, CronSpec: "0 * * * *", MaxBatch: 100, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	due := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	in.db.SQL().MustExec(`UPDATE cleanup_policies SET next_run_at = $1`, due)
	if err := worker.NewCleanupTrigger(in.db, rdb, quiet()).Run(ctx); err != nil {
		t.Fatal(err)
	}
	// Claimed with revision 1; then the admin's PATCH: 1 day, 3,000 a
	// batch, disabled, awaiting approval (revision 2).
	changed := p
	changed.Params.Days, changed.MaxBatch, changed.Enabled, changed.AwaitsApproval = 1, 3000, false, true
	changed.Approval = &sweep.Approval{RequestedBy: "admin", RequestedByToken: 1}
	if changed, err = in.db.UpdatePolicy(ctx, changed); err != nil || changed.Revision != 2 || !changed.AwaitsApproval {
		t.Fatalf("PATCH = revision %d awaiting %v (%v); want revision 2 awaiting approval", changed.Revision, changed.AwaitsApproval, err)
	}

	reg := prometheus.NewRegistry()
	in.work(t, reg, quiet())
	eventually(t, 20*time.Second, "the claimed run was not dropped", func() bool {
		got, _ := in.db.GetPolicy(ctx, tenant, p.ID)
		return got.LastDrop != nil
	})
	got, _ := in.db.GetPolicy(ctx, tenant, p.ID)
	if n := in.count(t, `SELECT count(*) FROM imports`); n != 0 || in.present(t, 1, 300) != 300 {
		t.Fatalf("after the run of revision 1: %d imports, %d of 300 customers left; want no batch and nothing deleted", n, in.present(t, 1, 300))
	}
	if got.LastRunAt != nil || !containsAll(got.LastDrop.Reason, "revision 1", "revision 2") || got.Enabled || !got.AwaitsApproval {
		t.Errorf("policy after the dropped run: last run %v, drop %+v, enabled %v, awaiting %v", got.LastRunAt, got.LastDrop, got.Enabled, got.AwaitsApproval)
	}
	if n := counter(t, reg, "sweep_cleanup_runs_dropped_total"); n != 1 {
		t.Errorf("sweep_cleanup_runs_dropped_total = %v, want 1", n)
	}

	// A made-up due time, with the revision that stands now: never claimed.
	made := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	task, _ := jobs.NewCleanupRunTask(tenant, p.ID, p.CreatedAt, made, changed.Revision)
	info, err := asynq.NewClientFromRedisClient(rdb).Enqueue(task)
	if err != nil {
		t.Fatal(err)
	}
	if msg := archived(t, rdb, jobs.QueueLow, info.ID); !containsAll(msg, "claimed", "Nothing was made") {
		t.Errorf("made-up due archived with %q", msg)
	}
	if n := in.count(t, `SELECT count(*) FROM imports`); n != 0 || foreign(t, reg, jobs.TypeCleanupRun, "unclaimed") != 1 {
		t.Errorf("made-up due: %d imports, unclaimed counted %v; want none and 1", n, foreign(t, reg, jobs.TypeCleanupRun, "unclaimed"))
	}
}

// A run claimed while a policy was enabled, which is then disabled without
// changing its selection, makes no batch; enabled again, the next claim
// makes its batch. The last run time only moves forward.
func TestDisabledAfterTheClaimMakesNoBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := sharedRedis(t)
	in := newInstance(t, rdb, 100)
	in.db.SQL().MustExec(`UPDATE customers SET erasure_requested_at = CASE WHEN id <= 20 THEN now() END WHERE tenant_id = $1`, tenant)
	p, err := in.db.CreatePolicy(ctx, sweep.CleanupPolicy{TenantID: tenant, Name: "erasure", Kind: sweep.CleanupErasureRequested,
		CronSpec: "0 * * * *", MaxBatch: 10, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	due := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	in.db.SQL().MustExec(`UPDATE cleanup_policies SET next_run_at = $1`, due)
	if err := worker.NewCleanupTrigger(in.db, rdb, quiet()).Run(ctx); err != nil {
		t.Fatal(err)
	}
	off := p
	off.Enabled = false
	if _, err := in.db.UpdatePolicy(ctx, off); err != nil {
		t.Fatal(err)
	}
	in.work(t, prometheus.NewRegistry(), quiet())
	eventually(t, 20*time.Second, "the run of the disabled policy was not dropped", func() bool {
		got, _ := in.db.GetPolicy(ctx, tenant, p.ID)
		return got.LastDrop != nil
	})
	if got, _ := in.db.GetPolicy(ctx, tenant, p.ID); !containsAll(got.LastDrop.Reason, "disabled") || in.present(t, 1, 20) != 20 {
		t.Fatalf("disabled after the claim: drop %q, %d of 20 flagged left; want dropped as disabled, none deleted", got.LastDrop.Reason, in.present(t, 1, 20))
	}

	on := off
	on.Enabled = true
	if _, err := in.db.UpdatePolicy(ctx, on); err != nil {
		t.Fatal(err)
	}
	later := due.Add(time.Second)
	in.db.SQL().MustExec(`UPDATE cleanup_policies SET next_run_at = $1`, later)
	if err := worker.NewCleanupTrigger(in.db, rdb, quiet()).Run(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the batch of the enabled policy did not complete", func() bool {
		return in.count(t, `SELECT count(*) FROM imports WHERE status = 'completed'`) == 1
	})
	if in.present(t, 1, 10) != 0 || in.present(t, 11, 100) != 90 {
		t.Errorf("batch left %d of the first 10 flagged and %d of the other 90", in.present(t, 1, 10), in.present(t, 11, 100))
	}
	if got, _ := in.db.GetPolicy(ctx, tenant, p.ID); got.LastRunAt == nil || !got.LastRunAt.Equal(later) {
		t.Errorf("last run %v, want %v", got.LastRunAt, later)
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
