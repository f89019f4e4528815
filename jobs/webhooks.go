package jobs

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/sweephq/sweep"
)

// WebhookPayloadVersion is the version of the webhook:deliver payload.
const WebhookPayloadVersion = 1

// WebhookPayload is the body of a webhook:deliver task: one dispatch of one
// delivery, which makes one attempt. MessageID (the webhook-id) ties the task
// to its delivery: a task of another database with the same delivery id is
// refused.
type WebhookPayload struct {
	Version    int    `json:"version"`
	TenantID   int64  `json:"tenant_id"`
	DeliveryID int64  `json:"delivery_id"`
	Dispatch   int    `json:"dispatch"`
	MessageID  string `json:"message_id"`
}

// NewWebhookDeliverTask returns the task of dispatch dispatch of a delivery;
// its id names the delivery and the dispatch. A failed attempt is not retried
// by asynq: the delivery's own schedule in PostgreSQL decides the next one,
// and a task lost from Redis is dispatched again from there.
func NewWebhookDeliverTask(tenant, delivery int64, dispatch int, messageID string) (*asynq.Task, error) {
	b, err := json.Marshal(WebhookPayload{Version: WebhookPayloadVersion, TenantID: tenant, DeliveryID: delivery, Dispatch: dispatch, MessageID: messageID})
	if err != nil {
		return nil, err
	}
	return asynq.NewTask(TypeWebhookDeliver, b,
		asynq.TaskID(fmt.Sprintf("%s:%d:%d:%d:%s", TypeWebhookDeliver, tenant, delivery, dispatch, messageID)),
		asynq.Queue(QueueWebhooks),
		asynq.MaxRetry(1), // only for a task whose worker vanished; it finds its dispatch taken and does nothing
		asynq.Timeout(sweep.WebhookAttemptTimeout+10*time.Second)), nil
}

// ParseWebhookPayload reads a webhook:deliver payload, refusing another
// version.
func ParseWebhookPayload(b []byte) (WebhookPayload, error) {
	var p WebhookPayload
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("webhook payload: %w", err)
	}
	if p.Version != WebhookPayloadVersion {
		return p, sweep.Errorf(sweep.EVERSION, "webhook:deliver payload version %d is not %d", p.Version, WebhookPayloadVersion)
	}
	return p, nil
}
