package main

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/devdata"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/lifecycle"
)

// The global rows-per-second cap binds every worker process sharing the
// Redis: two processes, each running one part of the same import, together
// stay under it at every moment (give or take one chunk per part), and the
// import still ends exactly.
func TestGlobalCapAcrossTwoWorkerProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("the cap drill runs worker processes; skipped with -short")
	}
	t.Parallel()
	const (
		n     = 12_000
		cap   = 2_000 // rows per second, for both processes together
		chunk = 100
		parts = 2
	)
	bin := buildSweep(t)
	ctx := context.Background()
	url, redisURL := testenv.DatabaseURL(t), testenv.RedisURL(t)
	db := testenv.OpenDB(t, url)
	if _, err := devdata.Seed(ctx, db, devdata.SeedOptions{Tenant: crashTenant, Customers: n, Seed: 3, Workers: 1}); err != nil {
		t.Fatal(err)
	}
	rdb, err := jobs.OpenRedis(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	env := []string{fmt.Sprintf("SWEEP_MAX_ROWS_PER_SECOND=%d", cap), fmt.Sprintf("SWEEP_CHUNK_SIZE=%d", chunk), "SWEEP_CONCURRENCY=1"}
	startWorker(t, bin, url, redisURL, env...)
	startWorker(t, bin, url, redisURL, env...)

	var file bytes.Buffer
	file.WriteString("action,customerId\n")
	for id := 1; id <= n; id++ {
		fmt.Fprintf(&file, "remove,%d\n", id)
	}
	life := lifecycle.New(db, rdb, nil)
	imp, _, err := life.CreateImport(ctx, sweep.NewImport{TenantID: crashTenant, Source: sweep.SourceUpload, Policy: sweep.PolicyLine,
		FileName: "capped.csv"}, &file)
	if err != nil {
		t.Fatal(err)
	}
	waitImport(t, db, imp.ID, "validation", time.Minute, func(i sweep.Import) bool { return i.Status == sweep.StatusValidated })
	if _, err := life.StartImport(ctx, crashTenant, imp.ID, sweep.StartOptions{Parallelism: parts}); err != nil {
		t.Fatal(err)
	}
	first := waitImport(t, db, imp.ID, "the run", time.Minute, func(i sweep.Import) bool { return i.ProcessedRows > 0 })
	t0, r0 := time.Now(), first.ProcessedRows
	burst := int64((parts + 1) * chunk)
	var worst float64
	for {
		got, err := db.GetImport(ctx, crashTenant, imp.ID)
		if err != nil {
			t.Fatal(err)
		}
		elapsed := time.Since(t0)
		allowed := int64(cap*elapsed.Seconds()) + burst
		if done := got.ProcessedRows - r0; done > allowed {
			t.Fatalf("%d rows done %.2f s into the run; the cap allows %d (%d/s and one chunk per part)", done, elapsed.Seconds(), allowed, cap)
		} else if elapsed > time.Second {
			worst = max(worst, float64(done)/elapsed.Seconds())
		}
		if got.Status.Terminal() {
			if got.Status != sweep.StatusCompleted || got.DeletedRows != n {
				t.Fatalf("the capped import ended %s with %d deleted; want completed, %d", got.Status, got.DeletedRows, n)
			}
			rate := float64(got.ProcessedRows-r0) / elapsed.Seconds()
			t.Logf("%d rows in %.1f s: %.0f rows/s overall, at most %.0f rows/s over any span from the start, under a cap of %d", got.ProcessedRows-r0, elapsed.Seconds(), rate, worst, cap)
			// The cap bounds from above, checked all along. How close to it
			// the run comes is the machine's speed (it fell under half the cap
			// under -race on a loaded 2-core machine), so it is logged, not
			// asserted: speed is measured by benchmarks. Processes that waited
			// for each other for good end at the two-minute limit below.
			break
		}
		if elapsed > 2*time.Minute {
			t.Fatalf("the capped import is still %s after 2 minutes", got.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var audited int
	if err := db.SQL().Get(&audited, `SELECT count(*) FROM deletion_audit WHERE tenant_id = $1 AND import_id = $2`, crashTenant, imp.ID); err != nil || audited != n {
		t.Errorf("%d audit rows (%v), want %d", audited, err, n)
	}
}
