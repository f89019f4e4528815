package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/sweephq/sweep"
)

// ApprovalLimits returns the tenant's limits: its own threshold, else
// defThreshold, and its own rolling limit, else the threshold in effect (so
// one person may delete as much in a day as in one request, no more).
func (db *DB) ApprovalLimits(ctx context.Context, tenant, defThreshold int64) (sweep.ApprovalLimits, error) {
	var own struct {
		Threshold sql.NullInt64 `db:"approval_threshold"`
		Daily     sql.NullInt64 `db:"approval_daily_limit"`
	}
	err := db.db.GetContext(ctx, &own, `SELECT approval_threshold, approval_daily_limit FROM tenants WHERE id = $1`, tenant)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return sweep.ApprovalLimits{}, fmt.Errorf("approval limits of tenant %d: %w", tenant, err)
	}
	l := sweep.ApprovalLimits{Threshold: defThreshold, Daily: -1}
	if own.Threshold.Valid {
		l.Threshold = own.Threshold.Int64
	}
	if own.Daily.Valid {
		l.Daily = own.Daily.Int64
	} else {
		l.Daily = l.Threshold
	}
	return l, nil
}

// SetApprovalDailyLimit sets the tenant's own rolling limit (nil: back to its
// threshold; 0: none).
func (db *DB) SetApprovalDailyLimit(ctx context.Context, tenant int64, limit *int64) error {
	res, err := db.db.ExecContext(ctx, `UPDATE tenants SET approval_daily_limit = $2 WHERE id = $1`, tenant, limit)
	if err != nil {
		return fmt.Errorf("set the approval daily limit of tenant %d: %w", tenant, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return sweep.Errorf(sweep.ENOTFOUND, "Tenant %d does not exist.", tenant)
	}
	return nil
}

// unapprovedRecently is what the tenant's imports queued without approval
// may still delete (all the valid rows of those that can still run, however
// long ago they were queued or for whenever their run_at is) and what those
// that ended within sweep.ApprovalWindow deleted, besides import except.
// What an import whose record was deleted since had deleted stays counted
// (unapproved_deletions, written by DeleteImport).
const unapprovedRecently = `SELECT (SELECT coalesce(sum(CASE WHEN status IN ('queued', 'running', 'paused') THEN greatest(valid_rows, deleted_rows)
			ELSE deleted_rows END), 0)
		FROM imports WHERE tenant_id = $1 AND id <> $2 AND unapproved_at IS NOT NULL
			AND (finished_at IS NULL OR finished_at > now() - make_interval(secs => $3)))
	+ (SELECT coalesce(sum(deleted_rows), 0) FROM unapproved_deletions
		WHERE tenant_id = $1 AND finished_at > now() - make_interval(secs => $3))`

// StartWithinLimits queues a validated import to run without a second
// person's approval when the tenant's limits allow it, and marks it as such
// so that it counts towards the rolling limit. The decision and the start are
// one transaction holding the tenant's row, so two starts at once never both
// fit under a limit only one of them fits under. When approval is needed
// nothing changes and why says so (see sweep.ApprovalLimits.Why). exempt
// skips the limits (a cleanup batch its policy's approval covers) but still
// does not count the import as unapproved.
func (db *DB) StartWithinLimits(ctx context.Context, imp sweep.Import, opts sweep.StartOptions, l sweep.ApprovalLimits, exempt bool) (started sweep.Import, why string, err error) {
	err = db.withTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT 1 FROM tenants WHERE id = $1 FOR NO KEY UPDATE`, imp.TenantID); err != nil {
			return err
		}
		if !exempt {
			var recent int64
			if err := tx.GetContext(ctx, &recent, unapprovedRecently, imp.TenantID, imp.ID, sweep.ApprovalWindow.Seconds()); err != nil {
				return err
			}
			if why = l.Why(imp.ValidRows, recent); why != "" {
				return nil
			}
		}
		window, rate := runSettingArgs(opts.RunSettings)
		started, err = db.transition(ctx, tx, imp.TenantID, imp.ID, []sweep.Status{sweep.StatusValidated}, sweep.StatusQueued,
			"run_at = coalesce($5, run_at), parallelism = CASE WHEN $6 > 0 THEN $6 ELSE parallelism END, "+runSettingSet(7)+
				", unapproved_at = CASE WHEN $9 THEN NULL ELSE now() END",
			opts.RunAt, opts.Parallelism, window, rate, exempt)
		return err
	})
	return started, why, err
}

// UnapprovedRecently is what the tenant deleted, or queued to delete,
// without a second person's approval within sweep.ApprovalWindow.
func (db *DB) UnapprovedRecently(ctx context.Context, tenant int64) (int64, error) {
	var n int64
	err := db.db.GetContext(ctx, &n, unapprovedRecently, tenant, 0, sweep.ApprovalWindow.Seconds())
	return n, err
}
