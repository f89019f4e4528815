package client

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
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

// ChangeRun sets the run window or the speed cap of an import; a running
// import follows them within seconds.
func (c *Client) ChangeRun(ctx context.Context, id int64, ch RunChange) (Import, error) {
	b, err := json.Marshal(ch)
	if err != nil {
		return Import{}, err
	}
	var imp Import
	err = c.do(ctx, http.MethodPatch, importPath(id, ""), bytes.NewReader(b), "application/json", &imp)
	return imp, err
}

// Throttle reads what holds the tenant's runs now.
func (c *Client) Throttle(ctx context.Context) (Throttle, error) {
	var t Throttle
	err := c.do(ctx, http.MethodGet, "/v1/throttle", nil, "", &t)
	return t, err
}

// HoldRuns holds every run of the tenant after its chunk in flight, until
// ReleaseRuns (admin scope).
func (c *Client) HoldRuns(ctx context.Context, reason string) (Throttle, error) {
	b, err := json.Marshal(struct {
		Reason string `json:"reason"`
	}{reason})
	if err != nil {
		return Throttle{}, err
	}
	var t Throttle
	err = c.do(ctx, http.MethodPut, "/v1/throttle/hold", bytes.NewReader(b), "application/json", &t)
	return t, err
}

// ReleaseRuns ends the tenant's manual hold (admin scope).
func (c *Client) ReleaseRuns(ctx context.Context) (Throttle, error) {
	var t Throttle
	err := c.do(ctx, http.MethodDelete, "/v1/throttle/hold", nil, "", &t)
	return t, err
}
