package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/wire"
)

// Webhooks lists the tenant's webhook endpoints.
func (c *Client) Webhooks(ctx context.Context) (wire.WebhookList, error) {
	var out wire.WebhookList
	err := c.do(ctx, http.MethodGet, "/v1/webhooks", nil, "", &out)
	return out, err
}

// wire.Webhook reads one endpoint.
func (c *Client) Webhook(ctx context.Context, id int64) (wire.Webhook, error) {
	var out wire.Webhook
	err := c.do(ctx, http.MethodGet, webhookPath(id, ""), nil, "", &out)
	return out, err
}

// CreateWebhook subscribes an endpoint; the answer carries its secret, the
// only time it is shown.
func (c *Client) CreateWebhook(ctx context.Context, w wire.NewWebhook) (wire.Webhook, error) {
	var out wire.Webhook
	err := c.doJSON(ctx, http.MethodPost, "/v1/webhooks", w, &out)
	return out, err
}

// ChangeWebhook changes an endpoint.
func (c *Client) ChangeWebhook(ctx context.Context, id int64, ch wire.WebhookChange) (wire.Webhook, error) {
	var out wire.Webhook
	err := c.doJSON(ctx, http.MethodPatch, webhookPath(id, ""), ch, &out)
	return out, err
}

// DeleteWebhook removes an endpoint and its delivery log.
func (c *Client) DeleteWebhook(ctx context.Context, id int64) error {
	return c.do(ctx, http.MethodDelete, webhookPath(id, ""), nil, "", nil)
}

// RotateWebhookSecret makes a new secret for an endpoint; the answer carries
// it, the only time it is shown.
func (c *Client) RotateWebhookSecret(ctx context.Context, id int64, r wire.SecretRotation) (wire.Webhook, error) {
	var out wire.Webhook
	err := c.doJSON(ctx, http.MethodPost, webhookPath(id, "/rotate-secret"), r, &out)
	return out, err
}

// TestWebhook sends a webhook.test event to an endpoint and returns its
// delivery.
func (c *Client) TestWebhook(ctx context.Context, id int64) (wire.Delivery, error) {
	var out wire.Delivery
	err := c.do(ctx, http.MethodPost, webhookPath(id, "/test"), nil, "", &out)
	return out, err
}

// DeliveryOptions page and filter an endpoint's delivery log.
type DeliveryOptions struct {
	Status sweep.DeliveryStatus // empty: all
	Before int64                // deliveries with a lower id (0: the newest)
	Limit  int                  // 0: the API's default
}

// Deliveries reads a page of an endpoint's delivery log, newest first.
func (c *Client) Deliveries(ctx context.Context, id int64, opts DeliveryOptions) (wire.DeliveryList, error) {
	q := url.Values{}
	if opts.Status != "" {
		q.Set("status", string(opts.Status))
	}
	if opts.Before > 0 {
		q.Set("before", strconv.FormatInt(opts.Before, 10))
	}
	if opts.Limit > 0 {
		q.Set("limit", strconv.Itoa(opts.Limit))
	}
	var out wire.DeliveryList
	err := c.do(ctx, http.MethodGet, withQuery(webhookPath(id, "/deliveries"), q), nil, "", &out)
	return out, err
}

func webhookPath(id int64, rest string) string {
	return "/v1/webhooks/" + strconv.FormatInt(id, 10) + rest
}

// doJSON sends v as a JSON body and decodes the answer into out.
func (c *Client) doJSON(ctx context.Context, method, path string, v, out any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.do(ctx, method, path, bytes.NewReader(b), "application/json", out)
}

// ResendDelivery sends a delivery of endpoint id given up as failed again
// (with the same webhook-id).
func (c *Client) ResendDelivery(ctx context.Context, id, delivery int64) (wire.Delivery, error) {
	var out wire.Delivery
	err := c.doJSON(ctx, "POST", webhookPath(id, fmt.Sprintf("/deliveries/%d/resend", delivery)), struct{}{}, &out)
	return out, err
}

// RecoverWebhook sends again every delivery of endpoint id given up as
// failed that was made within r's times, and returns how many.
func (c *Client) RecoverWebhook(ctx context.Context, id int64, r wire.Recover) (wire.Recovered, error) {
	var out wire.Recovered
	err := c.doJSON(ctx, "POST", webhookPath(id, "/recover"), r, &out)
	return out, err
}
