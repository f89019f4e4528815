package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/sweephq/sweep"
)

// MaxWebhooks is how many endpoints one tenant may have.
const MaxWebhooks = 20

const webhookColumns = `tenant_id, id, url, description, events, enabled, disabled_reason, disabled_at,
	failing_since, previous_secret_expires_at, created_at, updated_at`

type webhookRow struct {
	TenantID       int64          `db:"tenant_id"`
	ID             int64          `db:"id"`
	URL            string         `db:"url"`
	Description    string         `db:"description"`
	Events         pq.StringArray `db:"events"`
	Enabled        bool           `db:"enabled"`
	DisabledReason string         `db:"disabled_reason"`
	DisabledAt     sql.NullTime   `db:"disabled_at"`
	FailingSince   sql.NullTime   `db:"failing_since"`
	PreviousUntil  sql.NullTime   `db:"previous_secret_expires_at"`
	CreatedAt      time.Time      `db:"created_at"`
	UpdatedAt      time.Time      `db:"updated_at"`
}

func (r webhookRow) toWebhook() sweep.Webhook {
	w := sweep.Webhook{ID: r.ID, TenantID: r.TenantID, URL: r.URL, Description: r.Description, Enabled: r.Enabled,
		DisabledReason: r.DisabledReason, DisabledAt: timePtr(r.DisabledAt), FailingSince: timePtr(r.FailingSince),
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if r.PreviousUntil.Valid && r.PreviousUntil.Time.After(time.Now()) {
		w.PreviousSecretExpiresAt = timePtr(r.PreviousUntil)
	}
	for _, e := range r.Events {
		w.Events = append(w.Events, sweep.EventType(e))
	}
	return w
}

func eventStrings(events []sweep.EventType) pq.StringArray {
	out := pq.StringArray{}
	for _, e := range events {
		out = append(out, string(e))
	}
	return out
}

// CreateWebhook stores a new endpoint of w.TenantID signing with secret.
func (db *DB) CreateWebhook(ctx context.Context, w sweep.Webhook, secret string) (sweep.Webhook, error) {
	var r webhookRow
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		// The tenant's row is the lock that keeps two creations from both
		// taking the last place; the count is a statement of its own, so
		// its snapshot is taken once the lock is held.
		var n int
		if _, err := tx.ExecContext(ctx, `SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE`, w.TenantID); err != nil {
			return err
		}
		if err := tx.GetContext(ctx, &n, `SELECT count(*) FROM webhook_endpoints WHERE tenant_id = $1`, w.TenantID); err != nil {
			return err
		}
		if n >= MaxWebhooks {
			return sweep.Errorf(sweep.ECONFLICT, "This tenant has %d webhook endpoints, the most it may have; delete one it no longer needs first.", n)
		}
		return tx.GetContext(ctx, &r, `INSERT INTO webhook_endpoints (tenant_id, url, description, events, secret)
			VALUES ($1, $2, $3, $4, $5) RETURNING `+webhookColumns, w.TenantID, w.URL, w.Description, eventStrings(w.Events), secret)
	})
	if err != nil {
		return sweep.Webhook{}, fmt.Errorf("create webhook: %w", err)
	}
	return r.toWebhook(), nil
}

// Webhooks returns a tenant's endpoints, oldest first.
func (db *DB) Webhooks(ctx context.Context, tenant int64) ([]sweep.Webhook, error) {
	var rows []webhookRow
	if err := db.db.SelectContext(ctx, &rows, `SELECT `+webhookColumns+` FROM webhook_endpoints WHERE tenant_id = $1 ORDER BY id`, tenant); err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	out := make([]sweep.Webhook, len(rows))
	for i, r := range rows {
		out[i] = r.toWebhook()
	}
	return out, nil
}

