package worker_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/store"
	"github.com/sweephq/sweep/throttle"
	"github.com/sweephq/sweep/worker"
)

// A real streaming replica whose replay is paused holds the run within
// seconds: its processed rows stop advancing and it says why. Once replay
// resumes the run goes on and ends exactly, and the replica sees every
// deletion.
func TestReplicaLagHoldsRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("starts its own PostgreSQL primary and replica; skipped with -short")
	}
	t.Parallel()
	ctx := context.Background()
	cluster := testenv.Replica(t)
	db, err := store.Open(ctx, cluster.PrimaryURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	in := seededInstance(t, db, sharedRedis(t), 12_000)
	chk, err := throttle.New(db, throttle.Config{MaxReplicaLag: time.Second, ReplicaURLs: []string{cluster.ReplicaURL},
		Interval: 200 * time.Millisecond, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(chk.Close)
	in.workWith(t, worker.Config{Concurrency: 2, Throttle: chk, HoldRecheck: 300 * time.Millisecond})

	imp := in.validatedInBlocks(t, 1, 10_000, 200)
	rate := 1500 // slow enough to be caught mid-way
	if _, err := db.ChangeRun(ctx, tenant, imp.ID, sweep.RunSettings{MaxRowsPerSecond: &rate}); err != nil {
		t.Fatal(err)
	}
	if err := cluster.WaitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	imp = in.queue(t, imp, time.Time{})
	eventually(t, 20*time.Second, "the run did not start", func() bool { return in.get(t, imp.ID).ProcessedRows > 0 })

	if err := cluster.PauseReplay(ctx); err != nil {
		t.Fatal(err)
	}
	paused := time.Now()
	held := in.holdOf(t, imp.ID, sweep.HoldReplicaLag)
	t.Logf("held %.1f s after replay paused, at %d rows: %s", time.Since(paused).Seconds(), held.ProcessedRows, held.Hold.Text())
	if !strings.Contains(held.Hold.Message, "replica lag") || !strings.Contains(held.Hold.Message, "above 1 s") {
		t.Errorf("the hold says %q; want the replica lag above 1 s", held.Hold.Message)
	}
	if held.ProcessedRows >= 10_000 {
		t.Fatal("the run ended before replay was paused; nothing was held")
	}
	// The run's one part records the hold before it would take its next
	// chunk: from then on nothing moves while the worker looks again.
	in.still(t, held, 1, 10_000)

	if err := cluster.ResumeReplay(ctx); err != nil {
		t.Fatal(err)
	}
	in.finished(t, imp.ID, 1, 10_000)
	if err := cluster.WaitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	replica, err := sql.Open("postgres", cluster.ReplicaURL)
	if err != nil {
		t.Fatal(err)
	}
	defer replica.Close()
	var left int
	if err := replica.QueryRowContext(ctx, `SELECT count(*) FROM customers WHERE tenant_id = $1 AND id <= 10000`, tenant).Scan(&left); err != nil || left != 0 {
		t.Errorf("the replica still has %d of the deleted customers (%v)", left, err)
	}
	holds, err := db.ImportHolds(ctx, tenant, imp.ID)
	if err != nil || len(holds) == 0 || holds[len(holds)-1].Reason != sweep.HoldReplicaLag || holds[0].Ended == nil {
		t.Errorf("hold history = %+v (%v); want the replica_lag hold, ended", holds, err)
	}
}
