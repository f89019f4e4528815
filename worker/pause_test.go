package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/worker"
)

// Paused mid-run, an import stops after its chunk in flight and keeps its
// place; a task that arrives while it is paused does nothing; resumed, it
// goes on with the blocks not yet done and ends as an uninterrupted run:
// every customer deleted once.
func TestPauseAndResume(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3000, 0)
	f.configure(worker.Config{Concurrency: 1, ChunkSize: 100, TimeSlice: time.Hour})
	imp := f.validate(t, f.upload(t, csvOf(ids(1, 2500)...), sweep.PolicyLine))
	f.start(t, imp)
	ctx := context.Background()
	task, _ := jobs.NewImportRunTask(imp, 0, "start", time.Time{})
	done := make(chan error, 1)
	go func() { done <- f.srv.Handler().ProcessTask(ctx, task) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, _ := f.db.GetImport(ctx, tenant, imp.ID)
		if got.ProcessedRows > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the run processed nothing in 30 s")
		}
		time.Sleep(time.Millisecond)
	}
	paused, err := f.db.PauseImport(ctx, tenant, imp.ID, "ops")
	if err != nil || paused.Status != sweep.StatusPaused {
		t.Fatalf("pause = %s (%v)", paused.Status, err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the run did not stop within 30 s of the pause")
	}
	stopped, _ := f.db.GetImport(ctx, tenant, imp.ID)
	if stopped.Status != sweep.StatusPaused || stopped.ProcessedRows >= 2500 || stopped.ProcessedRows > paused.ProcessedRows+100 {
		t.Fatalf("after the pause: %s with %d processed (%d at the pause); want paused within one chunk", stopped.Status, stopped.ProcessedRows, paused.ProcessedRows)
	}
	// A task delivered while paused does nothing.
	late, _ := jobs.NewImportRunTask(imp, 0, "late", time.Time{})
	if err := f.srv.Handler().ProcessTask(ctx, late); err != nil {
		t.Fatal(err)
	}
	if again, _ := f.db.GetImport(ctx, tenant, imp.ID); again.ProcessedRows != stopped.ProcessedRows || again.Status != sweep.StatusPaused {
		t.Fatalf("a task while paused changed the import: %s, %d processed", again.Status, again.ProcessedRows)
	}
	resumed, err := f.db.ResumeImport(ctx, tenant, imp.ID)
	if err != nil || resumed.Status != sweep.StatusQueued {
		t.Fatalf("resume = %s (%v)", resumed.Status, err)
	}
	tasks, _ := jobs.RunTasks(resumed, "resume")
	for _, task := range tasks {
		if err := f.srv.Handler().ProcessTask(ctx, task); err != nil {
			t.Fatal(err)
		}
	}
	end, _ := f.db.GetImport(ctx, tenant, imp.ID)
	if end.Status != sweep.StatusCompleted || end.ProcessedRows != 2500 || end.DeletedRows != 2500 {
		t.Errorf("after resuming: %s, %d processed, %d deleted; want completed, 2500, 2500", end.Status, end.ProcessedRows, end.DeletedRows)
	}
	if n := f.count(t, `SELECT count(*) FROM deletion_audit WHERE tenant_id = $1`, tenant); n != 2500 {
		t.Errorf("audit rows = %d, want 2500", n)
	}
	if n := f.count(t, `SELECT count(*) FROM customers WHERE tenant_id = $1 AND id <= 2500`, tenant); n != 0 {
		t.Errorf("%d customers of the file left", n)
	}
}
