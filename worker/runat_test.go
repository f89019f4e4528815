package worker_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/store"
	"github.com/sweephq/sweep/worker"
)

// A run task that comes before the import's run_at, such as one made by hand
// in Redis, deletes nothing and leaves the import queued; the run waits in
// the queue for its run_at. The database refuses the start too, whatever
// asks for it.
func TestRunTaskBeforeRunAtDeletesNothing(t *testing.T) {
	t.Parallel()
	in := newInstance(t, sharedRedis(t), 300)
	ctx := context.Background()
	runAt := time.Now().Add(2 * time.Hour).Truncate(time.Second)
	imp := in.queue(t, in.validated(t, 1, 200), runAt)
	if imp.Status != sweep.StatusQueued || imp.RunAt == nil || !imp.RunAt.Equal(runAt) {
		t.Fatalf("started import: %s, run_at %v; want queued at %s", imp.Status, imp.RunAt, runAt)
	}

	w := worker.NewServer(in.rdb, in.db, worker.Config{Concurrency: 1, ChunkSize: 50, Logger: quiet()})
	for _, step := range []string{"by-hand", "by-hand-again"} {
		early, _ := jobs.NewImportRunTask(imp, 0, step, time.Time{})
		if err := w.Handler().ProcessTask(ctx, early); err != nil {
			t.Fatalf("early task %s: %v", step, err)
		}
	}
	got := in.get(t, imp.ID)
	if got.Status != sweep.StatusQueued || got.ProcessedRows != 0 || got.DeletedRows != 0 || got.StartedAt != nil {
		t.Errorf("after early tasks: %s, %d processed, %d deleted, started %v; want queued, nothing done", got.Status, got.ProcessedRows, got.DeletedRows, got.StartedAt)
	}
	if left := in.present(t, 1, 200); left != 200 {
		t.Errorf("%d of 200 customers left after early tasks", left)
	}
	// The run waits for its run_at in the queue, once however many early
	// tasks came.
	info, err := asynq.NewInspectorFromRedisClient(in.rdb).GetTaskInfo(jobs.ImportQueue(imp), jobs.RunTaskID(imp, 0, "at-"+strconv.FormatInt(runAt.Unix(), 10)))
	if err != nil {
		t.Fatalf("no run task waits at run_at: %v", err)
	}
	if info.State != asynq.TaskStateScheduled || !info.NextProcessAt.Equal(runAt) {
		t.Errorf("the task at run_at is %s for %s; want scheduled for %s", info.State, info.NextProcessAt, runAt)
	}

	// No path around the worker's check: the database's own statement
	// refuses to begin a run before run_at.
	_, err = in.db.BeginRunning(ctx, tenant, imp.ID)
	var nd *store.NotDueError
	if !errors.As(err, &nd) || sweep.ErrorCode(err) != sweep.ECONFLICT || nd.Wait < time.Hour {
		t.Errorf("BeginRunning before run_at = %v; want NotDueError (conflict) with about 2 h left", err)
	}
	if got := in.get(t, imp.ID); got.Status != sweep.StatusQueued {
		t.Errorf("after BeginRunning before run_at the import is %s, want queued", got.Status)
	}

	// Once run_at has come (moved here to the past), a task runs it.
	in.db.SQL().MustExec(`UPDATE imports SET run_at = now() - interval '1 second' WHERE tenant_id = $1 AND id = $2`, tenant, imp.ID)
	due, _ := jobs.NewImportRunTask(imp, 0, "due", time.Time{})
	if err := w.Handler().ProcessTask(ctx, due); err != nil {
		t.Fatal(err)
	}
	if end := in.get(t, imp.ID); end.Status != sweep.StatusCompleted || end.DeletedRows != 200 {
		t.Errorf("after run_at: %s with %d deleted; want completed with 200", end.Status, end.DeletedRows)
	}
}
