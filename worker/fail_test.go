package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/worker"
)

// An import whose validation or run fails on its last attempt is marked failed
// with a sentence the tenant can act on (what happened, what to do, the import
// id for support); the driver's and Go's text goes to the log, at error level
// with the import and the tenant, and never into the import.
func TestFailedImportShowsASentenceNotDriverText(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		phase, table string
		want         []string
	}{
		{"validation", "import_errors", []string{"Validation stopped", "Nothing was deleted", "Upload the file again"}},
		{"deletion", "deletion_audit", []string{"Deletion stopped", "results", "new import"}},
	} {
		t.Run(c.phase, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, 20, 0)
			logs := &testenv.Logs{}
			f.configure(worker.Config{Concurrency: 1, TimeSlice: time.Hour, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
			imp := f.upload(t, csvOf("remove,1", "remove,2"), sweep.PolicyLine)
			task, err := jobs.NewImportValidateTask(imp)
			if c.phase == "deletion" {
				imp = f.validate(t, imp)
				f.start(t, imp)
				task, err = jobs.NewImportRunTask(imp, 0, "start", time.Time{})
			}
			if err != nil {
				t.Fatal(err)
			}
			// A table the phase writes to is gone: every attempt fails with
			// the driver's "relation ... does not exist".
			f.db.SQL().MustExec(`ALTER TABLE ` + c.table + ` RENAME TO gone`)
			// Outside an asynq server the context carries no retry count,
			// which the worker reads as the last attempt (0 of 0 retries).
			if err := f.srv.Handler().ProcessTask(context.Background(), task); err == nil {
				t.Fatalf("the %s succeeded without table %s", c.phase, c.table)
			}
			got, err := f.db.GetImport(context.Background(), tenant, imp.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != sweep.StatusFailed {
				t.Fatalf("import is %s, want failed", got.Status)
			}
			for _, leak := range []string{"pq:", "sql:", "dial tcp", "does not exist", c.table, "sweep error", "code="} {
				if strings.Contains(got.Error, leak) {
					t.Errorf("the import's error shows %q: %s", leak, got.Error)
				}
			}
			for _, want := range append(c.want, fmt.Sprintf("import id %d", imp.ID)) {
				if !strings.Contains(got.Error, want) {
					t.Errorf("the import's error does not say %q: %s", want, got.Error)
				}
			}
			logged := false
			for line := range strings.Lines(logs.String()) {
				var rec map[string]any
				if json.Unmarshal([]byte(line), &rec) != nil {
					continue
				}
				if rec["level"] == "ERROR" && rec["import_id"] == float64(imp.ID) && rec["tenant_id"] == float64(tenant) &&
					strings.Contains(fmt.Sprint(rec["err"]), "does not exist") {
					logged = true
				}
			}
			if !logged {
				t.Errorf("no error-level log with import_id, tenant_id and the driver's detail:\n%s", logs.String())
			}
		})
	}
}

// The database-failure path through a real asynq server: a validation that
// fails every attempt is retried, the import stays validating with no error
// while retries remain, and the last attempt ends it failed with a sentence
// that says how many times sweep tried; asynq archives the task.
func TestImportFailsOnlyAfterItsRetries(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 20, 0)
	logs := &testenv.Logs{}
	f.configure(worker.Config{Concurrency: 1, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	imp := f.upload(t, csvOf("remove,1", "remove,2"), sweep.PolicyLine)
	f.db.SQL().MustExec(`ALTER TABLE import_errors RENAME TO gone`)
	if err := f.srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer f.srv.Shutdown()
	task, err := jobs.NewImportValidateTask(imp)
	if err != nil {
		t.Fatal(err)
	}
	// Two retries instead of ten, each run at once instead of after asynq's
	// back-off.
	info, err := asynq.NewClientFromRedisClient(f.rdb).Enqueue(task, asynq.MaxRetry(2))
	if err != nil {
		t.Fatal(err)
	}
	inspector := asynq.NewInspectorFromRedisClient(f.rdb)
	waitState := func(want asynq.TaskState, retried int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			ti, err := inspector.GetTaskInfo(info.Queue, info.ID)
			if err == nil && ti.State == want && ti.Retried == retried {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("task is %+v (%v) after 30s; want %s after %d retries", ti, err, want, retried)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	for attempt := 1; attempt <= 2; attempt++ {
		waitState(asynq.TaskStateRetry, attempt)
		got, err := f.db.GetImport(context.Background(), tenant, imp.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != sweep.StatusValidating || got.Error != "" {
			t.Fatalf("after attempt %d of 3: import %s (%q); want validating, no error, while retries remain", attempt, got.Status, got.Error)
		}
		if err := inspector.RunTask(info.Queue, info.ID); err != nil {
			t.Fatal(err)
		}
	}
	waitState(asynq.TaskStateArchived, 2)
	got, err := f.db.GetImport(context.Background(), tenant, imp.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != sweep.StatusFailed {
		t.Fatalf("after the last attempt the import is %s, want failed", got.Status)
	}
	for _, want := range []string{"Validation stopped", "tried 3 times", "Nothing was deleted", fmt.Sprintf("import id %d", imp.ID)} {
		if !strings.Contains(got.Error, want) {
			t.Errorf("the import's error does not say %q: %s", want, got.Error)
		}
	}
	for _, leak := range []string{"pq:", "does not exist", "import_errors"} {
		if strings.Contains(got.Error, leak) {
			t.Errorf("the import's error shows %q: %s", leak, got.Error)
		}
	}
	if n := strings.Count(logs.String(), `"msg":"import failed"`); n != 1 {
		t.Errorf("%d 'import failed' log lines, want 1 (on the last attempt only):\n%s", n, logs.String())
	}
}
