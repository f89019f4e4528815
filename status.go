package sweep

import "slices"

// Status is the state of an import. The table below is the whole state
// machine: every change of state is a named operation of store/lifecycle.go,
// applied with "WHERE status = $expected" (two workers never both move the
// same import), and the database itself refuses an edge the table lacks.
type Status string

// The import states, in the order an import normally passes through them.
const (
	StatusUploaded            Status = "uploaded"
	StatusValidating          Status = "validating"
	StatusValidated           Status = "validated"
	StatusAwaitingApproval    Status = "awaiting_approval"
	StatusQueued              Status = "queued"
	StatusRunning             Status = "running"
	StatusPaused              Status = "paused"
	StatusCompleted           Status = "completed"
	StatusCompletedWithErrors Status = "completed_with_errors"
	StatusRejected            Status = "rejected"
	StatusCancelled           Status = "cancelled"
	StatusFailed              Status = "failed"
)

// Statuses lists every state, for validation, metrics and documentation.
var Statuses = []Status{
	StatusUploaded, StatusValidating, StatusValidated, StatusAwaitingApproval, StatusQueued, StatusRunning, StatusPaused,
	StatusCompleted, StatusCompletedWithErrors, StatusRejected, StatusCancelled, StatusFailed,
}

// transitions is the whole state machine: from a state, the states it may move to.
var transitions = map[Status][]Status{
	StatusUploaded:   {StatusValidating, StatusCancelled},
	StatusValidating: {StatusValidated, StatusRejected, StatusCancelled, StatusFailed},
	StatusValidated:  {StatusQueued, StatusAwaitingApproval, StatusCancelled},
	// A deletion above the tenant's threshold waits for a second person:
	// approved it is queued as asked; rejected (or expired) it ends rejected.
	StatusAwaitingApproval: {StatusQueued, StatusRejected, StatusCancelled},
	StatusRejected:         {StatusValidating},
	StatusQueued:           {StatusRunning, StatusPaused, StatusCancelled, StatusFailed},
	StatusRunning:          {StatusCompleted, StatusCompletedWithErrors, StatusPaused, StatusCancelled, StatusFailed},
	// A paused import holds no worker; resuming queues it again, and its run
	// goes on with the blocks not yet done.
	StatusPaused: {StatusQueued, StatusCancelled},
}

// CanTransition reports whether an import in state from may move to state to.
func CanTransition(from, to Status) bool {
	return slices.Contains(transitions[from], to)
}

// Next returns the states reachable from s in one step.
func (s Status) Next() []Status {
	return slices.Clone(transitions[s])
}

// Valid reports whether s is one of the known states.
func (s Status) Valid() bool {
	return slices.Contains(Statuses, s)
}

// Terminal reports whether no further transition is possible from s.
func (s Status) Terminal() bool {
	return s.Valid() && len(transitions[s]) == 0
}

// Settled reports whether an import in state s will not change by itself: it
// has ended (Terminal), or it was rejected and waits for a person to fix the
// file or the data and validate it again. Import.Settled adds the validated
// import that waits for its operator.
func (s Status) Settled() bool {
	return s.Terminal() || s == StatusRejected
}

// HasRun reports whether an import in state s has a deletion run to show, its
// progress and each row's outcome: queued, running, completed,
// completed_with_errors, or cancelled (which shows how far it got, if
// anywhere).
func (s Status) HasRun() bool {
	switch s {
	case StatusQueued, StatusRunning, StatusPaused, StatusCompleted, StatusCompletedWithErrors, StatusCancelled:
		return true
	}
	return false
}

// Active reports whether a worker may be working on an import in state s, or
// may again once it is resumed, which is when it must not be deleted.
func (s Status) Active() bool {
	return s == StatusQueued || s == StatusRunning || s == StatusPaused
}

// Transition returns nil when from may move to to, and otherwise an ECONFLICT
// error that names the current state, which the API answers with 409.
func Transition(from, to Status) error {
	if CanTransition(from, to) {
		return nil
	}
	return Errorf(ECONFLICT, "The import is %s; it cannot become %s from that state.", from, to)
}
