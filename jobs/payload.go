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
}

// Retention keeps finished tasks readable in Redis for a day, which also keeps
// their ids taken so a repeated enqueue of the same step is a no-op.
const Retention = 24 * time.Hour

// NewImportValidateTask returns the task that validates an import. The task id
// is derived from the import and its validation round, so enqueueing the same
// round twice is a no-op while a re-validation gets a fresh task.
func NewImportValidateTask(tenant, importID int64, round int) (*asynq.Task, error) {
	b, err := json.Marshal(ImportPayload{Version: PayloadVersion, TenantID: tenant, ImportID: importID})
	if err != nil {
		return nil, err
	}
	return asynq.NewTask(TypeImportValidate, b,
		asynq.TaskID(fmt.Sprintf("%s:%d:%d", TypeImportValidate, importID, round)),
		asynq.Queue(QueueDefault),
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
