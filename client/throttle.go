package client

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"github.com/sweephq/sweep/wire"
)

// ChangeRun sets the run window or the speed cap of an import; a running
// import follows them within seconds.
func (c *Client) ChangeRun(ctx context.Context, id int64, ch wire.RunChange) (wire.Import, error) {
	b, err := json.Marshal(ch)
	if err != nil {
		return wire.Import{}, err
	}
	var imp wire.Import
	err = c.do(ctx, http.MethodPatch, importPath(id, ""), bytes.NewReader(b), "application/json", &imp)
	return imp, err
}

// wire.Throttle reads what holds the tenant's runs now.
func (c *Client) Throttle(ctx context.Context) (wire.Throttle, error) {
	var t wire.Throttle
	err := c.do(ctx, http.MethodGet, "/v1/throttle", nil, "", &t)
	return t, err
}

// HoldRuns holds every run of the tenant after its chunk in flight, until
// ReleaseRuns (admin scope).
func (c *Client) HoldRuns(ctx context.Context, reason string) (wire.Throttle, error) {
	b, err := json.Marshal(struct {
		Reason string `json:"reason"`
	}{reason})
	if err != nil {
		return wire.Throttle{}, err
	}
	var t wire.Throttle
	err = c.do(ctx, http.MethodPut, "/v1/throttle/hold", bytes.NewReader(b), "application/json", &t)
	return t, err
}

// ReleaseRuns ends the tenant's manual hold (admin scope).
func (c *Client) ReleaseRuns(ctx context.Context) (wire.Throttle, error) {
	var t wire.Throttle
	err := c.do(ctx, http.MethodDelete, "/v1/throttle/hold", nil, "", &t)
	return t, err
}