// GetWebhook returns endpoint id of tenant; another tenant's is ENOTFOUND.
func (db *DB) GetWebhook(ctx context.Context, tenant, id int64) (sweep.Webhook, error) {
	var r webhookRow
	err := db.db.GetContext(ctx, &r, `SELECT `+webhookColumns+` FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2`, tenant, id)
	if err != nil {
		return sweep.Webhook{}, notFound(err, "Webhook endpoint %d was not found.", id)
	}
	return r.toWebhook(), nil
}

// WebhookChange changes an endpoint; nil members stay as they are. By names
// who changes it, for the reason shown when a person disables it.
type WebhookChange struct {
	URL         *string
	Description *string
	Events      *[]sweep.EventType
	Enabled     *bool
	By          string
}

// UpdateWebhook applies ch to endpoint id of tenant. Enabling an endpoint
// clears why it was disabled and sends what waited for it at once; disabling
// it keeps its pending deliveries until it is enabled again.
func (db *DB) UpdateWebhook(ctx context.Context, tenant, id int64, ch WebhookChange) (sweep.Webhook, error) {
	var r webhookRow
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		var events any
		if ch.Events != nil {
			events = eventStrings(*ch.Events)
		}
		reason := "Disabled by " + ch.By + "."
		err := tx.GetContext(ctx, &r, `UPDATE webhook_endpoints SET
				url = coalesce($3, url), description = coalesce($4, description), events = coalesce($5::text[], events),
				enabled = coalesce($6, enabled),
				disabled_reason = CASE WHEN $6 IS NULL OR $6 = enabled THEN disabled_reason WHEN $6 THEN '' ELSE $7 END,
				disabled_at = CASE WHEN $6 IS NULL OR $6 = enabled THEN disabled_at WHEN $6 THEN NULL ELSE now() END,
				failing_since = CASE WHEN $6 AND NOT enabled THEN NULL ELSE failing_since END,
				updated_at = now()
			WHERE tenant_id = $1 AND id = $2 RETURNING `+webhookColumns,
			tenant, id, ch.URL, ch.Description, events, ch.Enabled, reason)
		if err != nil {
			return notFound(err, "Webhook endpoint %d was not found.", id)
		}
		if ch.Enabled != nil && *ch.Enabled {
			_, err = tx.ExecContext(ctx, `UPDATE webhook_deliveries SET next_attempt_at = now()
				WHERE tenant_id = $1 AND endpoint_id = $2 AND status = 'pending' AND next_attempt_at > now()`, tenant, id)
		}
		return err
	})
	if err != nil {
		return sweep.Webhook{}, fmt.Errorf("update webhook %d: %w", id, err)
	}
	return r.toWebhook(), nil
}

