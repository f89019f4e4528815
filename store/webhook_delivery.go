package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/sweephq/sweep"
)

// DueDelivery is a dispatched attempt of a delivery: dispatch Dispatch of
// message MessageID (the webhook-id) to one endpoint.
type DueDelivery struct {
	TenantID  int64  `db:"tenant_id"`
	ID        int64  `db:"id"`
	Dispatch  int    `db:"dispatches"`
	MessageID string `db:"message_id"`
}

// Dispatch limits: attempts dispatched or in flight at once per endpoint and
// per tenant, so one tenant's slow receivers take a few of the places in all
// and the other tenants' events go out beside them.
const (
	MaxInFlightPerEndpoint = 2
	MaxInFlightPerTenant   = 4
)

// DispatchDeliveries takes deliveries whose next attempt is due, of enabled
// endpoints, for lease, up to inFlight dispatched or in flight in all: each
// gets a new dispatch number, and no other dispatcher takes it until an
// attempt claims it or the lease ends (a task lost on its way). Endpoints and
// tenants are served in turn, each within the limits above, the longest
// waiting first.
func (db *DB) DispatchDeliveries(ctx context.Context, inFlight int, lease time.Duration) ([]DueDelivery, error) {
	var out []DueDelivery
	err := db.db.SelectContext(ctx, &out, `WITH busy AS (
			SELECT tenant_id, endpoint_id, count(*) AS n FROM webhook_deliveries
			WHERE status = 'pending' AND (dispatched_until > now() OR lease_until > now())
			GROUP BY tenant_id, endpoint_id
		), due AS (
			SELECT d.tenant_id, d.id, d.endpoint_id, d.next_attempt_at,
				row_number() OVER (PARTITION BY d.tenant_id, d.endpoint_id ORDER BY d.next_attempt_at, d.id) AS rn
			FROM webhook_deliveries d
			JOIN webhook_endpoints e ON e.tenant_id = d.tenant_id AND e.id = d.endpoint_id
			WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND e.enabled
				AND (d.dispatched_until IS NULL OR d.dispatched_until <= now()) AND (d.lease_until IS NULL OR d.lease_until <= now())
		), endpoint_ok AS (
			SELECT due.* FROM due
			WHERE due.rn + coalesce((SELECT b.n FROM busy b WHERE b.tenant_id = due.tenant_id AND b.endpoint_id = due.endpoint_id), 0) <= $2
		), tenant_ok AS (
			SELECT e.*, row_number() OVER (PARTITION BY e.tenant_id ORDER BY e.rn, e.next_attempt_at, e.id) AS trn
			FROM endpoint_ok e
		), picked AS (
			SELECT tenant_id, id FROM tenant_ok t
			WHERE t.trn + coalesce((SELECT sum(b.n) FROM busy b WHERE b.tenant_id = t.tenant_id), 0) <= $3
			ORDER BY t.trn, t.next_attempt_at, t.id
			LIMIT greatest(0, $1 - (SELECT coalesce(sum(n), 0) FROM busy))
		)
		UPDATE webhook_deliveries d SET dispatches = d.dispatches + 1, dispatched_until = now() + $4 * interval '1 microsecond'
		FROM picked p, webhook_messages m
		WHERE d.tenant_id = p.tenant_id AND d.id = p.id AND m.tenant_id = d.tenant_id AND m.id = d.message_id
			AND d.status = 'pending' AND (d.dispatched_until IS NULL OR d.dispatched_until <= now())
		RETURNING d.tenant_id, d.id, d.dispatches, m.message_id`,
		inFlight, MaxInFlightPerEndpoint, MaxInFlightPerTenant, lease.Microseconds())
	if err != nil {
		return nil, fmt.Errorf("dispatch webhook deliveries: %w", err)
	}
	return out, nil
}

// Outgoing is a claimed attempt: where it goes, what it signs with and what
// it carries. Body is the JSON as first sent (empty until it is rendered
// once from Snapshot, see KeepBody).
type Outgoing struct {
	TenantID   int64          `db:"tenant_id"`
	ID         int64          `db:"id"`
	Attempt    int            `db:"attempts"`
	EndpointID int64          `db:"endpoint_id"`
	URL        string         `db:"url"`
	Secret     string         `db:"secret"`
	Previous   sql.NullString `db:"previous_secret"`
	Message    int64          `db:"message"`
	MessageID  string         `db:"message_id"`
	Type       string         `db:"type"`
	OccurredAt time.Time      `db:"occurred_at"`
	Snapshot   []byte         `db:"snapshot"`
	Body       sql.NullString `db:"body"`
	CreatedAt  time.Time      `db:"created_at"`
}

