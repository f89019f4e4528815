package jobs

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/sweephq/sweep"
)

// PayloadVersion was the one version of every task payload; each payload now
// has its own (ImportPayloadVersion, CleanupPayloadVersion, and the
// customers:delete payload's). It stays 1, the customers:delete version, for
// code written against it. A task with a version its handler does not read is
// refused (and archived) rather than guessed at.
//
// Deprecated: use the version constant of the payload.
const PayloadVersion = 1

// ImportPayloadVersion is the version of the import payloads this build
// writes: version 2 carries the import's creation stamp, so a worker acts
// only on the import a task was made for, never on another that has the same
// id in its database (a second deployment on the same Redis DB, or a database
// restored from a backup while Redis kept its tasks).
const ImportPayloadVersion = 2

// ImportPayloadV1 is the previous import payload version, without the stamp.
// Workers still read it: they take the stamp from the task id that this
// package gave the task (see ImportTaskStamp) and refuse a task whose id
// does not carry one.
const ImportPayloadV1 = 1

// ImportPayload is the body of import:validate and import:run tasks: which
// import of which tenant to work on. The work itself is in PostgreSQL.
type ImportPayload struct {
	Version  int   `json:"version"`
	TenantID int64 `json:"tenant_id"`
	ImportID int64 `json:"import_id"`
	// ImportCreatedUS is the import's creation time in unix microseconds
	// (sweep.Import.CreatedAt): with the id, the import's identity. Ids are
	// handed out again by another database or a restored one; an id and its
	// creation time are not. Zero only in version 1 payloads.
	ImportCreatedUS int64 `json:"import_created_us,omitempty"`
	// Part numbers the parallel run tasks of one import (0 for the first).
	Part int `json:"part,omitempty"`
}

// NewImportPayload returns the payload of a task for imp.
func NewImportPayload(imp sweep.Import, part int) ImportPayload {
	return ImportPayload{Version: ImportPayloadVersion, TenantID: imp.TenantID, ImportID: imp.ID,
		ImportCreatedUS: imp.CreatedAt.UnixMicro(), Part: part}
}

// Owns reports whether imp, as read from the database, is the import the
// payload was made for: same tenant, id and creation stamp. stamp is the one
// ImportTaskStamp returned.
func (p ImportPayload) Owns(imp sweep.Import, stamp int64) bool {
	return imp.TenantID == p.TenantID && imp.ID == p.ImportID && imp.CreatedAt.UnixMicro() == stamp
}

// Retention keeps finished tasks readable in Redis for a day, which also keeps
// their ids taken so a repeated enqueue of the same step is a no-op.
const Retention = 24 * time.Hour

// NewImportValidateTask returns the task that validates an import. The task id
// is derived from the import and its validation round (and retry, a suffix the
// reconciler adds when it replaces a lost task), so enqueueing the same round
// twice is a no-op while a re-validation gets a fresh task.
func NewImportValidateTask(imp sweep.Import, retry ...string) (*asynq.Task, error) {
	b, err := json.Marshal(NewImportPayload(imp, 0))
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

// ParseImportPayload decodes an import task's payload as strictly as the HTTP
// API reads a body (sweep.DecodeExact) and refuses versions
// this build does not know with an EVERSION error. A version 1 payload is
// returned without a stamp: ImportTaskStamp finds it in the task id.
func ParseImportPayload(b []byte) (ImportPayload, error) {
	var p ImportPayload
	if err := sweep.DecodeExact(b, &p); err != nil {
		return ImportPayload{}, sweep.Errorf(sweep.EINVALID, "import task payload is refused: %v", err)
	}
	if p.Version != ImportPayloadVersion && p.Version != ImportPayloadV1 {
		return p, sweep.Errorf(sweep.EVERSION, "import task payload version %d is not supported by this build (it reads versions %d and %d); upgrade the workers or enqueue version %d", p.Version, ImportPayloadV1, ImportPayloadVersion, ImportPayloadVersion)
	}
	if p.TenantID <= 0 || p.ImportID <= 0 {
		return p, sweep.Errorf(sweep.EINVALID, "import task payload needs a positive tenant_id and import_id; found %d and %d", p.TenantID, p.ImportID)
	}
	if p.Version == ImportPayloadVersion && p.ImportCreatedUS <= 0 {
		return p, sweep.Errorf(sweep.EINVALID, "import task payload version %d needs import_created_us, the import's creation time in unix microseconds; found %d", p.Version, p.ImportCreatedUS)
	}
	return p, nil
}

// ImportTaskStamp returns the creation stamp of the import a task was made
// for: the payload's, or for a version 1 payload the one in the task id
// (taskType:<import id>-<created unix micro>:..., as RunTaskID and
// ValidateTaskID name tasks), which must name the payload's import. A
// version 1 task whose id carries no stamp (enqueued by hand, or by a build
// older than stamped ids) is refused with EVERSION: nothing tells which
// import it was made for.
func ImportTaskStamp(p ImportPayload, taskType, taskID string) (int64, error) {
	if p.Version != ImportPayloadV1 {
		return p.ImportCreatedUS, nil
	}
	refuse := sweep.Errorf(sweep.EVERSION, "%s task %q has a version %d payload and its id does not name import %d with its creation time, so this build cannot tell which import it was made for; it was not run. If import %d of tenant %d is still due, the reconciler enqueues a version %d task for it",
		taskType, taskID, p.Version, p.ImportID, p.ImportID, p.TenantID, ImportPayloadVersion)
	key, ok := strings.CutPrefix(taskID, taskType+":")
	if !ok {
		return 0, refuse
	}
	key, _, _ = strings.Cut(key, ":")
	id, stamp, ok := strings.Cut(key, "-")
	if !ok {
		return 0, refuse
	}
	n, err1 := strconv.ParseInt(id, 10, 64)
	us, err2 := strconv.ParseInt(stamp, 10, 64)
	if err1 != nil || err2 != nil || n != p.ImportID || us <= 0 {
		return 0, refuse
	}
	return us, nil
}

// NewImportRunTask returns a task that works on an import's deletion, named by
// RunTaskID(imp, part, step) so a repeated enqueue is a no-op. at, when
// not zero, delays the task until then.
func NewImportRunTask(imp sweep.Import, part int, step string, at time.Time) (*asynq.Task, error) {
	b, err := json.Marshal(NewImportPayload(imp, part))
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
		// asynq files a delayed task under its whole second and takes it when
		// the clock reaches that second, so a run_at of 10:00:05.7 would start
		// at 10:00:05.0. Rounding up keeps a run from ever starting early; it
		// starts within the second after its time.
		if r := at.Truncate(time.Second); !r.Equal(at) {
			at = r.Add(time.Second)
		}
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
	return RunTasks(imp, "start")
}

// RunTasks returns one run task per degree of parallelism of an import, each
// named by step (see RunTaskID), delayed until its run_at when that is in the
// future.
func RunTasks(imp sweep.Import, step string) ([]*asynq.Task, error) {
	var at time.Time
	if imp.RunAt != nil && imp.RunAt.After(time.Now()) {
		at = *imp.RunAt
	}
	tasks := make([]*asynq.Task, 0, max(imp.Parallelism, 1))
	for part := range max(imp.Parallelism, 1) {
		t, err := NewImportRunTask(imp, part, step, at)
		if err != nil {
			return nil, err
		}
		tasks = append(tasks, t)
	}
	return tasks, nil
}
