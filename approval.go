package sweep

import "time"

// DefaultApprovalThreshold is how many customers one import may delete
// without a second person's approval, unless the tenant sets its own: the
// demo's 2,000 need none, a million do.
const DefaultApprovalThreshold = 100_000

// DefaultApprovalTTL is how long an approval request waits before it expires.
const DefaultApprovalTTL = 7 * 24 * time.Hour

// ApprovalThresholdOption reads a threshold given as an option where 0
// means DefaultApprovalThreshold (the zero value of a config struct) and
// below 0 never ask, and returns it as NeedsApproval takes it.
func ApprovalThresholdOption(n int64) int64 {
	if n == 0 {
		return DefaultApprovalThreshold
	}
	return max(n, 0)
}

// NeedsApproval reports whether an import deleting rows customers needs a
// second person under threshold (0 or less: never).
func NeedsApproval(rows, threshold int64) bool {
	return threshold > 0 && rows > threshold
}

// Approval is the four-eyes part of an import: who asked to run it and
// until when the request stands, and who approved it.
type Approval struct {
	RequestedBy      string
	RequestedByToken int64 // the token that asked; it may not approve
	RequestedAt      time.Time
	ExpiresAt        time.Time
	ApprovedBy       string
	ApprovedAt       *time.Time
}

// ApprovalStep is an approver's decision.
type ApprovalStep struct {
	By      string // the approver's token name
	ByToken int64  // the approver's token id
	// Confirm is the number of customers the approver typed: it must be the
	// import's, so nobody approves a deletion without reading its size.
	Confirm int64
	Reason  string // a rejection's reason, required
	// Revision is the revision of a cleanup policy the approver read.
	Revision int64
}

// Requester names who asks for a step of an import: a token's name and id
// (both empty for sweep itself or an upstream service).
type Requester struct {
	Name    string
	TokenID int64
}
