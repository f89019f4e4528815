package wire

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/sweephq/sweep"
)

// Webhook is the wire format of a webhook endpoint (/v1/webhooks).
type Webhook struct {
	ID          int64  `json:"id"`
	URL         string `json:"url"`
	Description string `json:"description"`
	// Events it receives; empty: every event.
	Events  []sweep.EventType `json:"events"`
	Enabled bool              `json:"enabled"`
	// DisabledReason says why it is disabled: it failed for too long, or a
	// person disabled it.
	DisabledReason string     `json:"disabled_reason,omitempty"`
	DisabledAt     *time.Time `json:"disabled_at,omitempty"`
	// FailingSince is when its deliveries began to fail, while they do.
	FailingSince *time.Time `json:"failing_since,omitempty"`
	// PreviousSecretExpiresAt: after a rotation, deliveries are signed with
	// the new and the previous secret until then.
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at,omitempty"`
	// Secret is the signing secret (whsec_…), shown only in the answer that
	// made it: creation and rotation.
	Secret    string       `json:"secret,omitempty"`
	CreatedAt time.Time    `json:"created_at"`
	UpdatedAt time.Time    `json:"updated_at"`
	Links     WebhookLinks `json:"links"`
}

// WebhookLinks are the paths of an endpoint's resources.
type WebhookLinks struct {
	Self       string `json:"self"`
	Deliveries string `json:"deliveries"`
}

// FromWebhook returns the wire format of w (without its secret).
func FromWebhook(w sweep.Webhook) Webhook {
	self := fmt.Sprintf("/v1/webhooks/%d", w.ID)
	events := w.Events
	if events == nil {
		events = []sweep.EventType{}
	}
	return Webhook{ID: w.ID, URL: w.URL, Description: w.Description, Events: events, Enabled: w.Enabled,
		DisabledReason: w.DisabledReason, DisabledAt: w.DisabledAt, FailingSince: w.FailingSince,
		PreviousSecretExpiresAt: w.PreviousSecretExpiresAt, CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt,
		Links: WebhookLinks{Self: self, Deliveries: self + "/deliveries"}}
}

// WebhookList is a tenant's endpoints (GET /v1/webhooks), oldest first.
type WebhookList struct {
	Webhooks []Webhook `json:"webhooks"`
}

// NewWebhook is the body of POST /v1/webhooks.
type NewWebhook struct {
	URL         string            `json:"url"`
	Description string            `json:"description,omitempty"`
	Events      []sweep.EventType `json:"events,omitempty"`
	// Enabled, when sent, must be true: a new endpoint is enabled.
	Enabled *bool `json:"enabled,omitempty"`
}

// WebhookChange is the body of PATCH /v1/webhooks/{id}: members left out (or
// null) keep their value. Enabling an endpoint sweep disabled sends what
// waited for it.
type WebhookChange struct {
	URL         *string            `json:"url,omitempty"`
	Description *string            `json:"description,omitempty"`
	Events      *[]sweep.EventType `json:"events,omitempty"`
	Enabled     *bool              `json:"enabled,omitempty"`
}

// SecretRotation is the body of POST /v1/webhooks/{id}/rotate-secret:
// KeepOldFor is how long deliveries are also signed with the current secret
// (a duration such as "24h"; "0s" drops it at once; empty: 24 hours; at most
// 7 days).
type SecretRotation struct {
	KeepOldFor string `json:"keep_old_for,omitempty"`
}

// Delivery is one event on its way to one endpoint, as the delivery log
// shows it. WebhookID is the webhook-id header the receiver sees, the same on
// every attempt: its idempotency key.
type Delivery struct {
	ID             int64                `json:"id"`
	WebhookID      string               `json:"webhook_id"`
	Type           sweep.EventType      `json:"type"`
	Status         sweep.DeliveryStatus `json:"status"`
	Attempts       int                  `json:"attempts"`
	LastStatusCode int                  `json:"last_status_code,omitempty"`
	LastError      string               `json:"last_error,omitempty"`
	ImportID       int64                `json:"import_id,omitempty"`
	CustomerID     int64                `json:"customer_id,omitempty"`
	CreatedAt      time.Time            `json:"created_at"`
	LastAttemptAt  *time.Time           `json:"last_attempt_at,omitempty"`
	NextAttemptAt  *time.Time           `json:"next_attempt_at,omitempty"`
	DeliveredAt    *time.Time           `json:"delivered_at,omitempty"`
}

// FromDelivery returns the wire format of d.
func FromDelivery(d sweep.Delivery) Delivery {
	return Delivery{ID: d.ID, WebhookID: d.MessageID, Type: d.Type, Status: d.Status, Attempts: d.Attempts,
		LastStatusCode: d.LastCode, LastError: d.LastError, ImportID: d.ImportID, CustomerID: d.CustomerID,
		CreatedAt: d.CreatedAt, LastAttemptAt: d.LastAttemptAt, NextAttemptAt: d.NextAttemptAt, DeliveredAt: d.DeliveredAt}
}

// DeliveryList is a page of an endpoint's delivery log, newest first; Next is
// the path of the following page, empty on the last.
type DeliveryList struct {
	Deliveries []Delivery `json:"deliveries"`
	Next       string     `json:"next,omitempty"`
}

// WebhookMessage is the body of every webhook: what happened (Type), when,
// for which tenant, and Data: for import.* the import as GET
// /v1/imports/{id} shows it (an Import, as it was when the event happened),
// for customer.deleted a CustomerDeleted, for webhook.test a WebhookTest.
type WebhookMessage struct {
	Type      sweep.EventType `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	TenantID  int64           `json:"tenant_id"`
	Data      json.RawMessage `json:"data"`
}

// CustomerDeleted is the data of a customer.deleted event: one customer
// deleted through the API, by the token named.
type CustomerDeleted struct {
	CustomerID int64 `json:"customer_id"`
	// CustomerKey is the customer's key where the platform names customers
	// by uuid or text (CustomerID is then sweep's number for it).
	CustomerKey string    `json:"customer_key,omitempty"`
	DeletedAt   time.Time `json:"deleted_at"`
	DeletedBy   string    `json:"deleted_by"`
}

// WebhookTest is the data of a webhook.test event.
type WebhookTest struct {
	WebhookID int64  `json:"webhook_endpoint_id"`
	Message   string `json:"message"`
}

// Recover is the body of POST /v1/webhooks/{id}/recover: the failed
// deliveries made at or after Since (and before Until, when set) are sent
// again.
type Recover struct {
	Since time.Time  `json:"since"`
	Until *time.Time `json:"until,omitempty"`
}

// Recovered is how many deliveries a recover sent again.
type Recovered struct {
	Resent int `json:"resent"`
}
