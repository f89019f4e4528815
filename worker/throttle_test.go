package worker_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	_ "time/tzdata" // the run window tests never skip for want of a zone database

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/store"
	"github.com/sweephq/sweep/throttle"
	"github.com/sweephq/sweep/worker"
)

// workWith starts a worker of the instance with cfg, stopped when the test
// ends.
func (in *instance) workWith(t *testing.T, cfg worker.Config) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet()
	}
	cfg.ShutdownTimeout = 5 * time.Second
	w := worker.NewServer(in.rdb, in.db, cfg)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	t.Cleanup(func() { once.Do(w.Shutdown) })
}

// validatedInBlocks is validated with blocks (chunks) of size rows, so a run
// takes several chunks.
func (in *instance) validatedInBlocks(t *testing.T, from, to, size int) sweep.Import {
	t.Helper()
	imp := in.upload(t, from, to)
	task, _ := jobs.NewImportValidateTask(imp)
	w := worker.NewServer(in.rdb, in.db, worker.Config{Concurrency: 1, ChunkSize: size, Logger: quiet()})
	if err := w.Handler().ProcessTask(context.Background(), task); err != nil {
		t.Fatal(err)
	}
	return in.get(t, imp.ID)
}

// finished waits for the import to complete and checks it deleted exactly
// its rows: every customer once, none left, one audit row each.
func (in *instance) finished(t *testing.T, id int64, from, to int) sweep.Import {
	t.Helper()
	eventually(t, 60*time.Second, "the import did not complete", func() bool {
		return in.get(t, id).Status == sweep.StatusCompleted
	})
	end := in.get(t, id)
	n := int64(to - from + 1)
	if end.DeletedRows != n || end.ProcessedRows != n || end.Hold != nil {
		t.Errorf("at the end: %d deleted, %d processed, hold %v; want %d, %d, none", end.DeletedRows, end.ProcessedRows, end.Hold, n, n)
	}
	if left := in.present(t, from, to); left != 0 {
		t.Errorf("%d customers of the file left", left)
	}
	if a := in.count(t, `SELECT count(*) FROM deletion_audit WHERE tenant_id = $1 AND import_id = $2`, tenant, id); a != n {
		t.Errorf("%d audit rows, want %d", a, n)
	}
	return end
}

// holdOf waits until the import is held for reason, and returns it.
func (in *instance) holdOf(t *testing.T, id int64, reason sweep.HoldReason) sweep.Import {
	t.Helper()
	eventually(t, 15*time.Second, "the import was not held for "+string(reason), func() bool {
		h := in.get(t, id).Hold
		return h != nil && h.Reason == reason
	})
	return in.get(t, id)
}

// still checks that a held import does not move while its worker looks at
// it again: it waits until the worker has taken its task and held it twice
// more (each look moves updated_at on), and meanwhile nothing was processed
// or deleted. It waits on those looks, not on a clock, so a slow machine
// only makes it slower and it never ends before the worker looked.
func (in *instance) still(t *testing.T, held sweep.Import, from, to int) {
	t.Helper()
	looks, last := 0, held.UpdatedAt
	eventually(t, 30*time.Second, "the worker did not look at the held import twice more", func() bool {
		now := in.get(t, held.ID)
		if now.ProcessedRows != held.ProcessedRows || now.Hold == nil {
			t.Fatalf("a held import moved: %d processed (%d when held), hold %v", now.ProcessedRows, held.ProcessedRows, now.Hold)
		}
		if now.UpdatedAt.After(last) {
			looks, last = looks+1, now.UpdatedAt
		}
		return looks >= 2
	})
	if left, want := in.present(t, from, to), int64(to-from+1)-held.DeletedRows; left != want {
		t.Fatalf("%d customers of the file left while held, want %d", left, want)
	}
}

