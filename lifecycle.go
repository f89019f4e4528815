package sweep

import (
	"context"
	"io"
	"time"
)

// NewImport describes an import to create.
type NewImport struct {
	TenantID  int64
	Source    Source
	Policy    Policy
	FileName  string
	AutoStart bool
	RunAt     *time.Time
	// RunWindow and MaxRowsPerSecond shape the run (see Import).
	RunWindow        Window
	MaxRowsPerSecond int
	// IdempotencyKey is optional; see ImportRequest for what it binds.
	IdempotencyKey string
	CreatedBy      string
	// CleanupPolicyID names the cleanup policy whose batch this is (0: none).
	CleanupPolicyID int64
	// CreatedByToken is the id of the token that uploads it (0: none).
	CreatedByToken int64
}

// StartOptions are what an operator may set when starting an import.
type StartOptions struct {
	RunAt       *time.Time // nil keeps the time set at upload, else now
	Parallelism int        // 0 keeps the import's setting
	RunSettings            // nil fields keep the import's settings
	// By is who asks to start it: a deletion above the tenant's threshold
	// then waits for another token's approval.
	By Requester
}

// Lifecycle performs the steps of an import that a request asks for: every
// change of state, with the task that follows it queued and recorded. The
// HTTP side holds this interface; the implementation (package lifecycle)
// knows the database and the queue.
//
// A step that changes the state but cannot queue its task still succeeds:
// the import is in its new state, and the reconciler queues its task.
type Lifecycle interface {
	// CreateImport stores a file as a new import and queues its validation.
	CreateImport(ctx context.Context, n NewImport, file io.Reader) (imp Import, existed bool, err error)
	// RequestValidation validates an uploaded or rejected import again.
	RequestValidation(ctx context.Context, tenant, id int64) (Import, error)
	// StartImport queues a validated import to run.
	StartImport(ctx context.Context, tenant, id int64, opts StartOptions) (Import, error)
	// CancelImport cancels an import before it runs, or asks a running one
	// to stop after its chunk.
	CancelImport(ctx context.Context, tenant, id int64, who string) (Import, error)
	// PauseImport stops a queued or running import after its chunk in
	// flight; ResumeImport queues it again to go on where it stopped.
	PauseImport(ctx context.Context, tenant, id int64, who string) (Import, error)
	ResumeImport(ctx context.Context, tenant, id int64) (Import, error)
	// ApproveImport queues an import awaiting approval, as its requester
	// asked; RejectImport ends it rejected. Neither may be its requester's.
	ApproveImport(ctx context.Context, tenant, id int64, step ApprovalStep) (Import, error)
	RejectImport(ctx context.Context, tenant, id int64, step ApprovalStep) (Import, error)
	// ChangeRun changes the run window or rows-per-second cap of an import
	// that has not ended; a running import follows them from its next time
	// slice.
	ChangeRun(ctx context.Context, tenant, id int64, s RunSettings) (Import, error)
	// DeleteImport removes an import that is not queued, running or paused.
	DeleteImport(ctx context.Context, tenant, id int64) error
	// RunPolicyNow makes a cleanup policy's batch now and queues it.
	RunPolicyNow(ctx context.Context, p CleanupPolicy, by Requester) (Import, error)
	// ApprovalThreshold is the approval threshold of tenants without their
	// own (0: never ask).
	ApprovalThreshold() int64
}

// QueueStat is the state of one of sweep's queues.
type QueueStat struct {
	Queue     string        `json:"queue"`
	Size      int           `json:"size"` // pending + active + scheduled + retry + archived
	Pending   int           `json:"pending"`
	Active    int           `json:"active"`
	Scheduled int           `json:"scheduled"`
	Retry     int           `json:"retry"`
	Archived  int           `json:"archived"`
	Completed int           `json:"completed"` // retained after success
	Latency   time.Duration `json:"-"`         // age of the oldest pending task
	Paused    bool          `json:"paused"`
	// ProcessedToday and FailedToday count tasks since midnight UTC.
	ProcessedToday int `json:"processed_today"`
	FailedToday    int `json:"failed_today"`
}

// Queues reports the queues' figures, for /v1/queues and metrics.
type Queues interface {
	QueueStats(ctx context.Context) ([]QueueStat, error)
}