// Secrets are the secrets the attempt signs with: the endpoint's, and the one
// before its last rotation while that is kept.
func (o Outgoing) Secrets() []string {
	if o.Previous.Valid {
		return []string{o.Secret, o.Previous.String}
	}
	return []string{o.Secret}
}

// ClaimDelivery starts an attempt of the delivery d names, for lease: no
// other attempt of it starts until the lease ends or the attempt is recorded.
// Any of its dispatches may make the attempt that is due (one that waited in
// the queue past its lease is as good as the one dispatched after it); it
// reports false when no attempt is due (made, taken by another dispatch,
// scheduled later), its endpoint is disabled, or the task is of another
// database (its message id does not match). A dispatch of a disabled endpoint
// is let go at once, to be dispatched again when it is enabled.
func (db *DB) ClaimDelivery(ctx context.Context, d DueDelivery, lease time.Duration) (Outgoing, bool, error) {
	var o Outgoing
	err := db.db.GetContext(ctx, &o, `UPDATE webhook_deliveries d SET attempts = d.attempts + 1, last_attempt_at = now(),
			lease_until = now() + $5 * interval '1 microsecond', dispatched_until = NULL
		FROM webhook_endpoints e, webhook_messages m
		WHERE d.tenant_id = $1 AND d.id = $2 AND $3 > 0 AND d.status = 'pending' AND d.next_attempt_at <= now()
			AND (d.lease_until IS NULL OR d.lease_until <= now())
			AND e.tenant_id = d.tenant_id AND e.id = d.endpoint_id AND e.enabled
			AND m.tenant_id = d.tenant_id AND m.id = d.message_id AND m.message_id = $4
		RETURNING d.tenant_id, d.id, d.attempts, d.endpoint_id, e.url, e.secret,
			CASE WHEN e.previous_secret_expires_at > now() THEN e.previous_secret END AS previous_secret,
			m.id AS message, m.message_id, m.type, m.occurred_at, m.snapshot, m.body, d.created_at`,
		d.TenantID, d.ID, d.Dispatch, d.MessageID, lease.Microseconds())
	if err == sql.ErrNoRows {
		_, err = db.db.ExecContext(ctx, `UPDATE webhook_deliveries d SET dispatched_until = NULL
			FROM webhook_messages m
			WHERE d.tenant_id = $1 AND d.id = $2 AND d.dispatches = $3 AND d.dispatched_until IS NOT NULL
				AND m.tenant_id = d.tenant_id AND m.id = d.message_id AND m.message_id = $4`, d.TenantID, d.ID, d.Dispatch, d.MessageID)
		if err != nil {
			return Outgoing{}, false, fmt.Errorf("let go of webhook delivery %d: %w", d.ID, err)
		}
		return Outgoing{}, false, nil
	}
	if err != nil {
		return Outgoing{}, false, fmt.Errorf("claim webhook delivery %d: %w", d.ID, err)
	}
	return o, true, nil
}

// ImportSnapshot turns the imports row a webhook event kept back into the
// import it was.
func (db *DB) ImportSnapshot(ctx context.Context, snapshot []byte) (sweep.Import, error) {
	var r importRow
	if err := db.db.GetContext(ctx, &r, `SELECT `+importColumns+` FROM jsonb_populate_record(NULL::imports, $1::jsonb)`, snapshot); err != nil {
		return sweep.Import{}, fmt.Errorf("read import snapshot: %w", err)
	}
	return r.toImport(), nil
}

// KeepBody stores a message's body the first time it is rendered and returns
// the body stored: every attempt, to every endpoint, sends the same bytes.
func (db *DB) KeepBody(ctx context.Context, o Outgoing, body []byte) (string, error) {
	var kept string
	err := db.db.GetContext(ctx, &kept, `UPDATE webhook_messages SET body = coalesce(body, $3)
		WHERE tenant_id = $1 AND id = $2 RETURNING body`, o.TenantID, o.Message, string(body))
	if err != nil {
		return "", fmt.Errorf("keep webhook body: %w", err)
	}
	return kept, nil
}

// AttemptResult is how an attempt ended.
type AttemptResult struct {
	Delivered bool
	Code      int           // the receiver's status (0: none)
	Error     string        // why it failed, in words
	Retry     time.Duration // when failed: how long until the next attempt
	// GiveUpAfter: a delivery failing that long after its event is given up
	// (failed), and an endpoint whose deliveries failed that long without
	// one success is disabled.
	GiveUpAfter time.Duration
}

