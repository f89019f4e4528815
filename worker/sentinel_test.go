package worker_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/devdata"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/lifecycle"
	"github.com/sweephq/sweep/worker"
)

// With SWEEP_REDIS_URL naming a Sentinel-managed group, the Redis master
// killed in the middle of an import: the sentinels promote the replica, the
// worker follows it, tasks lost with the old master are enqueued again from
// PostgreSQL, and the import ends with every customer deleted once.
func TestRedisSentinelFailoverMidImport(t *testing.T) {
	if testing.Short() {
		t.Skip("the Sentinel drill starts five Redis processes and waits for a failover; skipped with -short")
	}
	t.Parallel()
	group := testenv.StartSentinel(t)
	rdb, err := jobs.OpenRedis(group.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	db := testenv.DB(t)
	ctx := context.Background()
	const n = 6000
	if _, err := devdata.Seed(ctx, db, devdata.SeedOptions{Tenant: tenant, Customers: n, Seed: 9}); err != nil {
		t.Fatal(err)
	}
	db.SQL().MustExec(`DELETE FROM loan_customers WHERE tenant_id = $1`, tenant)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	w := worker.NewServer(rdb, db, worker.Config{Concurrency: 2, ChunkSize: 100, TimeSlice: 100 * time.Millisecond,
		ShutdownTimeout: 5 * time.Second, Logger: quiet})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Shutdown)
	rec := worker.NewReconciler(db, rdb, quiet, nil)
	rec.Stale = 2 * time.Second
	recCtx, stop := context.WithCancel(ctx)
	t.Cleanup(stop)
	go func() {
		for recCtx.Err() == nil {
			rec.Run(recCtx)
			select {
			case <-recCtx.Done():
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()

	life := lifecycle.New(db, rdb, quiet)
	imp, _, err := life.CreateImport(ctx, sweep.NewImport{TenantID: tenant, Source: sweep.SourceUpload, Policy: sweep.PolicyLine,
		FileName: "failover.csv", AutoStart: true}, bytes.NewReader(csvOf(ids(1, n)...)))
	if err != nil {
		t.Fatal(err)
	}
	wait := func(what string, limit time.Duration, until func(sweep.Import) bool) sweep.Import {
		t.Helper()
		deadline := time.Now().Add(limit)
		for {
			got, err := db.GetImport(ctx, tenant, imp.ID)
			if err != nil {
				t.Fatal(err)
			}
			if until(got) {
				return got
			}
			if got.Status == sweep.StatusFailed || time.Now().After(deadline) {
				t.Fatalf("waiting %s for %s: import is %s, %d of %d processed (%s)", limit, what, got.Status, got.ProcessedRows, got.ValidRows, got.Error)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	wait("the run to start", time.Minute, func(i sweep.Import) bool { return i.ProcessedRows > 0 })
	group.KillMaster()
	killedAt := time.Now()
	before, _ := db.GetImport(ctx, tenant, imp.ID)
	got := wait("the end after the failover", 2*time.Minute, func(i sweep.Import) bool { return i.Status.Terminal() })
	t.Logf("master killed at %d of %d rows; import %s %s later", before.ProcessedRows, n, got.Status, time.Since(killedAt).Round(100*time.Millisecond))
	if before.ProcessedRows >= n {
		t.Errorf("the master was killed after the run had finished; the drill proves nothing")
	}
	if got.Status != sweep.StatusCompleted || got.DeletedRows != n {
		t.Errorf("import = %s with %d deleted; want completed with %d", got.Status, got.DeletedRows, n)
	}
	var audit, distinct, left int
	db.SQL().Get(&audit, `SELECT count(*) FROM deletion_audit WHERE tenant_id = $1`, tenant)
	db.SQL().Get(&distinct, `SELECT count(DISTINCT customer_id) FROM deletion_audit WHERE tenant_id = $1`, tenant)
	db.SQL().Get(&left, `SELECT count(*) FROM customers WHERE tenant_id = $1`, tenant)
	if audit != n || distinct != n || left != 0 {
		t.Errorf("audit rows %d for %d customers, %d customers left; want %d, %d, 0", audit, distinct, left, n, n)
	}
}
