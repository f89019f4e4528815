package wire

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/sweephq/sweep"
)

// CleanupPolicy is how the API shows a cleanup policy.
type CleanupPolicy struct {
	ID          int64               `json:"id"`
	Name        string              `json:"name"`
	Kind        sweep.CleanupKind   `json:"kind"`
	Params      sweep.CleanupParams `json:"params"`
	Description string              `json:"description"`
	CronSpec    string              `json:"cron_spec"`
	MaxBatch    int                 `json:"max_batch"`
	Enabled     bool                `json:"enabled"`
	DryRun      bool                `json:"dry_run"`
	RunWindow   string              `json:"run_window,omitempty"`
	// AwaitsApproval: it makes no batch until another person approves its
	// selection and batch size (see Approval).
	AwaitsApproval bool      `json:"awaits_approval"`
	Approval       *Approval `json:"approval,omitempty"`
	// Revision counts the changes of what it selects and how much; an
	// approval names the revision it approves.
	Revision     int64      `json:"revision"`
	NextRunAt    *time.Time `json:"next_run_at,omitempty"`
	LastRunAt    *time.Time `json:"last_run_at,omitempty"`
	LastImportID *int64     `json:"last_import_id,omitempty"`
	LastFound    *int64     `json:"last_found,omitempty"`
	// LastDrop is the last claimed run that made no batch, and why.
	LastDrop  *CleanupDrop      `json:"last_drop,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
	Links     map[string]string `json:"links"`
}

// CleanupDrop is a run of a policy that made no batch.
type CleanupDrop struct {
	At     time.Time `json:"at"`
	Reason string    `json:"reason"`
}

// FromCleanupPolicy returns the wire format of p.
func FromCleanupPolicy(p sweep.CleanupPolicy) CleanupPolicy {
	self := fmt.Sprintf("/v1/cleanup-policies/%d", p.ID)
	var drop *CleanupDrop
	if p.LastDrop != nil {
		drop = &CleanupDrop{At: p.LastDrop.At.UTC(), Reason: p.LastDrop.Reason}
	}
	return CleanupPolicy{LastDrop: drop,
		ID: p.ID, Name: p.Name, Kind: p.Kind, Params: p.Params, Description: p.Describe(), CronSpec: p.CronSpec,
		AwaitsApproval: p.AwaitsApproval, Approval: FromApproval(p.Approval), Revision: p.Revision,
		MaxBatch: p.MaxBatch, Enabled: p.Enabled, DryRun: p.DryRun, RunWindow: p.RunWindow.String(), NextRunAt: p.NextRunAt, LastRunAt: p.LastRunAt,
		LastImportID: p.LastImportID, LastFound: p.LastFound, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
		Links: map[string]string{
			"self": self, "preview": self + "/preview", "run_now": self + "/run-now",
			"batches": fmt.Sprintf("/v1/imports?cleanup_policy_id=%d", p.ID),
		},
	}
}

// CleanupPolicyList is GET /v1/cleanup-policies: the tenant's policies and
// the menu of kinds.
type CleanupPolicyList struct {
	Policies []CleanupPolicy     `json:"cleanup_policies"`
	Kinds    []sweep.CleanupKind `json:"kinds"`
}

// PolicyChange creates a policy (POST) or changes one (PATCH): members left
// nil keep their value, or take the default on create. Params is read
// strictly (a misspelt parameter is refused, never taken as 0); ParamsOf
// writes it.
type PolicyChange struct {
	Name     *string            `json:"name,omitempty"`
	Kind     *sweep.CleanupKind `json:"kind,omitempty"`
	Params   *json.RawMessage   `json:"params,omitempty"`
	CronSpec *string            `json:"cron_spec,omitempty"`
	MaxBatch *int               `json:"max_batch,omitempty"`
	Enabled  *bool              `json:"enabled,omitempty"`
	DryRun   *bool              `json:"dry_run,omitempty"`
	// RunWindow is when the policy's batches may delete; "" removes it
	// (any time).
	RunWindow *string `json:"run_window,omitempty"`
}

// ParamsOf is PolicyChange.Params for p.
func ParamsOf(p sweep.CleanupParams) *json.RawMessage {
	b, _ := json.Marshal(p)
	raw := json.RawMessage(b)
	return &raw
}

// PolicyPreview is what a policy would delete if it ran now.
type PolicyPreview struct {
	Policy      CleanupPolicy `json:"policy"`
	Count       int64         `json:"count"`
	CustomerIDs []int64       `json:"customer_ids"`
	// CustomerKeys lists them by key instead where the platform's customer
	// key is a uuid or text.
	CustomerKeys []string `json:"customer_keys,omitempty"`
	Truncated    bool     `json:"truncated"`
}

// PolicyApproval approves a policy's selection and batch size: the batch
// size and revision as the approver read them.
type PolicyApproval struct {
	ConfirmMaxBatch *int64 `json:"confirm_max_batch"`
	Revision        *int64 `json:"revision"`
}
