package worker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/worker"
)

// chunkInFlight runs an import of customers 1..300 in chunks of 100 and
// returns once its first chunk has committed and its second is in flight,
// held up by a platform transaction that locks customer 150: release ends
// that transaction, done reports the end of the run task.
func chunkInFlight(t *testing.T) (f *fixture, imp sweep.Import, release func(), done <-chan error) {
	t.Helper()
	f = newFixture(t, 300, 0)
	f.db.SQL().MustExec(`DELETE FROM loan_customers WHERE tenant_id = $1`, tenant)
	f.configure(worker.Config{Concurrency: 1, ChunkSize: 100, TimeSlice: time.Hour, Logger: quiet()})
	imp = f.validate(t, f.upload(t, csvOf(ids(1, 300)...), sweep.PolicyLine))
	f.start(t, imp)
	ctx := context.Background()
	platform, err := f.db.SQL().BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { platform.Rollback() })
	platform.MustExec(`SELECT id FROM customers WHERE tenant_id = $1 AND id = 150 FOR UPDATE`, tenant)
	var pid int
	if err := platform.Get(&pid, `SELECT pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}

	task, _ := jobs.NewImportRunTask(imp, 0, "start", time.Time{})
	ch := make(chan error, 1)
	go func() { ch <- f.srv.Handler().ProcessTask(ctx, task) }()
	// Proof that the second chunk is in flight: one chunk counted, and a
	// session waits for the platform's lock.
	eventually(t, 15*time.Second, "the second chunk did not meet the platform's lock", func() bool {
		var waiting int
		f.db.SQL().Get(&waiting, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND $1 = ANY(pg_blocking_pids(pid))`, pid)
		got, _ := f.db.GetImport(ctx, tenant, imp.ID)
		return waiting > 0 && got.ProcessedRows == 100
	})
	return f, imp, func() { platform.Rollback() }, ch
}

func ended(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the run task did not end within 30 s")
	}
}

// A pause answers paused only once deletions have stopped: the counts it
// answers with never grow afterwards, although a chunk was deleting when it
// was asked. Cancelled then, the import says what it deleted.
func TestPausedMeansStopped(t *testing.T) {
	t.Parallel()
	f, imp, release, done := chunkInFlight(t)
	ctx := context.Background()
	paused, err := f.db.PauseImport(ctx, tenant, imp.ID, "ops")
	if err != nil || paused.Status != sweep.StatusPaused {
		t.Fatalf("pause = %s (%v)", paused.Status, err)
	}
	release()
	ended(t, done) // the chunk in flight has ended, one way or the other
	for range 3 {
		got, _ := f.db.GetImport(ctx, tenant, imp.ID)
		if got.Status != sweep.StatusPaused || got.ProcessedRows != paused.ProcessedRows || got.DeletedRows != paused.DeletedRows {
			t.Fatalf("paused with %d processed, %d deleted; later %s with %d processed, %d deleted: deletions went on after paused was shown",
				paused.ProcessedRows, paused.DeletedRows, got.Status, got.ProcessedRows, got.DeletedRows)
		}
		if left := f.count(t, `SELECT count(*) FROM customers WHERE tenant_id = $1 AND id <= 300`, tenant); left != 300-paused.DeletedRows {
			t.Fatalf("%d customers left; paused said %d deleted of 300", left, paused.DeletedRows)
		}
	}
	if n := f.count(t, `SELECT count(*) FROM deletion_audit WHERE tenant_id = $1`, tenant); n != paused.DeletedRows {
		t.Errorf("audit rows = %d, paused said %d deleted", n, paused.DeletedRows)
	}

	// Cancelled while paused, it says what happened: in its answer, its
	// timeline and the import.cancelled webhook.
	if _, err := f.db.CreateWebhook(ctx, sweep.Webhook{TenantID: tenant, URL: "https://hooks.example.com/sweep", Enabled: true}, "whsec_dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0dGVzdHRlc3Q="); err != nil {
		t.Fatal(err)
	}
	cancelled, err := f.db.CancelImport(ctx, tenant, imp.ID, "ops")
	if err != nil || cancelled.Status != sweep.StatusCancelled {
		t.Fatalf("cancel = %s (%v)", cancelled.Status, err)
	}
	want := "Cancelled by ops while paused, after 100 of 300 rows: 100 customers were deleted and stay deleted; 200 rows were left and not processed."
	if cancelled.Error != want {
		t.Errorf("cancel of a paused import says %q, want %q", cancelled.Error, want)
	}
	events, err := f.db.ImportEvents(ctx, tenant, imp.ID)
	if err != nil || len(events) == 0 {
		t.Fatalf("events: %d, %v", len(events), err)
	}
	if last := events[len(events)-1]; last.Kind != "cancelled" || last.Text() != "cancelled: 100 deleted, 200 rows not processed" {
		t.Errorf("the timeline ends %s: %q", last.Kind, last.Text())
	}
	var hook string
	if err := f.db.SQL().Get(&hook, `SELECT snapshot->>'error' FROM webhook_messages WHERE tenant_id = $1 AND import_id = $2 AND type = 'import.cancelled'`, tenant, imp.ID); err != nil {
		t.Fatalf("no import.cancelled webhook: %v", err)
	}
	if hook != want {
		t.Errorf("the import.cancelled webhook says %q, want %q", hook, want)
	}
}

// A running import asked to cancel says it is stopping (running, cancel
// asked), not cancelled, while its chunk in flight still deletes; it ends
// cancelled with that chunk's deletions counted, and its message says so.
func TestCancelShownOnceTheChunkEnded(t *testing.T) {
	t.Parallel()
	f, imp, release, done := chunkInFlight(t)
	ctx := context.Background()
	asked, err := f.db.CancelImport(ctx, tenant, imp.ID, "ops")
	if err != nil || asked.Status != sweep.StatusRunning || !asked.CancelRequested {
		t.Fatalf("cancel while a chunk deletes = %s, cancel asked %v (%v); want running with the cancel asked", asked.Status, asked.CancelRequested, err)
	}
	release()
	ended(t, done)
	end, _ := f.db.GetImport(ctx, tenant, imp.ID)
	deleted := 300 - f.count(t, `SELECT count(*) FROM customers WHERE tenant_id = $1 AND id <= 300`, tenant)
	if end.Status != sweep.StatusCancelled || end.DeletedRows != deleted || end.ProcessedRows != deleted {
		t.Errorf("after the cancel: %s with %d deleted, %d processed; %d customers are gone", end.Status, end.DeletedRows, end.ProcessedRows, deleted)
	}
	if !strings.Contains(end.Error, sweep.Commas(deleted)+" customers were deleted") {
		t.Errorf("the cancelled import says %q; %d customers were deleted", end.Error, deleted)
	}
}