// DeleteWebhook removes an endpoint and its delivery log.
func (db *DB) DeleteWebhook(ctx context.Context, tenant, id int64) error {
	res, err := db.db.ExecContext(ctx, `DELETE FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2`, tenant, id)
	if err != nil {
		return fmt.Errorf("delete webhook %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return sweep.Errorf(sweep.ENOTFOUND, "Webhook endpoint %d was not found.", id)
	}
	return nil
}

// RotateWebhookSecret gives an endpoint a new signing secret; deliveries are
// also signed with the current one for keepOld (not at all when 0).
func (db *DB) RotateWebhookSecret(ctx context.Context, tenant, id int64, secret string, keepOld time.Duration) (sweep.Webhook, error) {
	var r webhookRow
	err := db.db.GetContext(ctx, &r, `UPDATE webhook_endpoints SET previous_secret = secret, secret = $3,
			previous_secret_expires_at = CASE WHEN $4::bigint > 0 THEN now() + $4::bigint * interval '1 microsecond' END, updated_at = now()
		WHERE tenant_id = $1 AND id = $2 RETURNING `+webhookColumns, tenant, id, secret, keepOld.Microseconds())
	if err != nil {
		return sweep.Webhook{}, fmt.Errorf("rotate webhook secret: %w", notFound(err, "Webhook endpoint %d was not found.", id))
	}
	return r.toWebhook(), nil
}

// SendTestWebhook records a webhook.test event for endpoint id alone and
// returns its delivery. A disabled endpoint is ECONFLICT.
func (db *DB) SendTestWebhook(ctx context.Context, tenant, id int64, data []byte) (sweep.Delivery, error) {
	var d sweep.Delivery
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		// The endpoint's row is held until the event is recorded: a disable
		// or a delete waits, rather than leave the test with no delivery.
		var enabled bool
		err := tx.GetContext(ctx, &enabled, `SELECT enabled FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenant, id)
		if err != nil {
			return notFound(err, "Webhook endpoint %d was not found.", id)
		}
		if !enabled {
			return sweep.Errorf(sweep.ECONFLICT, "Webhook endpoint %d is disabled; enable it first (PATCH with {\"enabled\": true}).", id)
		}
		var waiting sql.NullInt64
		if err := tx.GetContext(ctx, &waiting, `SELECT min(d.id) FROM webhook_deliveries d
			JOIN webhook_messages m ON m.tenant_id = d.tenant_id AND m.id = d.message_id
			WHERE d.tenant_id = $1 AND d.endpoint_id = $2 AND d.status = 'pending' AND m.type = $3`, tenant, id, sweep.EventWebhookTest); err != nil {
			return err
		}
		if waiting.Valid {
			return sweep.Errorf(sweep.ECONFLICT, "A test event to webhook endpoint %d is still on its way (delivery %d); see it in the delivery log, and send another once it has arrived.", id, waiting.Int64)
		}
		var msg sql.NullInt64
		if err := tx.GetContext(ctx, &msg, `SELECT sweep_webhook_emit($1, $2, NULL, NULL, $3, $4)`, tenant, sweep.EventWebhookTest, data, id); err != nil {
			return err
		}
		if !msg.Valid {
			return sweep.Errorf(sweep.ECONFLICT, "Webhook endpoint %d is disabled; enable it first (PATCH with {\"enabled\": true}).", id)
		}
		rows, err := deliveries(ctx, tx, `d.tenant_id = $1 AND d.endpoint_id = $2 AND d.message_id = $3`, tenant, id, msg.Int64)
		if err == nil && len(rows) == 1 {
			d = rows[0]
		} else if err == nil {
			err = errors.New("the test delivery was not recorded")
		}
		return err
	})
	if err != nil {
		return sweep.Delivery{}, fmt.Errorf("test webhook %d: %w", id, err)
	}
	return d, nil
}

// ResendDeliveries sends again the deliveries of endpoint id given up as
// failed: delivery alone (ENOTFOUND when the endpoint has no such delivery,
// ECONFLICT when it has not failed), or, with delivery 0, every one made
// since since (and before until, unless zero). Each goes back to pending,
// due at once, its give-up time counted from now; an endpoint disabled
// meanwhile sends them once enabled. It returns the deliveries resent.
func (db *DB) ResendDeliveries(ctx context.Context, tenant, id, delivery int64, since, until time.Time) ([]sweep.Delivery, error) {
	if _, err := db.GetWebhook(ctx, tenant, id); err != nil {
		return nil, err
	}
	var ids []int64
	var err error
	if delivery > 0 {
		err = db.db.SelectContext(ctx, &ids, `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now(), lease_until = NULL, resent_at = now()
			WHERE tenant_id = $1 AND endpoint_id = $2 AND id = $3 AND status = 'failed' RETURNING id`, tenant, id, delivery)
		if err == nil && len(ids) == 0 {
			// Not sent again: say why.
			var status string
			if err := db.db.GetContext(ctx, &status, `SELECT status FROM webhook_deliveries WHERE tenant_id = $1 AND endpoint_id = $2 AND id = $3`, tenant, id, delivery); err != nil {
				return nil, notFound(err, "Delivery %d of webhook endpoint %d was not found.", delivery, id)
			}
			return nil, sweep.Errorf(sweep.ECONFLICT, "Delivery %d is %s, not failed; only a delivery given up as failed is sent again.", delivery, status)
		}
	} else {
		var to any
		if !until.IsZero() {
			to = until
		}
		err = db.db.SelectContext(ctx, &ids, `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now(), lease_until = NULL, resent_at = now()
			WHERE tenant_id = $1 AND endpoint_id = $2 AND status = 'failed' AND created_at >= $3 AND ($4::timestamptz IS NULL OR created_at < $4)
			RETURNING id`, tenant, id, since, to)
	}
	if err != nil {
		return nil, fmt.Errorf("resend deliveries of webhook %d: %w", id, err)
	}
	if len(ids) == 0 {
		return []sweep.Delivery{}, nil
	}
	return deliveries(ctx, db.db, `d.tenant_id = $1 AND d.id = ANY($2) ORDER BY d.id`, tenant, pq.Array(ids))
}

// DeliveryQuery selects a page of an endpoint's delivery log.
type DeliveryQuery struct {
	Status sweep.DeliveryStatus // empty: all
	Before int64                // ids below (0: the newest)
	Limit  int
}

// Deliveries returns a page of endpoint id's delivery log, newest first.
func (db *DB) Deliveries(ctx context.Context, tenant, id int64, q DeliveryQuery) ([]sweep.Delivery, error) {
	if _, err := db.GetWebhook(ctx, tenant, id); err != nil {
		return nil, err
	}
	before := q.Before
	if before <= 0 {
		before = 1<<63 - 1
	}
	return deliveries(ctx, db.db, `d.tenant_id = $1 AND d.endpoint_id = $2 AND d.id < $3 AND ($4 = '' OR d.status = $4)
		ORDER BY d.id DESC LIMIT $5`, tenant, id, before, string(q.Status), q.Limit)
}

func deliveries(ctx context.Context, q sqlx.QueryerContext, where string, args ...any) ([]sweep.Delivery, error) {
	var rows []struct {
		TenantID    int64         `db:"tenant_id"`
		ID          int64         `db:"id"`
		EndpointID  int64         `db:"endpoint_id"`
		MessageID   string        `db:"message_id"`
		Type        string        `db:"type"`
		Status      string        `db:"status"`
		Attempts    int           `db:"attempts"`
		LastCode    sql.NullInt64 `db:"last_status_code"`
		LastError   string        `db:"last_error"`
		ImportID    sql.NullInt64 `db:"import_id"`
		CustomerID  sql.NullInt64 `db:"customer_id"`
		CreatedAt   time.Time     `db:"created_at"`
		LastAttempt sql.NullTime  `db:"last_attempt_at"`
		Next        sql.NullTime  `db:"next_attempt_at"`
		Delivered   sql.NullTime  `db:"delivered_at"`
	}
	err := sqlx.SelectContext(ctx, q, &rows, `SELECT d.tenant_id, d.id, d.endpoint_id, m.message_id, m.type, d.status, d.attempts,
			d.last_status_code, d.last_error, m.import_id, m.customer_id, d.created_at, d.last_attempt_at,
			CASE WHEN d.status = 'pending' THEN greatest(d.next_attempt_at, d.lease_until) END AS next_attempt_at, d.delivered_at
		FROM webhook_deliveries d JOIN webhook_messages m ON m.tenant_id = d.tenant_id AND m.id = d.message_id
		WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("webhook deliveries: %w", err)
	}
	out := make([]sweep.Delivery, len(rows))
	for i, r := range rows {
		out[i] = sweep.Delivery{ID: r.ID, WebhookID: r.EndpointID, TenantID: r.TenantID, MessageID: r.MessageID,
			Type: sweep.EventType(r.Type), Status: sweep.DeliveryStatus(r.Status), Attempts: r.Attempts,
			LastCode: int(r.LastCode.Int64), LastError: r.LastError, ImportID: r.ImportID.Int64, CustomerID: r.CustomerID.Int64,
			CreatedAt: r.CreatedAt, LastAttemptAt: timePtr(r.LastAttempt), NextAttemptAt: timePtr(r.Next), DeliveredAt: timePtr(r.Delivered)}
	}
	return out, nil
}
