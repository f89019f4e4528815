package worker_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/devdata"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/lifecycle"
	"github.com/sweephq/sweep/store"
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
	eventually(t, time.Minute, "the claimed run was not dropped", func() bool {
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
	if off, err = in.db.UpdatePolicy(ctx, off); err != nil {
		t.Fatal(err)
	}
	in.work(t, prometheus.NewRegistry(), quiet())
	eventually(t, time.Minute, "the run of the disabled policy was not dropped", func() bool {
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
	eventually(t, time.Minute, "the batch of the enabled policy did not complete", func() bool {
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

// A customers:delete task says whose customers it deletes in its payload and
// in its id. Read leniently, {"tenant_id": A, "TENANT_ID": B} deleted B's
// customers under a task id naming A; now a member spelled twice (in any
// case) is refused, and so is a payload whose tenant its id does not name.
// Neither deletes anything.
func TestDeleteTaskPayloadsAreReadStrictly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := sharedRedis(t)
	in := newInstance(t, rdb, 20)
	const other = 1003
	if _, err := devdata.Seed(ctx, in.db, storeSeed(other, 20)); err != nil {
		t.Fatal(err)
	}
	in.db.SQL().MustExec(`DELETE FROM loan_customers`)
	reg := prometheus.NewRegistry()
	in.work(t, reg, quiet())
	client := asynq.NewClientFromRedisClient(rdb)
	cases := []struct{ name, payload, id, refusal string }{
		{"tenant twice", `{"version":1,"tenant_id":5200243,"TENANT_ID":1003,"customer_ids":[1,2],"idempotency_key":"k1"}`,
			jobs.DeleteTaskID(tenant, "k1", "x"), "unknown member"},
		{"key twice", `{"version":1,"tenant_id":1003,"customer_ids":[1,2],"idempotency_key":"k2","idempotency_key":"k3"}`,
			jobs.DeleteTaskID(other, "k3", "x"), "given twice"},
		{"another tenant than its id", `{"version":1,"tenant_id":1003,"customer_ids":[1,2],"idempotency_key":"k4"}`,
			jobs.DeleteTaskID(tenant, "k4", "x"), "does not name tenant 1003"},
		{"an id of its own", `{"version":1,"tenant_id":1003,"customer_ids":[1,2],"idempotency_key":"k5"}`,
			"by-hand", "does not name tenant 1003"},
	}
	for _, c := range cases {
		if _, err := client.Enqueue(asynq.NewTask(jobs.TypeCustomersDelete, []byte(c.payload)), asynq.TaskID(c.id),
			asynq.Queue(jobs.QueueCritical), asynq.Retention(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cases {
		if msg := archived(t, rdb, jobs.QueueCritical, c.id); !strings.Contains(msg, c.refusal) {
			t.Errorf("%s: archived with %q; want it refused (%s)", c.name, msg, c.refusal)
		}
	}
	if n := in.count(t, `SELECT count(*) FROM imports`); n != 0 {
		t.Errorf("%d imports made by refused tasks", n)
	}
	for _, tn := range []int64{tenant, other} {
		if n := in.count(t, `SELECT count(*) FROM customers WHERE tenant_id = $1`, tn); n != 20 {
			t.Errorf("tenant %d has %d of its 20 customers", tn, n)
		}
	}
}

// What one person may delete without a second is held where it runs: a
// tenant's rolling limit (by default its threshold a day) makes the file
// that would pass it wait, however small each file is; a limit of 0 lifts
// it. A cleanup batch nobody approved meets the threshold as it stands when
// the batch runs (lowered after the policy was made, it waits); one its
// policy's approval covers runs.
func TestApprovalLimitsHoldWhenARunStarts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := sharedRedis(t)
	in := newInstance(t, rdb, 200)
	in.db.SQL().MustExec(`DELETE FROM loan_customers`)
	threshold := int64(30)
	if err := in.db.SetApprovalThreshold(ctx, tenant, &threshold); err != nil {
		t.Fatal(err)
	}
	life := lifecycle.New(in.db, rdb, quiet())
	ops := sweep.StartOptions{By: sweep.Requester{Name: "ops", TokenID: 1}}
	start := func(from, to int) sweep.Import {
		t.Helper()
		imp, err := life.StartImport(ctx, tenant, in.validated(t, from, to).ID, ops)
		if err != nil {
			t.Fatal(err)
		}
		return imp
	}
	if a := start(1, 20); a.Status != sweep.StatusQueued {
		t.Fatalf("20 customers under a threshold of 30 = %s, want queued", a.Status)
	}
	if b := start(21, 40); b.Status != sweep.StatusAwaitingApproval || b.Approval == nil ||
		!containsAll(b.Approval.Reason, "20 customers were deleted or queued without approval in the last 24 hours", "40", "limit of 30") {
		t.Errorf("20 more within 24 hours (40 > 30 a day) = %s %+v, want awaiting_approval saying why, with the total", b.Status, b.Approval)
	}
	none := int64(0)
	if err := in.db.SetApprovalDailyLimit(ctx, tenant, &none); err != nil {
		t.Fatal(err)
	}
	if c := start(41, 60); c.Status != sweep.StatusQueued {
		t.Errorf("with no daily limit, 20 more = %s, want queued", c.Status)
	}

	// A policy of 50 a batch made under a threshold of 100 needs no
	// approval; the threshold is then lowered to 10.
	in.db.SQL().MustExec(`UPDATE customers SET erasure_requested_at = CASE WHEN id BETWEEN 101 AND 136 THEN now() END WHERE tenant_id = $1`, tenant)
	threshold = 100
	if err := in.db.SetApprovalThreshold(ctx, tenant, &threshold); err != nil {
		t.Fatal(err)
	}
	p, err := in.db.CreatePolicy(ctx, sweep.CleanupPolicy{TenantID: tenant, Name: "erasure", Kind: sweep.CleanupErasureRequested,
		CronSpec: "0 2 * * *", MaxBatch: 50, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	threshold = 10
	if err := in.db.SetApprovalThreshold(ctx, tenant, &threshold); err != nil {
		t.Fatal(err)
	}
	in.work(t, prometheus.NewRegistry(), quiet())
	batch, err := life.RunPolicyNow(ctx, p, sweep.Requester{Name: "ops", TokenID: 1})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "the batch was not started or made to wait", func() bool {
		switch in.get(t, batch.ID).Status {
		case sweep.StatusUploaded, sweep.StatusValidating, sweep.StatusValidated:
			return false
		}
		return true
	})
	if got := in.get(t, batch.ID); got.Status != sweep.StatusAwaitingApproval || in.present(t, 101, 136) != 36 {
		t.Fatalf("batch of 36 under a threshold lowered to 10 = %s with %d of 36 left; want awaiting_approval, nothing deleted", got.Status, in.present(t, 101, 136))
	}
	if _, err := life.CancelImport(ctx, tenant, batch.ID, "ops"); err != nil {
		t.Fatal(err)
	}

	// Asked again and approved by another person, its batches run as approved.
	asked := in.mustGetPolicy(t, p.ID)
	asked.MaxBatch, asked.AwaitsApproval = 40, true
	asked.Approval = &sweep.Approval{RequestedBy: "ops", RequestedByToken: 1}
	if asked, err = in.db.UpdatePolicy(ctx, asked); err != nil {
		t.Fatal(err)
	}
	if _, err := in.db.ApprovePolicy(ctx, tenant, p.ID, sweep.ApprovalStep{By: "risk lead", ByToken: 2, Confirm: 40, Revision: asked.Revision}); err != nil {
		t.Fatal(err)
	}
	if a := in.mustGetPolicy(t, p.ID).Approval; a == nil || a.ApprovedBy != "risk lead" || a.ApprovedByToken != 2 || a.RequestedByToken != 1 {
		t.Errorf("policy approval = %+v; want asked by token 1, approved by risk lead, token 2", a)
	}
	in.db.SQL().MustExec(`UPDATE cleanup_policies SET next_run_at = now() - interval '1 minute'`)
	if err := worker.NewCleanupTrigger(in.db, rdb, quiet()).Run(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "the approved batch did not complete", func() bool {
		return in.count(t, `SELECT count(*) FROM imports WHERE cleanup_policy_id = $1 AND status = 'completed'`, p.ID) == 1
	})
	if n := in.present(t, 101, 136); n != 0 {
		t.Errorf("approved batch left %d of 36", n)
	}
}

func (in *instance) mustGetPolicy(t *testing.T, id int64) sweep.CleanupPolicy {
	t.Helper()
	p, err := in.db.GetPolicy(context.Background(), tenant, id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A batch made for a claimed run starts by itself only while that run
// stands: its policy changed between the batch and the batch's start (a
// worker that validated it late), the batch ends cancelled, saying why,
// before it deletes anyone.
func TestBatchOfAChangedPolicyDoesNotStart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := sharedRedis(t)
	in := newInstance(t, rdb, 50)
	in.db.SQL().MustExec(`UPDATE customers SET erasure_requested_at = CASE WHEN id <= 20 THEN now() END WHERE tenant_id = $1`, tenant)
	p, err := in.db.CreatePolicy(ctx, sweep.CleanupPolicy{TenantID: tenant, Name: "erasure", Kind: sweep.CleanupErasureRequested,
		CronSpec: "0 * * * *", MaxBatch: 10, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	due := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	in.db.SQL().MustExec(`UPDATE cleanup_policies SET next_run_at = $1`, due)
	var claimed store.DuePolicy
	if _, err := in.db.ClaimDuePolicies(ctx, time.Now(), func(d store.DuePolicy) error { claimed = d; return nil }); err != nil {
		t.Fatal(err)
	}
	batch, _, err := in.db.CreateBatch(ctx, store.CleanupClaim{TenantID: tenant, PolicyID: p.ID, Due: claimed.Due, Revision: claimed.Revision})
	if err != nil || batch.Status != sweep.StatusUploaded || !batch.AutoStart {
		t.Fatalf("batch = %s auto start %v (%v); want an uploaded batch that starts by itself", batch.Status, batch.AutoStart, err)
	}
	wider := in.mustGetPolicy(t, p.ID)
	wider.MaxBatch = 20
	if _, err := in.db.UpdatePolicy(ctx, wider); err != nil {
		t.Fatal(err)
	}
	task, _ := jobs.NewImportValidateTask(batch)
	w := worker.NewServer(rdb, in.db, worker.Config{Concurrency: 1, Logger: quiet()})
	if err := w.Handler().ProcessTask(ctx, task); err != nil {
		t.Fatal(err)
	}
	got := in.get(t, batch.ID)
	if got.Status != sweep.StatusCancelled || !containsAll(got.Error, "revision", "nothing was deleted") || in.present(t, 1, 20) != 20 {
		t.Errorf("batch of a policy changed before it started = %s %q, %d of 20 flagged left; want cancelled saying why, none deleted", got.Status, got.Error, in.present(t, 1, 20))
	}
}

// dueNow claims a new run of every policy of the instance and enqueues it,
// as the scheduler does when one comes due; each call a due time of its own.
func (in *instance) dueNow(t *testing.T, rdb redis.UniversalClient, ago time.Duration) {
	t.Helper()
	in.db.SQL().MustExec(`UPDATE cleanup_policies SET next_run_at = now() - make_interval(secs => $1)`, ago.Seconds())
	if err := worker.NewCleanupTrigger(in.db, rdb, quiet()).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// batches returns the statuses of the policy's batches, oldest first, once
// none is still on its way to a decision (uploaded, validating, validated,
// queued or running).
func (in *instance) batches(t *testing.T, policy int64, want int) []sweep.Status {
	t.Helper()
	var got []sweep.Status
	eventually(t, time.Minute, fmt.Sprintf("%d batches of policy %d did not settle", want, policy), func() bool {
		got = nil
		if err := in.db.SQL().Select(&got, `SELECT status FROM imports WHERE cleanup_policy_id = $1 ORDER BY id`, policy); err != nil {
			t.Fatal(err)
		}
		if len(got) != want {
			return false
		}
		for _, s := range got {
			if !slices.Contains([]sweep.Status{sweep.StatusAwaitingApproval, sweep.StatusCompleted, sweep.StatusCancelled}, s) {
				return false
			}
		}
		return true
	})
	return got
}

// A policy's approval covers the revision approved, no other: a selection
// changed to a batch under the threshold is not approved by it, so its
// batches count towards the rolling limit, and a third batch past it waits.
// Deleting the records of the batches that ran does not give the limit
// back. The batch's requester (who changed the selection, or pressed
// run-now) may not approve it; and a batch whose policy changed since is
// not approved but cancelled.
func TestApprovalOfAPolicyCoversItsRevisionOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := sharedRedis(t)
	in := newInstance(t, rdb, 400)
	in.db.SQL().MustExec(`DELETE FROM loan_customers`)
	in.db.SQL().MustExec(`UPDATE customers SET erasure_requested_at = CASE WHEN id <= 300 THEN now() END WHERE tenant_id = $1`, tenant)
	threshold := int64(100) // and so a daily limit of 100
	if err := in.db.SetApprovalThreshold(ctx, tenant, &threshold); err != nil {
		t.Fatal(err)
	}
	life := lifecycle.New(in.db, rdb, quiet())
	p, err := in.db.CreatePolicy(ctx, sweep.CleanupPolicy{TenantID: tenant, Name: "erasure", Kind: sweep.CleanupErasureRequested,
		CronSpec: "0 2 * * *", MaxBatch: 300, Enabled: true, AwaitsApproval: true,
		Approval: &sweep.Approval{RequestedBy: "ops", RequestedByToken: 1}, SelectedBy: sweep.Requester{Name: "ops", TokenID: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.db.ApprovePolicy(ctx, tenant, p.ID, sweep.ApprovalStep{By: "risk lead", ByToken: 2, Confirm: 300, Revision: p.Revision}); err != nil {
		t.Fatal(err)
	}
	smaller := in.mustGetPolicy(t, p.ID)
	smaller.MaxBatch, smaller.SelectedBy = 50, sweep.Requester{Name: "analyst", TokenID: 5}
	if smaller, err = in.db.UpdatePolicy(ctx, smaller); err != nil {
		t.Fatal(err)
	}
	if smaller.AwaitsApproval || smaller.Approval != nil || smaller.ApprovedRevision != 0 {
		t.Fatalf("policy after its selection changed under the threshold: awaiting %v, approval %+v, approved revision %d; want no approval shown or kept",
			smaller.AwaitsApproval, smaller.Approval, smaller.ApprovedRevision)
	}
	in.work(t, prometheus.NewRegistry(), quiet())
	for i, ago := range []time.Duration{3 * time.Minute, 2 * time.Minute, time.Minute} {
		in.dueNow(t, rdb, ago)
		in.batches(t, p.ID, i+1)
	}
	if got := in.batches(t, p.ID, 3); !slices.Equal(got, []sweep.Status{sweep.StatusCompleted, sweep.StatusCompleted, sweep.StatusAwaitingApproval}) {
		t.Fatalf("three batches of 50 under a daily limit of 100 = %v; want two completed and the third awaiting approval", got)
	}
	var ids []int64
	in.db.SQL().Select(&ids, `SELECT id FROM imports WHERE cleanup_policy_id = $1 ORDER BY id`, p.ID)
	waiting := in.get(t, ids[2])
	// The selection's author may not approve its scheduled batch.
	if _, err := life.ApproveImport(ctx, tenant, waiting.ID, sweep.ApprovalStep{By: "analyst", ByToken: 5, Confirm: 50}); sweep.ErrorCode(err) != sweep.EFORBIDDEN {
		t.Errorf("the selection's author approving its batch: %v; want forbidden", err)
	}
	// Forgetting the batches that ran does not give the limit back.
	for _, id := range ids[:2] {
		if err := life.DeleteImport(ctx, tenant, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := life.CancelImport(ctx, tenant, waiting.ID, "ops"); err != nil {
		t.Fatal(err)
	}
	nowBatch, err := life.RunPolicyNow(ctx, in.mustGetPolicy(t, p.ID), sweep.Requester{Name: "night shift", TokenID: 7})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "the run-now batch did not settle", func() bool {
		return in.get(t, nowBatch.ID).Status == sweep.StatusAwaitingApproval
	})
	if n := in.present(t, 1, 300); n != 200 {
		t.Errorf("%d of the 300 flagged left; want 200 (two batches of 50)", n)
	}
	// Run-now's caller may not approve its batch either.
	if _, err := life.ApproveImport(ctx, tenant, nowBatch.ID, sweep.ApprovalStep{By: "night shift", ByToken: 7, Confirm: 50}); sweep.ErrorCode(err) != sweep.EFORBIDDEN {
		t.Errorf("run-now's caller approving its batch: %v; want forbidden", err)
	}
	// The policy changes meanwhile: the waiting batch is not approved but
	// cancelled, and the approver is told why.
	changed := in.mustGetPolicy(t, p.ID)
	changed.Enabled, changed.Params.Days = false, 3650
	if _, err := in.db.UpdatePolicy(ctx, changed); err != nil {
		t.Fatal(err)
	}
	got, err := life.ApproveImport(ctx, tenant, nowBatch.ID, sweep.ApprovalStep{By: "risk lead", ByToken: 2, Confirm: 50})
	if sweep.ErrorCode(err) != sweep.ECONFLICT || !containsAll(sweep.ErrorMessage(err), "no longer stands", "revision") || got.Status != sweep.StatusCancelled {
		t.Errorf("approving a batch of a changed policy = %s (%v); want it cancelled with a 409 saying why", got.Status, err)
	}
	if n := in.present(t, 1, 300); n != 200 {
		t.Errorf("%d of the 300 flagged left after the refused approval; want 200", n)
	}
}

// A batch queued to run stops when its policy is disabled before it runs:
// the run task, as it is taken, ends it cancelled with nothing deleted.
func TestQueuedBatchOfADisabledPolicyDoesNotRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := sharedRedis(t)
	in := newInstance(t, rdb, 50)
	in.db.SQL().MustExec(`DELETE FROM loan_customers`)
	in.db.SQL().MustExec(`UPDATE customers SET erasure_requested_at = CASE WHEN id <= 20 THEN now() END WHERE tenant_id = $1`, tenant)
	p, err := in.db.CreatePolicy(ctx, sweep.CleanupPolicy{TenantID: tenant, Name: "erasure", Kind: sweep.CleanupErasureRequested,
		CronSpec: "0 2 * * *", MaxBatch: 20, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	// Made and validated by a worker that takes no tasks from Redis: it
	// starts by itself, and its run task waits in Redis.
	in.db.SQL().MustExec(`UPDATE cleanup_policies SET next_run_at = now() - interval '1 minute'`)
	var claim store.DuePolicy
	if _, err := in.db.ClaimDuePolicies(ctx, time.Now(), func(d store.DuePolicy) error { claim = d; return nil }); err != nil {
		t.Fatal(err)
	}
	batch, _, err := in.db.CreateBatch(ctx, store.CleanupClaim{TenantID: tenant, PolicyID: p.ID, Due: claim.Due, Revision: claim.Revision})
	if err != nil {
		t.Fatal(err)
	}
	task, _ := jobs.NewImportValidateTask(batch)
	w := worker.NewServer(rdb, in.db, worker.Config{Concurrency: 1, Logger: quiet()})
	if err := w.Handler().ProcessTask(ctx, task); err != nil {
		t.Fatal(err)
	}
	if got := in.get(t, batch.ID); got.Status != sweep.StatusQueued {
		t.Fatalf("batch = %s, want queued", got.Status)
	}
	off := in.mustGetPolicy(t, p.ID)
	off.Enabled = false
	if _, err := in.db.UpdatePolicy(ctx, off); err != nil {
		t.Fatal(err)
	}
	in.work(t, prometheus.NewRegistry(), quiet())
	eventually(t, time.Minute, "the queued batch of a disabled policy was not stopped", func() bool {
		return in.get(t, batch.ID).Status.Terminal()
	})
	if got := in.get(t, batch.ID); got.Status != sweep.StatusCancelled || !containsAll(got.Error, "disabled", "nothing was deleted") || in.present(t, 1, 20) != 20 {
		t.Errorf("queued batch of a disabled policy = %s %q, %d of 20 left; want cancelled saying why, none deleted", got.Status, got.Error, in.present(t, 1, 20))
	}
}

// An import queued without approval counts towards the rolling limit for as
// long as it can still run, however long ago it was queued: a run_at a day
// ahead does not let a second file slip under the limit.
func TestRollingLimitCountsWhatCanStillRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := sharedRedis(t)
	in := newInstance(t, rdb, 100)
	in.db.SQL().MustExec(`DELETE FROM loan_customers`)
	threshold := int64(30)
	if err := in.db.SetApprovalThreshold(ctx, tenant, &threshold); err != nil {
		t.Fatal(err)
	}
	life := lifecycle.New(in.db, rdb, quiet())
	later := time.Now().Add(25 * time.Hour)
	a, err := life.StartImport(ctx, tenant, in.validated(t, 1, 20).ID, sweep.StartOptions{RunAt: &later, By: sweep.Requester{Name: "ops", TokenID: 1}})
	if err != nil || a.Status != sweep.StatusQueued {
		t.Fatalf("first start = %s (%v), want queued", a.Status, err)
	}
	// A day passes.
	in.db.SQL().MustExec(`UPDATE imports SET unapproved_at = unapproved_at - interval '25 hours', run_at = run_at - interval '24 hours' WHERE id = $1`, a.ID)
	b, err := life.StartImport(ctx, tenant, in.validated(t, 21, 40).ID, sweep.StartOptions{By: sweep.Requester{Name: "ops", TokenID: 1}})
	if err != nil || b.Status != sweep.StatusAwaitingApproval {
		t.Errorf("second start with the first still to run = %s (%v), want awaiting_approval", b.Status, err)
	}
}
