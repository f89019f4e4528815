package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/sweephq/sweep"
)

// runSettingArgs are the arguments runSettingSet reads: NULL keeps a setting.
func runSettingArgs(s sweep.RunSettings) (window sql.NullString, rate sql.NullInt64) {
	if s.RunWindow != nil {
		window = sql.NullString{String: s.RunWindow.String(), Valid: true}
	}
	if s.MaxRowsPerSecond != nil {
		rate = sql.NullInt64{Int64: int64(*s.MaxRowsPerSecond), Valid: true}
	}
	return window, rate
}

// runSettingSet assigns the run window and the rows-per-second cap from
// arguments n and n+1 (runSettingArgs), keeping each one whose argument is
// NULL; a cap of 0 removes it.
func runSettingSet(n int) string {
	w, r := "$"+strconv.Itoa(n), "$"+strconv.Itoa(n+1)
	return "run_window = coalesce(" + w + "::text, run_window), " +
		"max_rows_per_second = CASE WHEN " + r + "::int IS NULL THEN max_rows_per_second ELSE nullif(" + r + "::int, 0) END"
}

// ChangeRun sets the run window and rows-per-second cap of an import that
// has not ended; the run follows them from its next time slice.
func (db *DB) ChangeRun(ctx context.Context, tenant, id int64, s sweep.RunSettings) (sweep.Import, error) {
	window, rate := runSettingArgs(s)
	var r importRow
	err := db.acting(ctx, db.db, func(q sqlx.QueryerContext) error {
		return sqlx.GetContext(ctx, q, &r, `UPDATE imports SET `+runSettingSet(3)+`, updated_at = now()
			WHERE tenant_id = $1 AND id = $2 AND NOT status = ANY($5) RETURNING `+importColumns,
			tenant, id, window, rate, terminalStatuses)
	})
	if err == nil {
		return r.toImport(), nil
	} else if !errors.Is(err, sql.ErrNoRows) {
		return sweep.Import{}, fmt.Errorf("change the run of import %d: %w", id, err)
	}
	cur, err := db.GetImport(ctx, tenant, id)
	if err != nil {
		return sweep.Import{}, err
	}
	if cur.Status == sweep.StatusAwaitingApproval {
		return cur, sweep.Errorf(sweep.ECONFLICT, "Import %d awaits approval of its run as it was asked; its window and speed cap cannot change meanwhile. Cancel it and start it again with the new settings, or ask the approver to reject it.", id)
	}
	return cur, sweep.Errorf(sweep.ECONFLICT, "Import %d is %s: its run has ended, so its window and speed cap can no longer change.", id, cur.Status)
}

// terminalStatuses are the states after which nothing runs
// (sweep.Status.Terminal), and awaiting_approval, whose run is approved as it
// was asked: ChangeRun refuses them.
var terminalStatuses = func() []string {
	out := []string{string(sweep.StatusAwaitingApproval)}
	for _, s := range sweep.Statuses {
		if s.Terminal() {
			out = append(out, string(s))
		}
	}
	return out
}()

// keptHolds is how many of an import's holds its history keeps.
const keptHolds = 20

// HoldImport records that a queued or running import waits, and why. A hold
// for the reason already recorded keeps its start and takes the new message
// (the lag now, say); another reason closes the last hold in the history and
// opens one. It also marks the import as looked after, so the reconciler
// leaves a waiting run alone. It reports false when the import is no longer
// queued or running.
func (db *DB) HoldImport(ctx context.Context, tenant, id int64, h sweep.Hold) (bool, error) {
	var held bool
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		var prev sql.NullString
		err := tx.QueryRowContext(ctx, `
			WITH old AS (SELECT held_reason FROM imports WHERE tenant_id = $1 AND id = $2 FOR UPDATE)
			UPDATE imports i SET held_reason = $3, held_message = $4, held_until = $5, updated_at = now(),
				held_since = CASE WHEN i.held_reason IS DISTINCT FROM $3 THEN now() ELSE i.held_since END
			FROM old WHERE i.tenant_id = $1 AND i.id = $2 AND i.status IN ('queued', 'running')
			RETURNING old.held_reason`, tenant, id, h.Reason, h.Message, h.Until).Scan(&prev)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		} else if err != nil {
			return err
		}
		held = true
		if prev.Valid && prev.String == string(h.Reason) {
			_, err = tx.ExecContext(ctx, `UPDATE import_holds SET message = $3
				WHERE tenant_id = $1 AND import_id = $2 AND ended_at IS NULL`, tenant, id, h.Message)
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE import_holds SET ended_at = now()
			WHERE tenant_id = $1 AND import_id = $2 AND ended_at IS NULL`, tenant, id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `
			WITH added AS (INSERT INTO import_holds (tenant_id, import_id, reason, message) VALUES ($1, $2, $3, $4) RETURNING id)
			DELETE FROM import_holds h WHERE h.tenant_id = $1 AND h.import_id = $2 AND h.id NOT IN (
				SELECT id FROM import_holds WHERE tenant_id = $1 AND import_id = $2 ORDER BY id DESC LIMIT $5 - 1)
				AND h.id NOT IN (SELECT id FROM added)`, tenant, id, h.Reason, h.Message, keptHolds)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("record the hold of import %d: %w", id, err)
	}
	return held, nil
}

// ReleaseImport records that a held import goes on: its hold ends. It
// returns the hold that ended (nil when none was recorded), for the seconds
// held to be counted once.
func (db *DB) ReleaseImport(ctx context.Context, tenant, id int64) (*sweep.Hold, error) {
	var (
		h     sweep.Hold
		ended time.Time
	)
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		err := tx.QueryRowContext(ctx, `
			UPDATE imports i SET held_reason = NULL, held_message = '', held_since = NULL, held_until = NULL
			FROM (SELECT held_reason, held_message, held_since FROM imports WHERE tenant_id = $1 AND id = $2 FOR UPDATE) old
			WHERE i.tenant_id = $1 AND i.id = $2 AND old.held_reason IS NOT NULL
			RETURNING old.held_reason, old.held_message, old.held_since, now()`, tenant, id).
			Scan(&h.Reason, &h.Message, &h.Since, &ended)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE import_holds SET ended_at = now()
			WHERE tenant_id = $1 AND import_id = $2 AND ended_at IS NULL`, tenant, id)
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("end the hold of import %d: %w", id, err)
	}
	h.Ended = &ended
	return &h, nil
}

