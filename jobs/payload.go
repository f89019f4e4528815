package jobs

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/sweephq/sweep"
)

// PayloadVersion is the version of the payloads this build writes and reads. A
// task with another version is refused (and archived) rather than guessed at.
const PayloadVersion = 1

// ImportPayload is the body of import:validate and import:run tasks: which
// import of which tenant to work on. The work itself is in PostgreSQL.
type ImportPayload struct {
	Version  int   `json:"version"`
	TenantID int64 `json:"tenant_id"`
	ImportID int64 `json:"import_id"`
	// Part numbers the parallel run tasks of one import (0 for the first).
	Part int `json:"part,omitempty"`
}

// Retention keeps finished tasks readable in Redis for a day, which also keeps
// their ids taken so a repeated enqueue of the same step is a no-op.
const Retention = 24 * time.Hour

// NewImportValidateTask returns the task that validates an import. The task id
// is derived from the import and its validation round (and retry, a suffix the
// reconciler adds when it replaces a lost task), so enqueueing the same round
// twice is a no-op while a re-validation gets a fresh task.
func NewImportValidateTask(imp sweep.Import, retry ...string) (*asynq.Task, error) {
	b, err := json.Marshal(ImportPayload{Version: PayloadVersion, TenantID: imp.TenantID, ImportID: imp.ID})
	if err != nil {
		return nil, err
	}
	return asynq.NewTask(TypeImportValidate, b,
		asynq.TaskID(ValidateTaskID(imp, retry...)),
		asynq.Queue(ImportQueue(imp)),
		asynq.MaxRetry(10),
		asynq.Timeout(2*time.Hour),
		asynq.Retention(Retention),
	), nil
}

// ParseImportPayload decodes an import task's payload and refuses versions
// this build does not know with an EUNSUPPORTED error.
func ParseImportPayload(b []byte) (ImportPayload, error) {
	var p ImportPayload
	if err := json.Unmarshal(b, &p); err != nil {
		return p, sweep.Errorf(sweep.EINVALID, "import task payload is not valid JSON: %v", err)
	}
	if p.Version != PayloadVersion {
		return p, sweep.Errorf(sweep.EUNSUPPORTED, "import task payload version %d is not supported by this build (it reads version %d); upgrade the workers or enqueue version %d", p.Version, PayloadVersion, PayloadVersion)
	}
	if p.TenantID <= 0 || p.ImportID <= 0 {
		return p, sweep.Errorf(sweep.EINVALID, "import task payload needs a positive tenant_id and import_id; found %d and %d", p.TenantID, p.ImportID)
	}
	return p, nil
}

// NewImportRunTask returns a task that works on an import's deletion, named by
// RunTaskID(imp, part, step) so a repeated enqueue is a no-op. at, when
// not zero, delays the task until then.
func NewImportRunTask(imp sweep.Import, part int, step string, at time.Time) (*asynq.Task, error) {
	b, err := json.Marshal(ImportPayload{Version: PayloadVersion, TenantID: imp.TenantID, ImportID: imp.ID, Part: part})
	if err != nil {
		return nil, err
	}
	opts := []asynq.Option{
		asynq.TaskID(RunTaskID(imp, part, step)),
		asynq.Queue(ImportQueue(imp)),
		asynq.MaxRetry(10),
		// A task runs one time slice, then hands over to its continuation.
		asynq.Timeout(10 * time.Minute),
		asynq.Retention(Retention),
	}
	if !at.IsZero() {
		opts = append(opts, asynq.ProcessAt(at))
	}
	return asynq.NewTask(TypeImportRun, b, opts...), nil
}

// RunTaskID names a run task of an import: part is which of its parallel
// tasks, step what makes it unique in that chain (start, the block after which
// it continues, or a reconciliation time).
func RunTaskID(imp sweep.Import, part int, step string) string {
	return fmt.Sprintf("%s:%s:%d:%s", TypeImportRun, taskKey(imp), part, step)
}

// taskKey names an import in task ids: its id and creation time, so two
// databases sharing a Redis (or a database restored from a backup) never
// collide on a task id that Redis still retains.
func taskKey(imp sweep.Import) string {
	return fmt.Sprintf("%d-%d", imp.ID, imp.CreatedAt.UnixMicro())
}

// ValidateTaskID names the validation task of an import's round.
func ValidateTaskID(imp sweep.Import, retry ...string) string {
	id := fmt.Sprintf("%s:%s:%d", TypeImportValidate, taskKey(imp), imp.Validations)
	for _, r := range retry {
		id += ":" + r
	}
	return id
}

// StartTasks returns the first run tasks of an import: one per degree of
// parallelism, delayed until its run_at when that is in the future.
func StartTasks(imp sweep.Import) ([]*asynq.Task, error) {
	var at time.Time
	if imp.RunAt != nil && imp.RunAt.After(time.Now()) {
		at = *imp.RunAt
	}
	tasks := make([]*asynq.Task, 0, max(imp.Parallelism, 1))
	for part := range max(imp.Parallelism, 1) {
		t, err := NewImportRunTask(imp, part, "start", at)
		if err != nil {
			return nil, err
		}
		tasks = append(tasks, t)
	}
	return tasks, nil
}
