package worker_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/worker"
)

// Two schedulers that both find a policy due (as two replicas would if the
// lease ever failed) enqueue one run; the batch it makes is one import. A
// disabled policy, due as well, never runs.
func TestCleanupTriggerMakesOneBatchPerDueTime(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 200, 0)
	ctx := context.Background()
	f.db.SQL().MustExec(`UPDATE customers SET erasure_requested_at = CASE WHEN id <= 30 THEN now() END WHERE tenant_id = $1`, tenant)
	on, err := f.db.CreatePolicy(ctx, sweep.CleanupPolicy{TenantID: tenant, Name: "erasure", Kind: sweep.CleanupErasureRequested,
		CronSpec: "0 * * * *", MaxBatch: 1000, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	off, err := f.db.CreatePolicy(ctx, sweep.CleanupPolicy{TenantID: tenant, Name: "disabled", Kind: sweep.CleanupErasureRequested,
		CronSpec: "0 * * * *", MaxBatch: 1000, Enabled: false})
	if err != nil {
		t.Fatal(err)
	}
	due := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	f.db.SQL().MustExec(`UPDATE cleanup_policies SET next_run_at = $1`, due)

	rdb, _ := jobs.OpenRedis(testenv.RedisURL(t))
	defer rdb.Close()
	w := worker.NewServer(rdb, f.db, worker.Config{Concurrency: 4, ShutdownTimeout: 5 * time.Second})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Shutdown()
	triggers := []*worker.CleanupTrigger{worker.NewCleanupTrigger(f.db, rdb, nil), worker.NewCleanupTrigger(f.db, rdb, nil)}
	var wg sync.WaitGroup
	for _, tr := range triggers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				if err := tr.Run(ctx); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()

	deadline := time.Now().Add(30 * time.Second)
	for {
		var states []string
		if err := f.db.SQL().Select(&states, `SELECT status FROM imports WHERE tenant_id = $1`, tenant); err != nil {
			t.Fatal(err)
		}
		if len(states) == 1 && states[0] == string(sweep.StatusCompleted) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("batches after 30s: %v; want one completed", states)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Every trigger has returned, so every task they enqueued is in Redis:
	// once the queue holds nothing waiting or running, no second batch can
	// come.
	inspector := asynq.NewInspectorFromRedisClient(rdb)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		q, err := inspector.GetQueueInfo(jobs.QueueLow)
		if err != nil {
			t.Fatal(err)
		}
		if q.Pending+q.Active+q.Scheduled+q.Retry+q.Aggregating == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue %s still holds %+v after 30s", jobs.QueueLow, q)
		}
	}
	if n := f.count(t, `SELECT count(*) FROM imports WHERE tenant_id = $1`, tenant); n != 1 {
		t.Errorf("imports = %d, want 1 batch", n)
	}
	if n := f.count(t, `SELECT count(*) FROM deletion_audit WHERE tenant_id = $1`, tenant); n != 30 {
		t.Errorf("deleted = %d, want the 30 flagged customers", n)
	}
	got, _ := f.db.GetPolicy(ctx, tenant, on.ID)
	if got.LastRunAt == nil || !got.LastRunAt.Equal(due) || !got.NextRunAt.After(time.Now()) || got.LastFound == nil || *got.LastFound != 30 {
		t.Errorf("policy after its run: last run %v (due %v), next %v, found %v", got.LastRunAt, due, got.NextRunAt, got.LastFound)
	}
	dis, _ := f.db.GetPolicy(ctx, tenant, off.ID)
	if dis.LastRunAt != nil || !dis.NextRunAt.Equal(due) {
		t.Errorf("disabled policy ran: last run %v, next %v", dis.LastRunAt, dis.NextRunAt)
	}
}
