package sweep

import (
	"fmt"
	"strings"
	"time"
)

// DefaultApprovalThreshold is how many customers one import may delete
// without a second person's approval, unless the tenant sets its own: the
// demo's 2,000 need none, a million do.
const DefaultApprovalThreshold = 100_000

// DefaultApprovalTTL is how long an approval request waits before it expires.
const DefaultApprovalTTL = 7 * 24 * time.Hour

// ApprovalWindow is the period of a tenant's rolling limit: what one person
// may delete without a second person's approval within it.
const ApprovalWindow = 24 * time.Hour

// ApprovalLimits are what a tenant lets one person delete without a second
// person's approval: at most Threshold customers in one request, and at most
// Daily in all within ApprovalWindow, so files or batches each under the
// threshold cannot add up to any total. 0 (or less) means no limit.
type ApprovalLimits struct {
	Threshold int64
	Daily     int64
}

// Why says why a request deleting rows customers needs a second person's
// approval when recent customers were deleted (or are queued to be) without
// one within ApprovalWindow; "" when it needs none.
func (l ApprovalLimits) Why(rows, recent int64) string {
	switch {
	case NeedsApproval(rows, l.Threshold):
		return fmt.Sprintf("it deletes %d customers, more than the tenant's approval threshold of %d", rows, l.Threshold)
	case l.Daily > 0 && rows > 0 && recent+rows > l.Daily:
		return fmt.Sprintf("%d customers were deleted or queued without approval in the last 24 hours, and with this request's %d that would be %d, more than the tenant's limit of %d a day without a second person",
			recent, rows, recent+rows, l.Daily)
	}
	return ""
}

// NeedsApproval reports whether an import deleting rows customers needs a
// second person under threshold (0 or less: never).
func NeedsApproval(rows, threshold int64) bool {
	return threshold > 0 && rows > threshold
}

// Approval is the four-eyes part of an import: who asked to run it and
// until when the request stands, and who approved it, each by token name
// and token id.
type Approval struct {
	RequestedBy      string
	RequestedByToken int64 // the token that asked; it may not approve
	RequestedAt      time.Time
	ExpiresAt        time.Time
	ApprovedBy       string
	ApprovedByToken  int64 // the token that approved (0: not approved yet)
	// Reason is why a second person must approve: more customers than the
	// threshold, or past the rolling limit, naming the total.
	Reason     string
	ApprovedAt *time.Time
}

// Who is a token's name with its id, as a requester or an approver is
// written for people to read: "ops (token 3)"; the name alone without an id
// (sweep itself, an upstream service).
func Who(name string, token int64) string {
	if token == 0 {
		return name
	}
	return fmt.Sprintf("%s (token %d)", name, token)
}

// SameTokenName reports whether two token names read as one person's: equal
// ignoring letter case, surrounding spaces, which spaces and how many
// separate words, and characters that are not shown (such as a zero-width
// space), which names stored before CheckTokenName refused them may hold.
// An empty name (sweep itself, an upstream service) is nobody's and matches
// nothing.
func SameTokenName(a, b string) bool {
	a = readTokenName(a)
	return a != "" && strings.EqualFold(a, readTokenName(b))
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
