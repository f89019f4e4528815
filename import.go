package sweep

import (
	"strconv"
	"strings"
	"time"
)

// Source says how an import entered sweep.
type Source string

// The sources of an import.
const (
	SourceUpload   Source = "upload"   // an operator's CSV file
	SourceAPI      Source = "api"      // a JSON list of ids over HTTP
	SourceUpstream Source = "upstream" // a task enqueued by another service through package jobs
	SourceSchedule Source = "schedule" // a cleanup policy's batch
)

// Sources lists the sources of an import.
var Sources = []Source{SourceUpload, SourceAPI, SourceUpstream, SourceSchedule}

// Policy says what a row error does to the rest of the file.
type Policy string

// The validation policies.
const (
	PolicyLine Policy = "line" // rows with errors are left out, valid rows go ahead
	PolicyFile Policy = "file" // any error rejects the whole file
)

// ParsePolicy accepts "line" or "file" in any letter case; an empty string is the
// default, PolicyLine.
func ParsePolicy(s string) (Policy, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", string(PolicyLine):
		return PolicyLine, nil
	case string(PolicyFile):
		return PolicyFile, nil
	}
	return "", Errorf(EINVALID, "policy must be %q or %q; found %q.", PolicyLine, PolicyFile, s)
}

// Import is one entry of the import history: a file or a list of ids on its way
// through validation and deletion.
type Import struct {
	ID          int64
	TenantID    int64
	Source      Source
	Status      Status
	Policy      Policy
	FileName    string
	FileSize    int64
	FileSHA256  string
	AutoStart   bool
	RunAt       *time.Time
	Parallelism int
	// RunWindow is when the run may delete (zero: any time); MaxRowsPerSecond
	// caps its speed (0: no cap of its own).
	RunWindow        Window
	MaxRowsPerSecond int
	// Hold says why a queued or running import waits, while it does.
	Hold *Hold
	// Approval is the second person's part of a deletion above the tenant's
	// threshold, once it was asked for.
	Approval *Approval
	// CreatedByToken is the id of the API token that created the import (0:
	// sweep itself or an upstream service): it may not approve it.
	CreatedByToken int64

	TotalRows     int64 // data rows in the file
	ValidRows     int64 // rows that passed validation and will be worked
	ErrorRows     int64 // rows rejected by validation
	ProcessedRows int64 // valid rows worked so far
	DeletedRows   int64
	SkippedRows   int64
	RowsPerSecond float64
	// ErasedRows counts the rows the run touched so far, by "schema.table
	// action" (action one of deleted, anonymized, detached), as the erasure
	// plan did them: the customers themselves and every table they reach.
	ErasedRows map[string]int64

	Validations     int // validation rounds started
	CancelRequested bool
	Error           string // why the import was rejected or failed
	CreatedBy       string // the token's name, never the token
	CleanupPolicyID int64  // the cleanup policy whose batch this is (0: none)
	CreatedAt       time.Time
	UpdatedAt       time.Time
	ValidatedAt     *time.Time
	StartedAt       *time.Time
	FinishedAt      *time.Time
}

// StartsByItself reports whether a validated import goes on to run without an
// operator: an upload that asked for auto_start and validated without a single
// row error, or a request from a program (upstream, a cleanup batch that is
// not a dry run), whose valid rows go ahead as policy line says and whose row
// errors are reported.
func (imp *Import) StartsByItself() bool {
	if !imp.AutoStart || imp.Status != StatusValidated {
		return false
	}
	return imp.ErrorRows == 0 || imp.Source == SourceUpstream || imp.Source == SourceSchedule
}

// AwaitsOperator reports whether nothing more happens to the import until a
// person acts: it validated and does not start by itself (StartsByItself), so
// someone must start or cancel it, or it was rejected and must be fixed and
// validated again.
func (imp *Import) AwaitsOperator() bool {
	return imp.Status == StatusRejected || imp.Status == StatusPaused || imp.Status == StatusAwaitingApproval ||
		imp.Status == StatusValidated && !imp.StartsByItself()
}

// Settled reports whether the import will not change by itself, so whoever
// follows it can stop: it ended (Status.Terminal), or it awaits the operator
// (AwaitsOperator).
func (imp *Import) Settled() bool {
	return imp.Status.Settled() || imp.AwaitsOperator()
}

// Actions lists the steps an operator may take on the import in its current
// state, for the API and the web page: validate, start, pause, resume,
// cancel, delete.
func (imp *Import) Actions() []string {
	var out []string
	if CanTransition(imp.Status, StatusValidating) {
		out = append(out, "validate")
	}
	if imp.Status == StatusValidated {
		out = append(out, "start")
	}
	if CanTransition(imp.Status, StatusPaused) {
		out = append(out, "pause")
	}
	if imp.Status == StatusPaused {
		out = append(out, "resume")
	}
	if imp.Status == StatusAwaitingApproval {
		out = append(out, "approve", "reject")
	}
	if CanTransition(imp.Status, StatusCancelled) {
		out = append(out, "cancel")
	}
	if !imp.Status.Active() {
		out = append(out, "delete")
	}
	return out
}

// Viewer is who reads an import through the API: a token's id and scopes.
type Viewer struct {
	TokenID int64
	Scopes  []Scope
}

// ActionsFor lists the steps of Actions that v may take: approve and reject
// need the imports:approve scope and a token other than the one that asked
// for the run or created the import (MayDecide); every other step needs
// imports:write.
func (imp *Import) ActionsFor(v Viewer) []string {
	out := []string{}
	for _, a := range imp.Actions() {
		switch a {
		case "approve", "reject":
			if HasScope(v.Scopes, ScopeImportsApprove) && imp.MayDecide(v.TokenID) {
				out = append(out, a)
			}
		default:
			if HasScope(v.Scopes, ScopeImportsWrite) {
				out = append(out, a)
			}
		}
	}
	return out
}

// MayDecide reports whether the token tokenID may approve or reject the
// import: not the token that asked for its run, nor the one that created it.
func (imp *Import) MayDecide(tokenID int64) bool {
	if a := imp.Approval; a != nil && a.RequestedByToken != 0 && a.RequestedByToken == tokenID {
		return false
	}
	return imp.CreatedByToken == 0 || imp.CreatedByToken != tokenID
}

// RowError is one rejected row of a file: data for the operator, not a Go error.
// Message says what to do, for example
// `customerId must be a whole number such as 1042; found "12a"`.
type RowError struct {
	Line    int64  // physical line number in the file, counting from 1 for the header
	Column  string // the column at fault, as named in the file's header
	Value   string // the offending value, truncated and made safe
	Message string
}

// ParsePathID reads an id written in a URL path (an import's, a customer's, a
// policy's). Paths take one spelling of each id: digits only, no sign, no
// leading zero, no spaces or other characters, at most int64; anything else
// names no resource. (Files are more forgiving: see ParseCustomerID.)
func ParsePathID(s string) (int64, bool) {
	if s == "" || len(s) > 19 || s[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil
}