// slowRun is an instance with a worker that reads the manual holds, and a
// validated import of 3,000 customers in blocks of 100 capped at 1,000 rows a
// second: slow enough to be caught mid-way.
func slowRun(t *testing.T) (*instance, sweep.Import) {
	t.Helper()
	in := newInstance(t, sharedRedis(t), 3000)
	chk, err := throttle.New(in.db, throttle.Config{Interval: 100 * time.Millisecond, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	in.workWith(t, worker.Config{Concurrency: 2, Throttle: chk, HoldRecheck: 200 * time.Millisecond})
	imp := in.validatedInBlocks(t, 1, 3000, 100)
	rate := 1000
	if _, err := in.db.ChangeRun(context.Background(), tenant, imp.ID, sweep.RunSettings{MaxRowsPerSecond: &rate}); err != nil {
		t.Fatal(err)
	}
	return in, imp
}

// The platform's own HTTP check holds every run while it answers anything
// but 200: the import waits queued, deletes nothing and says why; once the
// check answers 200 it runs to the end, exactly.
func TestHTTPCheckHoldsRuns(t *testing.T) {
	t.Parallel()
	var status atomic.Int32
	status.Store(http.StatusServiceUnavailable)
	check := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(status.Load()))
	}))
	defer check.Close()
	in := newInstance(t, sharedRedis(t), 3000)
	chk, err := throttle.New(in.db, throttle.Config{HTTPURL: check.URL, Interval: 100 * time.Millisecond, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	in.workWith(t, worker.Config{Concurrency: 2, Throttle: chk, HoldRecheck: 200 * time.Millisecond, Registry: reg})
	imp := in.queue(t, in.validatedInBlocks(t, 1, 2000, 100), time.Time{})

	held := in.holdOf(t, imp.ID, sweep.HoldHTTPCheck)
	if held.Status != sweep.StatusQueued || !strings.Contains(held.Hold.Message, "answered 503") {
		t.Errorf("held import: %s, %q; want queued, saying the check answered 503", held.Status, held.Hold.Message)
	}
	if n := counter(t, reg, "sweep_throttled", "reason", "http_check"); n != 1 {
		t.Errorf("sweep_throttled{reason=http_check} = %v while held, want 1", n)
	}
	in.still(t, held, 1, 2000)

	var releasedAt time.Time
	if err := in.db.SQL().Get(&releasedAt, `SELECT clock_timestamp()`); err != nil {
		t.Fatal(err)
	}
	status.Store(http.StatusOK)
	in.finished(t, imp.ID, 1, 2000)
	if n := counter(t, reg, "sweep_throttled", "reason", "http_check"); n != 0 {
		t.Errorf("sweep_throttled{reason=http_check} = %v after the run, want 0", n)
	}
	if s, least := counter(t, reg, "sweep_held_seconds_total", "reason", "http_check"), releasedAt.Sub(held.Hold.Since).Seconds(); s < least {
		t.Errorf("sweep_held_seconds_total{reason=http_check} = %v; the run was held at least %.2f s", s, least)
	}
	holds, err := in.db.ImportHolds(context.Background(), tenant, imp.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(holds) != 1 || holds[0].Reason != sweep.HoldHTTPCheck || holds[0].Ended == nil {
		t.Errorf("hold history = %+v; want one ended http_check hold", holds)
	}
}

// A manual hold stops a run mid-way after its chunk in flight, a tenant's
// hold touches only its runs, and a platform-wide hold holds every tenant;
// released, the run goes on where it stopped and ends exactly.
func TestManualHoldStopsARunMidway(t *testing.T) {
	t.Parallel()
	in, imp := slowRun(t)
	ctx := context.Background()
	// Another tenant's hold does nothing here.
	if _, err := in.db.SetRunHold(ctx, tenant+1, "not yours", "other ops"); err != nil {
		t.Fatal(err)
	}
	imp = in.queue(t, imp, time.Time{})
	eventually(t, 15*time.Second, "the run did not start", func() bool { return in.get(t, imp.ID).ProcessedRows > 0 })

	if _, err := in.db.SetRunHold(ctx, store.AllTenants, "month-end close", "ops"); err != nil {
		t.Fatal(err)
	}
	held := in.holdOf(t, imp.ID, sweep.HoldManual)
	if held.Status != sweep.StatusRunning || held.Hold.Message != "all runs of every tenant held by ops: month-end close" {
		t.Errorf("held import: %s, %q", held.Status, held.Hold.Message)
	}
	if held.ProcessedRows == 0 || held.ProcessedRows >= 3000 {
		t.Fatalf("held after %d rows; want mid-way", held.ProcessedRows)
	}
	in.still(t, held, 1, 3000)
	// Its processed rows are the truth the hold left: no block half done.
	if n := in.count(t, `SELECT count(*) FROM import_blocks WHERE tenant_id = $1 AND import_id = $2 AND processed_at IS NOT NULL`, tenant, imp.ID); n*100 != held.ProcessedRows {
		t.Errorf("%d blocks done for %d rows processed", n, held.ProcessedRows)
	}

	if _, err := in.db.ClearRunHold(ctx, store.AllTenants); err != nil {
		t.Fatal(err)
	}
	end := in.finished(t, imp.ID, 1, 3000)
	if end.StartedAt == nil || end.FinishedAt == nil {
		t.Fatal("no start or end time")
	}
	// The import's own cap held throughout: 3,000 rows at 1,000 a second
	// take at least two seconds of running (one chunk may go ahead).
	if ran := end.FinishedAt.Sub(*end.StartedAt); ran < 2*time.Second {
		t.Errorf("3,000 rows under a cap of 1,000/s ran in %s", ran)
	}
}

// A run outside its window waits queued, holding no worker, says when it
// resumes, and starts once the clock is inside the window.
func TestRunWindowWaitsForItsOpening(t *testing.T) {
	t.Parallel()
	in := newInstance(t, sharedRedis(t), 2000)
	ctx := context.Background()
	denver, err := time.LoadLocation("America/Denver")
	if err != nil {
		t.Fatal(err)
	}
	var clock atomic.Int64
	set := func(t time.Time) { clock.Store(t.UnixNano()) }
	set(time.Date(2026, 11, 30, 12, 0, 0, 0, denver)) // a Monday, noon
	in.workWith(t, worker.Config{Concurrency: 1, Now: func() time.Time { return time.Unix(0, clock.Load()) },
		WindowRecheck: 200 * time.Millisecond})

	w, err := sweep.ParseWindow("Mon-Fri 22:00-06:00 America/Denver")
	if err != nil {
		t.Fatal(err)
	}
	imp := in.validatedInBlocks(t, 1, 1500, 100)
	if _, err := in.db.ChangeRun(ctx, tenant, imp.ID, sweep.RunSettings{RunWindow: &w}); err != nil {
		t.Fatal(err)
	}
	imp = in.queue(t, imp, time.Time{})

	held := in.holdOf(t, imp.ID, sweep.HoldWindow)
	opens := time.Date(2026, 11, 30, 22, 0, 0, 0, denver)
	if held.Status != sweep.StatusQueued || held.Hold.Until == nil || !held.Hold.Until.Equal(opens) {
		t.Errorf("held import: %s until %v; want queued until %s", held.Status, held.Hold.Until, opens)
	}
	if !strings.Contains(held.Hold.Message, "resumes") {
		t.Errorf("the hold does not say when the run resumes: %q", held.Hold.Message)
	}
	in.still(t, held, 1, 1500)
	// Waiting holds no worker: the one worker slot runs another import
	// meanwhile.
	other := in.queue(t, in.validatedInBlocks(t, 1501, 2000, 100), time.Time{})
	in.finished(t, other.ID, 1501, 2000)
	if got := in.get(t, imp.ID); got.ProcessedRows != 0 {
		t.Fatalf("the import outside its window processed %d rows", got.ProcessedRows)
	}

	set(opens.Add(30 * time.Minute))
	in.finished(t, imp.ID, 1, 1500)
}

// A run held mid-way is cancelled at once when asked: the hold does not keep
// the cancel waiting, and nothing more is deleted.
func TestCancelAHeldRun(t *testing.T) {
	t.Parallel()
	in, imp := slowRun(t)
	ctx := context.Background()
	imp = in.queue(t, imp, time.Time{})
	eventually(t, 15*time.Second, "the run did not start", func() bool { return in.get(t, imp.ID).ProcessedRows > 0 })
	if _, err := in.db.SetRunHold(ctx, tenant, "", "ops"); err != nil {
		t.Fatal(err)
	}
	held := in.holdOf(t, imp.ID, sweep.HoldManual)
	if _, err := in.db.CancelImport(ctx, tenant, imp.ID, "ops"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "a held run did not end when cancelled", func() bool { return in.get(t, imp.ID).Status == sweep.StatusCancelled })
	end := in.get(t, imp.ID)
	if end.DeletedRows != held.DeletedRows || end.Hold != nil {
		t.Errorf("cancelled while held: %d deleted (%d when held), hold %v; want nothing more, no hold", end.DeletedRows, held.DeletedRows, end.Hold)
	}
	if left := in.present(t, 1, 3000); left != 3000-end.DeletedRows {
		t.Errorf("%d customers left, want %d", left, 3000-end.DeletedRows)
	}
}
