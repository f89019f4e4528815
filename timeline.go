package sweep

// The timeline's steps that an import's own row writes: every change of
// state, its creation, a cancel asked of a running import, and a change of
// its run's window or cap. This table is their one definition: the
// database's trigger that writes them (store/guard/import_states.sql) is
// generated from it, and Event.Text reads the same keys.

// DetailKey names one member of an event's detail.
type DetailKey string

// The detail keys of the steps an import's row writes (holds, the impact
// preview and approvals add their own).
const (
	DetailSource           DetailKey = "source"
	DetailPolicy           DetailKey = "policy"
	DetailAutoStart        DetailKey = "auto_start"
	DetailRunAt            DetailKey = "run_at"
	DetailParallelism      DetailKey = "parallelism"
	DetailTotalRows        DetailKey = "total_rows"
	DetailValidRows        DetailKey = "valid_rows"
	DetailErrorRows        DetailKey = "error_rows"
	DetailProcessedRows    DetailKey = "processed_rows"
	DetailDeletedRows      DetailKey = "deleted_rows"
	DetailSkippedRows      DetailKey = "skipped_rows"
	DetailError            DetailKey = "error"
	DetailExpiresAt        DetailKey = "expires_at"
	DetailRunWindow        DetailKey = "run_window"
	DetailMaxRowsPerSecond DetailKey = "max_rows_per_second"
)

// The detail keys the other steps write: the impact preview, a hold, an
// approval's tokens.
const (
	DetailCustomers        DetailKey = "customers"
	DetailRelatedRows      DetailKey = "related_rows"
	DetailEstimatedSeconds DetailKey = "estimated_seconds"
	DetailRequestedByToken DetailKey = "requested_by_token_id"
	DetailApprovedByToken  DetailKey = "approved_by_token_id"
	DetailMessage          DetailKey = "message"
	DetailReason           DetailKey = "reason"
	DetailHeldSeconds      DetailKey = "held_seconds"
)

// Column is the column of imports a detail key is read from.
func (k DetailKey) Column() string {
	if k == DetailExpiresAt {
		return "approval_expires_at"
	}
	return string(k)
}

// StatusStep is the timeline's step for a move to a state.
type StatusStep struct {
	// Kind is the event's kind (empty: the state's name); After gives it
	// by the state left, where that says more (queued after paused is
	// resumed).
	Kind  string
	After map[Status]string
	// Detail is what the event keeps of the import's row as it moved.
	Detail []DetailKey
}

// KindFrom is the event's kind for a move from from to to.
func (s StatusStep) KindFrom(from, to Status) string {
	if k, ok := s.After[from]; ok {
		return k
	}
	if s.Kind != "" {
		return s.Kind
	}
	return string(to)
}

var (
	endDetail      = []DetailKey{DetailProcessedRows, DetailDeletedRows, DetailSkippedRows, DetailErrorRows, DetailValidRows}
	rejectedDetail = []DetailKey{DetailTotalRows, DetailErrorRows, DetailError}
)

// StatusSteps is the step each state's moves write; a state not listed
// writes its name with no detail.
var StatusSteps = map[Status]StatusStep{
	StatusValidated: {Detail: []DetailKey{DetailTotalRows, DetailValidRows, DetailErrorRows}},
	StatusRejected:  {After: map[Status]string{StatusAwaitingApproval: "approval_rejected"}, Detail: rejectedDetail},
	StatusFailed:    {After: map[Status]string{StatusAwaitingApproval: "approval_rejected"}, Detail: rejectedDetail},
	StatusQueued: {
		After:  map[Status]string{StatusPaused: "resumed", StatusValidated: "started", StatusAwaitingApproval: "approved"},
		Detail: []DetailKey{DetailRunAt, DetailParallelism, DetailValidRows},
	},
	StatusAwaitingApproval:    {Detail: []DetailKey{DetailValidRows, DetailExpiresAt, DetailRunAt}},
	StatusCompleted:           {Detail: endDetail},
	StatusCompletedWithErrors: {Detail: endDetail},
	StatusCancelled:           {Detail: endDetail},
	StatusPaused:              {Detail: endDetail},
}

// The steps an import's row writes besides its moves.
var (
	// UploadedStep is written when an import is created (by its creator);
	// one created in another state than uploaded (a cleanup batch that found
	// nothing) also gets that state's event, by sweep, with CreatedDetail.
	UploadedStep  = StatusStep{Kind: "uploaded", Detail: []DetailKey{DetailSource, DetailPolicy, DetailAutoStart, DetailRunAt}}
	CreatedDetail = []DetailKey{DetailTotalRows}
	// CancelAskedStep is written when a running import is asked to cancel.
	CancelAskedStep = StatusStep{Kind: "cancel_requested", Detail: []DetailKey{DetailProcessedRows, DetailValidRows}}
	// RunChangedStep is written when a run's window or cap changes.
	RunChangedStep = StatusStep{Kind: "run_changed", Detail: []DetailKey{DetailRunWindow, DetailMaxRowsPerSecond}}
)
