package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/lifecycle"
)

// An import paused mid-run whose worker is then killed with -9, and resumed
// with a new worker, ends identical to an uninterrupted run.
func TestPausedImportSurvivesAKilledWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("the pause drill runs worker processes; skipped with -short")
	}
	t.Parallel()
	const n = 30_000
	bin := buildSweep(t)
	ctx := context.Background()
	urls, dbs, file := twinDatabases(t, n, 80)
	idB, _ := runImport(t, bin, dbs[1], urls[1], testenv.RedisURL(t), file, 0)

	db, redisURL := dbs[0], testenv.RedisURL(t)
	rdb, err := jobs.OpenRedis(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	life := lifecycle.New(db, rdb, nil)
	w := startWorker(t, bin, urls[0], redisURL)
	imp, _, err := life.CreateImport(ctx, sweep.NewImport{TenantID: crashTenant, Source: sweep.SourceUpload, Policy: sweep.PolicyLine,
		FileName: "pause.csv", AutoStart: true}, bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	wait := func(what string, until func(sweep.Import) bool) sweep.Import {
		t.Helper()
		return waitImport(t, db, imp.ID, what, 3*time.Minute, until)
	}
	// auto_start holds an upload with a row error at validated: start it.
	wait("validation", func(i sweep.Import) bool { return i.Status == sweep.StatusValidated })
	if _, err := life.StartImport(ctx, crashTenant, imp.ID, sweep.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	wait("the run", func(i sweep.Import) bool { return i.ProcessedRows > 0 })
	paused, err := life.PauseImport(ctx, crashTenant, imp.ID, "ops")
	if err != nil {
		t.Fatal(err)
	}
	// The run stops after its chunk in flight: the count settles.
	var last int64 = -1
	for settled := 0; settled < 20; {
		got, _ := db.GetImport(ctx, crashTenant, imp.ID)
		if got.ProcessedRows == last {
			settled++
		} else {
			settled, last = 0, got.ProcessedRows
		}
		time.Sleep(50 * time.Millisecond)
	}
	w.kill()
	if last >= int64(n) || last > paused.ProcessedRows+1000 {
		t.Fatalf("paused at %d, stopped at %d of %d rows; want it stopped within a chunk, before the end", paused.ProcessedRows, last, n)
	}
	startWorker(t, bin, urls[0], redisURL)
	time.Sleep(time.Second) // a paused import does not move, whatever the new worker does
	if got, _ := db.GetImport(ctx, crashTenant, imp.ID); got.Status != sweep.StatusPaused || got.ProcessedRows != last {
		t.Fatalf("while paused: %s with %d processed; want paused at %d", got.Status, got.ProcessedRows, last)
	}
	if _, err := life.ResumeImport(ctx, crashTenant, imp.ID); err != nil {
		t.Fatal(err)
	}
	got := wait("the end", func(i sweep.Import) bool { return i.Status.Terminal() })
	t.Logf("paused at %d rows, the worker killed, resumed: %s", last, got.Status)
	want, have := takeSnapshot(t, dbs[1], idB), takeSnapshot(t, db, imp.ID)
	if diff := cmp.Diff(want, have); diff != "" {
		t.Errorf("paused, killed and resumed differs from the uninterrupted run (-want +got):\n%s", diff)
	}
}
