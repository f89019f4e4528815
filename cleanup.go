package sweep

import (
	"fmt"
	"strings"
	"time"
)

// CleanupKind is one entry of the fixed menu of cleanup policies. There is no
// free-form condition: each kind is a query sweep owns.
type CleanupKind string

// The cleanup policy menu.
const (
	// CleanupInactive: customers with no activity for Params.Days days.
	CleanupInactive CleanupKind = "inactive"
	// CleanupCreatedBy: customers created by import Params.ImportID, or whose
	// source is Params.Source.
	CleanupCreatedBy CleanupKind = "created_by"
	// CleanupErasureRequested: customers flagged for erasure (a
	// right-to-be-forgotten request), at least Params.Days days ago (0: any).
	CleanupErasureRequested CleanupKind = "erasure_requested"
)

// CleanupKinds lists the menu in the order the API documents it.
var CleanupKinds = []CleanupKind{CleanupInactive, CleanupCreatedBy, CleanupErasureRequested}

// MaxCleanupBatch is the largest batch a policy may ask for.
const MaxCleanupBatch = 1_000_000

// MaxCleanupDays bounds params.days: 100 years is beyond any retention period,
// and a larger count would overflow the date arithmetic of every preview and run.
const MaxCleanupDays = 36_500

// MinCleanupPeriod is the shortest time between two runs of a policy: a
// retention policy runs at most hourly, so a schedule that fires more often (a
// batch every few seconds) is refused.
const MinCleanupPeriod = time.Hour

// CleanupParams are the parameters of a policy's kind.
type CleanupParams struct {
	Days     int    `json:"days,omitempty"`
	ImportID int64  `json:"import_id,omitempty"`
	Source   string `json:"source,omitempty"`
}

// CleanupPolicy deletes, on a schedule, the customers its kind selects that
// no loan links, at most MaxBatch per run. A dry-run policy only prepares its
// batch for review: the import is validated but never started by itself.
type CleanupPolicy struct {
	ID        int64
	TenantID  int64
	Name      string
	Kind      CleanupKind
	Params    CleanupParams
	CronSpec  string // five fields or @daily and friends, in UTC unless it starts with CRON_TZ=Area/City
	MaxBatch  int
	Enabled   bool
	DryRun    bool
	RunWindow Window // when its batches may delete (zero: any time)
	// AwaitsApproval: its batch may delete more customers than the tenant's
	// threshold and no second person has approved its selection and batch
	// size yet, so it makes no batch. Approval says who asked and who
	// approved (nil: never asked).
	AwaitsApproval bool
	Approval       *Approval
	// Revision counts the changes of what it selects or how much (kind,
	// params, max_batch); an approval names the revision it approves.
	Revision     int64
	LastRunAt    *time.Time
	NextRunAt    *time.Time
	LastImportID *int64
	LastFound    *int64 // customers the last batch found
	LastDrop     *CleanupDrop
	// SelectedBy is who created the policy or last changed what it selects
	// or how much: the requester of its scheduled batches, who may not
	// approve them.
	SelectedBy Requester
	// ApprovedRevision is the revision a second person approved (0: none);
	// only batches of that revision run under the approval.
	ApprovedRevision int64
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// CleanupDrop is a run of a policy that made no batch: the selection or batch
// size it was claimed for changed, or the policy was disabled or awaits
// approval, by the time a worker took it. Reason says which, for the operator.
type CleanupDrop struct {
	At     time.Time
	Reason string
}

// Check validates everything but the cron spec (which the store parses) and
// says what to fix.
func (p *CleanupPolicy) Check() error {
	var problems []string
	if strings.TrimSpace(p.Name) == "" {
		problems = append(problems, "name is required, e.g. \"nightly inactive customers\"")
	} else if len(p.Name) > 200 {
		problems = append(problems, "name must be at most 200 characters")
	} else if strings.ContainsFunc(p.Name, isControl) {
		problems = append(problems, "name must not contain control characters (such as tabs, line breaks or ESC)")
	}
	if p.MaxBatch < 1 || p.MaxBatch > MaxCleanupBatch {
		problems = append(problems, fmt.Sprintf("max_batch must be between 1 and %d; found %d", MaxCleanupBatch, p.MaxBatch))
	}
	if strings.TrimSpace(p.CronSpec) == "" {
		problems = append(problems, "cron_spec is required, e.g. \"0 2 * * *\" for every night at 02:00 UTC")
	}
	switch p.Kind {
	case CleanupInactive:
		if p.Params.Days < 1 || p.Params.Days > MaxCleanupDays {
			problems = append(problems, fmt.Sprintf("kind inactive needs params.days between 1 and %d (100 years), the days without activity, e.g. {\"days\": 730}; found %d", MaxCleanupDays, p.Params.Days))
		}
		if p.Params.ImportID != 0 || p.Params.Source != "" {
			problems = append(problems, "kind inactive takes only params.days")
		}
	case CleanupCreatedBy:
		if (p.Params.ImportID > 0) == (p.Params.Source != "") {
			problems = append(problems, "kind created_by needs exactly one of params.import_id (customers created by that import) or params.source (customers whose source is that text)")
		}
		if p.Params.ImportID < 0 || p.Params.Days != 0 {
			problems = append(problems, "kind created_by takes only a positive params.import_id or params.source")
		}
	case CleanupErasureRequested:
		if p.Params.ImportID != 0 || p.Params.Source != "" {
			problems = append(problems, "kind erasure_requested takes only params.days, a grace period in days")
		}
		if p.Params.Days < 0 || p.Params.Days > MaxCleanupDays {
			problems = append(problems, fmt.Sprintf("kind erasure_requested takes params.days between 0 and %d (100 years), a grace period in days, e.g. {\"days\": 30}; found %d", MaxCleanupDays, p.Params.Days))
		}
	default:
		problems = append(problems, fmt.Sprintf("kind must be one of %s; found %q", joinKinds(), p.Kind))
	}
	if len(problems) > 0 {
		return Errorf(EINVALID, "The cleanup policy is not valid: %s.", strings.Join(problems, "; "))
	}
	return nil
}

func joinKinds() string {
	s := make([]string, len(CleanupKinds))
	for i, k := range CleanupKinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// Describe says in words which customers the policy selects.
func (p *CleanupPolicy) Describe() string {
	var what string
	switch p.Kind {
	case CleanupInactive:
		what = fmt.Sprintf("customers with no activity for %d days", p.Params.Days)
	case CleanupCreatedBy:
		if p.Params.ImportID > 0 {
			what = fmt.Sprintf("customers created by import %d", p.Params.ImportID)
		} else {
			what = fmt.Sprintf("customers whose source is %q", p.Params.Source)
		}
	case CleanupErasureRequested:
		what = "customers flagged for erasure"
		if p.Params.Days > 0 {
			what += fmt.Sprintf(" at least %d days ago", p.Params.Days)
		}
	default:
		return string(p.Kind)
	}
	return what + fmt.Sprintf(" and linked to no loan, at most %d per run", p.MaxBatch)
}
