package wire

import (
	"fmt"
	"math"
	"time"

	"github.com/sweephq/sweep"
)

// Import is the wire format of an import: how the API shows it, how the
// workers publish its status to Redis (jobs.Client.Status), and what the Go
// client (package client) returns. FromImport makes it from a sweep.Import.
//
// Settled, AwaitsOperator, StartsByItself and HasRun carry the domain's
// predicates (sweep.Import.Settled and friends), so a reader of the JSON, the
// Import screen's script included, never decides them from the status itself.
type Import struct {
	ID          int64        `json:"id"`
	Status      sweep.Status `json:"status"`
	Source      sweep.Source `json:"source"`
	Policy      sweep.Policy `json:"policy"`
	FileName    string       `json:"file_name"`
	FileSize    int64        `json:"file_size"`
	FileSHA256  string       `json:"file_sha256"`
	AutoStart   bool         `json:"auto_start"`
	RunAt       *time.Time   `json:"run_at,omitempty"`
	Parallelism int          `json:"parallelism"`
	// RunWindow is when the run may delete ("Mon-Fri 22:00-06:00
	// America/Denver"; empty: any time); MaxRowsPerSecond its own speed cap
	// (0: none).
	RunWindow        string `json:"run_window,omitempty"`
	MaxRowsPerSecond int    `json:"max_rows_per_second,omitempty"`
	// Hold says why a queued or running import waits now, while it does;
	// Holds (GET /v1/imports/{id} only) are its recent holds, newest first.
	Hold  *Hold  `json:"hold,omitempty"`
	Holds []Hold `json:"holds,omitempty"`
	// Approval is the four-eyes part of a deletion above the tenant's
	// threshold, once asked for.
	Approval      *Approval `json:"approval,omitempty"`
	CancelAsked   bool      `json:"cancel_requested,omitempty"`
	RowsLeft      int64     `json:"rows_left"`
	TotalRows     int64     `json:"total_rows"`
	ValidRows     int64     `json:"valid_rows"`
	ErrorRows     int64     `json:"error_rows"`
	ProcessedRows int64     `json:"processed_rows"`
	DeletedRows   int64     `json:"deleted_rows"`
	SkippedRows   int64     `json:"skipped_rows"`
	// ErasedRows counts the rows the run touched so far, by "schema.table
	// action" (deleted, anonymized, detached), as the erasure plan did them.
	ErasedRows    map[string]int64 `json:"erased_rows"`
	Percent       float64          `json:"percent"`
	RowsPerSecond float64          `json:"rows_per_second"`
	ETASeconds    *int64           `json:"eta_seconds,omitempty"`
	Error         string           `json:"error,omitempty"`
	CreatedBy     string           `json:"created_by"`
	// CreatedByToken is the id of the token that created the import (0:
	// sweep or an upstream service); it may not approve the import either.
	CreatedByToken int64      `json:"created_by_token_id,omitempty"`
	CleanupPolicy  int64      `json:"cleanup_policy_id,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	ValidatedAt    *time.Time `json:"validated_at,omitempty"`
	StartedAt      *time.Time `json:"started_at,omitempty"`
	FinishedAt     *time.Time `json:"finished_at,omitempty"`
	// Settled: the import will not change by itself (sweep.Import.Settled);
	// whoever follows it can stop.
	Settled bool `json:"settled"`
	// AwaitsOperator: nothing more happens until a person starts, cancels or
	// fixes it (sweep.Import.AwaitsOperator).
	AwaitsOperator bool `json:"awaits_operator"`
	// StartsByItself: validated, and it goes on to run without an operator
	// (sweep.Import.StartsByItself).
	StartsByItself bool `json:"starts_by_itself"`
	// HasRun: the import has a deletion run to show, progress and results
	// (sweep.Status.HasRun).
	HasRun bool `json:"has_run"`
	// Actions are the steps the import's state allows (sweep.Import.Actions)
	// as the Redis status and webhooks show it; the API's answers narrow them
	// to what the calling token may do (FromImportFor), so a requester is
	// never offered approve or reject.
	Actions []string `json:"actions"`
	Links   Links    `json:"links"`
}

// Hold is why a run waits: its reason (sweep.HoldReason), the reading in
// words, and Text, the whole sentence an operator reads ("replica lag 3.4 s
// above 2 s since 14:02:10 UTC").
type Hold struct {
	Reason  sweep.HoldReason `json:"reason"`
	Message string           `json:"message"`
	Text    string           `json:"text"`
	Since   time.Time        `json:"since"`
	Until   *time.Time       `json:"until,omitempty"` // when it ends, when known (a window's opening)
	Ended   *time.Time       `json:"ended,omitempty"` // in Holds: when the run went on
}

// Approval says who asked for an import's run and until when the request
// stands, and who approved it: each by token name and token id, since a
// name alone does not tell two people apart.
type Approval struct {
	RequestedBy string `json:"requested_by"`
	// RequestedByToken is the id of the token that asked: it may not decide.
	RequestedByToken int64     `json:"requested_by_token_id,omitempty"`
	RequestedAt      time.Time `json:"requested_at"`
	ExpiresAt        time.Time `json:"expires_at,omitzero"`
	ApprovedBy       string    `json:"approved_by,omitempty"`
	// ApprovedByToken is the id of the token that approved.
	ApprovedByToken int64      `json:"approved_by_token_id,omitempty"`
	ApprovedAt      *time.Time `json:"approved_at,omitempty"`
	// Reason is why a second person must approve: more customers than the
	// tenant's threshold, or past its rolling limit, naming the total.
	Reason string `json:"reason,omitempty"`
}

// FromApproval returns the wire format of a (nil for nil).
func FromApproval(a *sweep.Approval) *Approval {
	if a == nil {
		return nil
	}
	return &Approval{RequestedBy: a.RequestedBy, RequestedByToken: a.RequestedByToken, RequestedAt: a.RequestedAt, ExpiresAt: a.ExpiresAt,
		ApprovedBy: a.ApprovedBy, ApprovedByToken: a.ApprovedByToken, ApprovedAt: a.ApprovedAt, Reason: a.Reason}
}

// FromHold returns the wire format of h.
func FromHold(h sweep.Hold) Hold {
	return Hold{Reason: h.Reason, Message: h.Message, Text: h.Text(), Since: h.Since, Until: h.Until, Ended: h.Ended}
}

// Links are the paths of an import's resources, relative to the API's base.
type Links struct {
	Self    string `json:"self"`
	Errors  string `json:"errors"`
	Failed  string `json:"failed_rows_csv"`
	Results string `json:"results_csv"`
}

// FromImport returns the wire format of imp.
func FromImport(imp sweep.Import) Import {
	j := Import{
		ID: imp.ID, Status: imp.Status, Source: imp.Source, Policy: imp.Policy,
		FileName: imp.FileName, FileSize: imp.FileSize, FileSHA256: imp.FileSHA256,
		AutoStart: imp.AutoStart, RunAt: imp.RunAt, Parallelism: imp.Parallelism, CancelAsked: imp.CancelRequested,
		RowsLeft:  imp.ValidRows - imp.ProcessedRows,
		TotalRows: imp.TotalRows, ValidRows: imp.ValidRows, ErrorRows: imp.ErrorRows,
		ProcessedRows: imp.ProcessedRows, DeletedRows: imp.DeletedRows, SkippedRows: imp.SkippedRows,
		ErasedRows: imp.ErasedRows, RowsPerSecond: math.Round(imp.RowsPerSecond), Error: imp.Error, CreatedBy: imp.CreatedBy,
		CleanupPolicy: imp.CleanupPolicyID, CreatedAt: imp.CreatedAt, UpdatedAt: imp.UpdatedAt, ValidatedAt: imp.ValidatedAt,
		StartedAt: imp.StartedAt, FinishedAt: imp.FinishedAt,
		Settled: imp.Settled(), AwaitsOperator: imp.AwaitsOperator(), StartsByItself: imp.StartsByItself(),
		HasRun: imp.Status.HasRun(), Actions: imp.Actions(),
		RunWindow: imp.RunWindow.String(), MaxRowsPerSecond: imp.MaxRowsPerSecond, CreatedByToken: imp.CreatedByToken,
	}
	if imp.Hold != nil {
		h := FromHold(*imp.Hold)
		j.Hold = &h
	}
	if j.ErasedRows == nil {
		j.ErasedRows = map[string]int64{}
	}
	j.Approval = FromApproval(imp.Approval)
	if imp.ValidRows > 0 {
		j.Percent = math.Round(1000*float64(imp.ProcessedRows)/float64(imp.ValidRows)) / 10
	}
	if imp.Status == sweep.StatusRunning && imp.RowsPerSecond > 0 {
		eta := int64(math.Ceil(float64(imp.ValidRows-imp.ProcessedRows) / imp.RowsPerSecond))
		j.ETASeconds = &eta
	}
	self := fmt.Sprintf("/v1/imports/%d", imp.ID)
	j.Links = Links{Self: self, Errors: self + "/errors", Failed: self + "/errors?format=csv", Results: self + "/results"}
	return j
}

// FromImportFor returns the wire format of imp as the API shows it to v:
// Actions lists only the steps v may take (sweep.Import.ActionsFor).
func FromImportFor(imp sweep.Import, v sweep.Viewer) Import {
	j := FromImport(imp)
	j.Actions = imp.ActionsFor(v)
	return j
}

// ImportList is a page of the import history (GET /v1/imports), newest first;
// Next is the path of the following page, empty on the last.
type ImportList struct {
	Imports []Import `json:"imports"`
	// HasMore says another page follows; Next is its link (with the same
	// filters), set only then.
	HasMore bool   `json:"has_more"`
	Next    string `json:"next,omitempty"`
}

// RowError is one row error of an import as the API shows it.
type RowError struct {
	Line    int64  `json:"line"`
	Code    string `json:"code"`
	Column  string `json:"column"`
	Value   string `json:"value"`
	Message string `json:"message"`
}

// ErrorsPage is a page of an import's row errors (GET /v1/imports/{id}/errors).
// FileError is why a rejected import was rejected; Next is the path of the
// following page, empty on the last.
type ErrorsPage struct {
	ImportID  int64      `json:"import_id"`
	Total     int64      `json:"total"`
	FileError string     `json:"file_error,omitempty"`
	Errors    []RowError `json:"errors"`
	Next      string     `json:"next,omitempty"`
}

// Me is who a token is (GET /v1/me).
type Me struct {
	TenantID  int64    `json:"tenant_id"`
	TokenID   int64    `json:"token_id"`
	TokenName string   `json:"token_name"`
	Scopes    []string `json:"scopes"`
}

// ErrorBody is the JSON of every error answer:
// {"error":{"code":"not_found","message":"..."}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the member "error" of an ErrorBody: a sweep error code and a
// message that says what to do.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Param names the request's parameter at fault (a query parameter, a
	// form field, "id" for a path's id), when there is one.
	Param string `json:"param,omitempty"`
	// RequestID is the request's id (its X-Request-Id answer header): the
	// caller's, or one of sweep's; the server's log lines of the request
	// carry it too.
	RequestID string `json:"request_id,omitempty"`
}
