package wire

import (
	"time"

	"github.com/sweephq/sweep"
)

// Throttle is what holds a tenant's runs now (GET /v1/throttle): the manual
// holds over them and the last reading of every platform signal switched on.
// Held is true when any of them holds.
type Throttle struct {
	Held             bool         `json:"held"`
	ManualHolds      []ManualHold `json:"manual_holds"`
	Signals          []Signal     `json:"signals"`
	MaxRowsPerSecond int          `json:"max_rows_per_second,omitempty"` // the cap all runs share (0: none)
}

// ManualHold holds every run of the tenant, or of every tenant (AllTenants:
// set from the command line by whoever runs the platform).
type ManualHold struct {
	AllTenants bool      `json:"all_tenants"`
	Reason     string    `json:"reason"`
	HeldBy     string    `json:"held_by"`
	Since      time.Time `json:"since"`
	Message    string    `json:"message"`
}

// Signal is the last reading of one of the platform's signals.
type Signal struct {
	Signal  sweep.HoldReason `json:"signal"`
	Holding bool             `json:"holding"`
	Message string           `json:"message"`
	ReadAt  time.Time        `json:"read_at"`
}

// RunChange changes an import's run while it has not ended (PATCH
// /v1/imports/{id}). A nil field is left as it is; an empty window or a cap
// of 0 removes it.
type RunChange struct {
	RunWindow        *string `json:"run_window,omitempty"`
	MaxRowsPerSecond *int    `json:"max_rows_per_second,omitempty"`
}