// RecordAttempt records how attempt o ended, unless another attempt took the
// delivery meanwhile. It reports whether the endpoint was disabled by it.
func (db *DB) RecordAttempt(ctx context.Context, o Outgoing, res AttemptResult) (disabled bool, err error) {
	code := sql.NullInt64{Int64: int64(res.Code), Valid: res.Code > 0}
	err = db.withTx(ctx, func(tx *sqlx.Tx) error {
		if res.Delivered {
			r, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'succeeded', delivered_at = now(), lease_until = NULL,
					last_status_code = $4, last_error = ''
				WHERE tenant_id = $1 AND id = $2 AND attempts = $3 AND status = 'pending'`, o.TenantID, o.ID, o.Attempt, code)
			if err != nil {
				return err
			}
			if n, _ := r.RowsAffected(); n == 1 {
				_, err = tx.ExecContext(ctx, `UPDATE webhook_endpoints SET failing_since = NULL, last_success_at = now()
					WHERE tenant_id = $1 AND id = $2`, o.TenantID, o.EndpointID)
			}
			return err
		}
		var owned bool
		if err := tx.GetContext(ctx, &owned, `SELECT EXISTS (SELECT 1 FROM webhook_deliveries
			WHERE tenant_id = $1 AND id = $2 AND attempts = $3 AND status = 'pending' FOR UPDATE)`, o.TenantID, o.ID, o.Attempt); err != nil || !owned {
			return err
		}
		var ep struct {
			Since       time.Time    `db:"failing_since"`
			LastSuccess sql.NullTime `db:"last_success_at"`
		}
		if err := tx.GetContext(ctx, &ep, `UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, now())
			WHERE tenant_id = $1 AND id = $2 RETURNING failing_since, last_success_at`, o.TenantID, o.EndpointID); err != nil {
			return err
		}
		since := ep.Since
		if time.Since(since) >= res.GiveUpAfter {
			reason := fmt.Sprintf("Disabled by sweep on %s: every delivery failed since %s (for more than %s). The last error: %s Fix the receiver, then enable the endpoint again; what waits for it is sent then.",
				time.Now().UTC().Format("2006-01-02 15:04 MST"), since.UTC().Format("2006-01-02 15:04 MST"), res.GiveUpAfter, res.Error)
			r, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET enabled = false, disabled_at = now(), disabled_reason = $3, updated_at = now()
				WHERE tenant_id = $1 AND id = $2 AND enabled`, o.TenantID, o.EndpointID, reason)
			if err != nil {
				return err
			}
			n, _ := r.RowsAffected()
			disabled = n == 1
		}
		// A delivery failing for that long to an endpoint that took another
		// delivery since it was made is given up: the fault is its own. One
		// to an endpoint that took none meanwhile stays: that endpoint is
		// disabled now or at a next attempt, and it waits with the rest.
		_, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET lease_until = NULL, last_status_code = $4, last_error = $5,
				next_attempt_at = now() + $6 * interval '1 microsecond',
				status = CASE WHEN NOT $8 AND coalesce(resent_at, created_at) < now() - $7 * interval '1 microsecond' AND $9::timestamptz > coalesce(resent_at, created_at)
					THEN 'failed' ELSE 'pending' END
			WHERE tenant_id = $1 AND id = $2 AND attempts = $3`,
			o.TenantID, o.ID, o.Attempt, code, res.Error, res.Retry.Microseconds(), res.GiveUpAfter.Microseconds(), disabled, ep.LastSuccess)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("record webhook attempt %d of delivery %d: %w", o.Attempt, o.ID, err)
	}
	return disabled, nil
}

// WebhookLogRetention is how long the delivery log keeps a settled event.
const WebhookLogRetention = 30 * 24 * time.Hour

// PruneWebhookLog gives up the deliveries still waiting after olderThan (an
// endpoint disabled all that time), then deletes the events older than that
// whose every delivery is settled, with their deliveries, and returns how
// many events went.
func (db *DB) PruneWebhookLog(ctx context.Context, olderThan time.Duration) (int64, error) {
	if _, err := db.db.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'failed',
			last_error = left(last_error || ' Given up: it waited ' || $2 || ' for its endpoint.', 2000)
		WHERE status = 'pending' AND coalesce(resent_at, created_at) < now() - $1 * interval '1 microsecond'`, olderThan.Microseconds(), olderThan.String()); err != nil {
		return 0, fmt.Errorf("give up old webhook deliveries: %w", err)
	}
	res, err := db.db.ExecContext(ctx, `DELETE FROM webhook_messages m
		WHERE m.occurred_at < now() - $1 * interval '1 microsecond'
			AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.tenant_id = m.tenant_id AND d.message_id = m.id AND d.status = 'pending')`,
		olderThan.Microseconds())
	if err != nil {
		return 0, fmt.Errorf("prune webhook log: %w", err)
	}
	return res.RowsAffected()
}