// ImportHolds returns the import's recent holds, newest first.
func (db *DB) ImportHolds(ctx context.Context, tenant, id int64) ([]sweep.Hold, error) {
	var rows []struct {
		Reason  string       `db:"reason"`
		Message string       `db:"message"`
		Started time.Time    `db:"started_at"`
		Ended   sql.NullTime `db:"ended_at"`
	}
	err := db.db.SelectContext(ctx, &rows, `SELECT reason, message, started_at, ended_at FROM import_holds
		WHERE tenant_id = $1 AND import_id = $2 ORDER BY id DESC LIMIT $3`, tenant, id, keptHolds)
	if err != nil {
		return nil, fmt.Errorf("holds of import %d: %w", id, err)
	}
	out := make([]sweep.Hold, len(rows))
	for i, r := range rows {
		out[i] = sweep.Hold{Reason: sweep.HoldReason(r.Reason), Message: r.Message, Since: r.Started, Ended: timePtr(r.Ended)}
	}
	return out, nil
}

// HeldRuns counts the imports held now, by reason, over every tenant: the
// figure behind the sweep_throttled metric.
func (db *DB) HeldRuns(ctx context.Context) (map[sweep.HoldReason]int, error) {
	var rows []struct {
		Reason string `db:"held_reason"`
		N      int    `db:"n"`
	}
	if err := db.db.SelectContext(ctx, &rows, `SELECT held_reason, count(*) AS n FROM imports
		WHERE held_reason IS NOT NULL AND status IN ('queued', 'running') GROUP BY held_reason`); err != nil {
		return nil, err
	}
	out := map[sweep.HoldReason]int{}
	for _, r := range rows {
		out[sweep.HoldReason(r.Reason)] = r.N
	}
	return out, nil
}

// RunHold is a manual hold of every run: of one tenant, or of every tenant
// (TenantID 0, AllTenants).
type RunHold struct {
	TenantID  int64     `db:"tenant_id"`
	Reason    string    `db:"reason"`
	HeldBy    string    `db:"held_by"`
	CreatedAt time.Time `db:"created_at"`
}

// AllTenants is the tenant id of a hold of every tenant's runs.
const AllTenants = 0

// Message is the hold in words, for the held runs.
func (h RunHold) Message() string {
	msg := fmt.Sprintf("all of this tenant's runs held by %s", h.HeldBy)
	if h.TenantID == AllTenants {
		msg = fmt.Sprintf("all runs of every tenant held by %s", h.HeldBy)
	}
	if h.Reason != "" {
		msg += ": " + h.Reason
	}
	return msg
}

// SetRunHold holds every run of tenant (AllTenants: of every tenant) until
// ClearRunHold; holding again replaces the reason and keeps the start.
func (db *DB) SetRunHold(ctx context.Context, tenant int64, reason, by string) (RunHold, error) {
	var h RunHold
	err := db.db.GetContext(ctx, &h, `INSERT INTO run_holds (tenant_id, reason, held_by) VALUES ($1, $2, $3)
		ON CONFLICT (tenant_id) DO UPDATE SET reason = excluded.reason, held_by = excluded.held_by
		RETURNING tenant_id, reason, held_by, created_at`, tenant, reason, by)
	if err != nil {
		return RunHold{}, fmt.Errorf("hold the runs of tenant %d: %w", tenant, err)
	}
	return h, nil
}

// ClearRunHold ends the manual hold of tenant (AllTenants: the platform's);
// it reports whether there was one.
func (db *DB) ClearRunHold(ctx context.Context, tenant int64) (bool, error) {
	res, err := db.db.ExecContext(ctx, `DELETE FROM run_holds WHERE tenant_id = $1`, tenant)
	if err != nil {
		return false, fmt.Errorf("release the runs of tenant %d: %w", tenant, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// RunHolds returns the manual holds that apply to tenant's runs: the
// platform's first, then the tenant's own. (AllTenants returns only the
// platform's.)
func (db *DB) RunHolds(ctx context.Context, tenant int64) ([]RunHold, error) {
	var out []RunHold
	err := db.db.SelectContext(ctx, &out, `SELECT tenant_id, reason, held_by, created_at FROM run_holds
		WHERE tenant_id IN (0, $1) ORDER BY tenant_id`, tenant)
	return out, err
}
