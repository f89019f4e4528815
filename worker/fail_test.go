package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/worker"
)

// lockedBuffer is a log destination the worker's goroutines may share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

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
			logs := &lockedBuffer{}
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
