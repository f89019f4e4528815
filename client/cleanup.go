package client

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"github.com/sweephq/sweep/wire"
)

func policyPath(id int64, rest string) string {
	return fmt.Sprintf("/v1/cleanup-policies/%d%s", id, rest)
}

// CleanupPolicies lists the tenant's cleanup policies and the menu of kinds
// (an admin token).
func (c *Client) CleanupPolicies(ctx context.Context) (wire.CleanupPolicyList, error) {
	var out wire.CleanupPolicyList
	err := c.do(ctx, "GET", "/v1/cleanup-policies", nil, "", &out)
	return out, err
}

// CleanupPolicy returns one policy.
func (c *Client) CleanupPolicy(ctx context.Context, id int64) (wire.CleanupPolicy, error) {
	var out wire.CleanupPolicy
	err := c.do(ctx, "GET", policyPath(id, ""), nil, "", &out)
	return out, err
}

// CreateCleanupPolicy creates a policy; members left nil take their default.
// One whose batch may delete more customers than the tenant's threshold
// awaits approval by another person (AwaitsApproval).
func (c *Client) CreateCleanupPolicy(ctx context.Context, p wire.PolicyChange) (wire.CleanupPolicy, error) {
	var out wire.CleanupPolicy
	err := c.doJSON(ctx, "POST", "/v1/cleanup-policies", p, &out)
	return out, err
}

// ChangeCleanupPolicy changes the members set in ch and keeps the rest.
func (c *Client) ChangeCleanupPolicy(ctx context.Context, id int64, ch wire.PolicyChange) (wire.CleanupPolicy, error) {
	var out wire.CleanupPolicy
	err := c.doJSON(ctx, "PATCH", policyPath(id, ""), ch, &out)
	return out, err
}

// DeleteCleanupPolicy deletes a policy; its batches stay in the history.
func (c *Client) DeleteCleanupPolicy(ctx context.Context, id int64) error {
	return c.do(ctx, "DELETE", policyPath(id, ""), nil, "", nil)
}

// PreviewCleanupPolicy counts and lists (at most limit; 0: the server's
// default) what the policy would delete if it ran now.
func (c *Client) PreviewCleanupPolicy(ctx context.Context, id int64, limit int) (wire.PolicyPreview, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out wire.PolicyPreview
	err := c.doJSON(ctx, "POST", withQuery(policyPath(id, "/preview"), q), struct{}{}, &out)
	return out, err
}

// RunCleanupPolicyNow makes the policy's batch now, whether or not it is
// enabled, and returns its import.
func (c *Client) RunCleanupPolicyNow(ctx context.Context, id int64) (wire.Import, error) {
	var out wire.Import
	err := c.doJSON(ctx, "POST", policyPath(id, "/run-now"), struct{}{}, &out)
	return out, err
}

// ApproveCleanupPolicy approves a policy's selection and batch size, as
// read (its max batch and revision); another token than the one that asked
// (imports:approve).
func (c *Client) ApproveCleanupPolicy(ctx context.Context, id int64, confirmMaxBatch, revision int64) (wire.CleanupPolicy, error) {
	var out wire.CleanupPolicy
	err := c.doJSON(ctx, "POST", policyPath(id, "/approve"), wire.PolicyApproval{ConfirmMaxBatch: &confirmMaxBatch, Revision: &revision}, &out)
	return out, err
}
