package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/devdata"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/store"
	"github.com/sweephq/sweep/worker"
)

// A chunk that meets a customer the platform holds locked gives up at
// lock_timeout, holds nothing while it waits, and completes once the lock is
// released: nothing of the platform's waits on sweep meanwhile.
func TestChunkMeetingALockBacksOff(t *testing.T) {
	t.Parallel()
	url, err := store.SessionURL(testenv.DatabaseURL(t), store.SessionLimits{LockTimeout: 200 * time.Millisecond, IdleInTransaction: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	db := testenv.OpenDB(t, url)
	ctx := context.Background()
	if _, err := devdata.Seed(ctx, db, devdata.SeedOptions{Tenant: tenant, Customers: 60, Seed: 9}); err != nil {
		t.Fatal(err)
	}
	db.SQL().MustExec(`DELETE FROM loan_customers WHERE tenant_id = $1`, tenant)
	rdb, err := jobs.OpenRedis(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	reg := prometheus.NewRegistry()
	f := &fixture{db: db, rdb: rdb, srv: worker.NewServer(rdb, db, worker.Config{Concurrency: 1, ChunkSize: 20, TimeSlice: time.Hour, Registry: reg})}
	imp := f.validate(t, f.upload(t, csvOf(ids(1, 40)...), sweep.PolicyLine))
	f.start(t, imp)

	// The platform holds customer 5 (in the first chunk) in an open transaction.
	platform, err := db.SQL().BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer platform.Rollback()
	platform.MustExec(`SELECT id FROM customers WHERE tenant_id = $1 AND id = 5 FOR UPDATE`, tenant)

	task, _ := jobs.NewImportRunTask(imp, 0, "start", time.Time{})
	done := make(chan error, 1)
	go func() { done <- f.srv.Handler().ProcessTask(ctx, task) }()

	// The run waits: it has met the lock (counted), done nothing of the
	// chunk, and the platform's next update of another customer of that
	// chunk is not kept waiting by sweep.
	deadline := time.Now().Add(10 * time.Second)
	for counterValue(t, reg, "sweep_chunk_lock_waits_total") < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the chunk did not meet the lock within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := f.count(t, `SELECT count(*) FROM customers WHERE tenant_id = $1 AND id BETWEEN 1 AND 20`, tenant); n != 20 {
		t.Errorf("customers of the locked chunk = %d while it waits, want 20", n)
	}
	other := db.SQL().MustBegin()
	other.MustExec(`SET LOCAL lock_timeout = '2s'`)
	if _, err := other.Exec(`UPDATE customers SET last_activity_at = now() WHERE tenant_id = $1 AND id = 6`, tenant); err != nil {
		t.Errorf("the platform's update of customer 6 waited on sweep: %v", err)
	}
	other.Rollback()

	platform.Rollback()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the run did not complete within 30 s of the lock's release")
	}
	got, _ := db.GetImport(ctx, tenant, imp.ID)
	if got.Status != sweep.StatusCompleted || got.DeletedRows != 40 {
		t.Errorf("import = %s with %d deleted; want completed with 40", got.Status, got.DeletedRows)
	}
	if n := f.count(t, `SELECT count(*) FROM deletion_audit WHERE tenant_id = $1`, tenant); n != 40 {
		t.Errorf("audit rows = %d, want 40", n)
	}
}

// counterValue reads a counter without labels from reg (0 before it counts).
func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return 0
}
