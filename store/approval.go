package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sweephq/sweep"
)

// ApprovalThreshold is the tenant's threshold: its own, else def.
func (db *DB) ApprovalThreshold(ctx context.Context, tenant, def int64) (int64, error) {
	var own sql.NullInt64
	err := db.db.GetContext(ctx, &own, `SELECT approval_threshold FROM tenants WHERE id = $1`, tenant)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("approval threshold of tenant %d: %w", tenant, err)
	}
	if own.Valid {
		return own.Int64, nil
	}
	return def, nil
}

// SetApprovalThreshold sets the tenant's own threshold (nil: back to sweep's
// default; 0: no approval ever).
func (db *DB) SetApprovalThreshold(ctx context.Context, tenant int64, threshold *int64) error {
	res, err := db.db.ExecContext(ctx, `UPDATE tenants SET approval_threshold = $2 WHERE id = $1`, tenant, threshold)
	if err != nil {
		return fmt.Errorf("set the approval threshold of tenant %d: %w", tenant, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return sweep.Errorf(sweep.ENOTFOUND, "Tenant %d does not exist.", tenant)
	}
	return nil
}

// RequestApproval moves a validated import to awaiting_approval instead of
// queued: it keeps what its starter asked (run_at, parallelism, window, cap)
// for when it is approved, and who asked, until expires. The impact preview
// is counted again first, so the request, its timeline step and the
// approver start from what the run would delete now.
func (db *DB) RequestApproval(ctx context.Context, tenant, id int64, opts sweep.StartOptions, why string, expires time.Time) (sweep.Import, error) {
	// An import that cannot have an impact (not validated, not the
	// tenant's) is refused by the transition below, naming its state.
	if _, err := db.RefreshImpact(ctx, tenant, id, -1, 0); err != nil && !slices.Contains([]string{sweep.ECONFLICT, sweep.ENOTFOUND}, sweep.ErrorCode(err)) {
		return sweep.Import{}, err
	}
	window, rate := runSettingArgs(opts.RunSettings)
	return db.transition(ctx, db.db, tenant, id, []sweep.Status{sweep.StatusValidated}, sweep.StatusAwaitingApproval,
		"run_at = coalesce($5, run_at), parallelism = CASE WHEN $6 > 0 THEN $6 ELSE parallelism END, "+runSettingSet(7)+`,
		approval_requested_by = $9, approval_requested_token = nullif($10, 0), approval_requested_at = now(),
		approval_expires_at = $11, approved_by = NULL, approved_token = NULL, approved_at = NULL, approval_reason = nullif($12, '')`,
		opts.RunAt, opts.Parallelism, window, rate, opts.By.Name, opts.By.TokenID, expires, why)
}

// ApproveImport queues an import awaiting approval, at its run_at if still
// ahead. The approver must be another person than the one who asked (not
// its token, nor a token of the same name), must type the number of
// customers the run deletes now (its impact preview, counted again when
// older than sweep.ImpactFreshFor), and the request must not have expired;
// each refusal says what to do.
func (db *DB) ApproveImport(ctx context.Context, tenant, id int64, step sweep.ApprovalStep) (sweep.Import, error) {
	cur, err := db.GetImport(ctx, tenant, id)
	if err != nil {
		return sweep.Import{}, err
	}
	if cur.Status != sweep.StatusAwaitingApproval {
		return cur, sweep.Errorf(sweep.ECONFLICT, "Import %d is %s, not awaiting approval; there is nothing to approve.", id, cur.Status)
	}
	if err := checkApprover(cur, step); err != nil {
		if sweep.ErrorCode(err) == sweep.ECONFLICT {
			// Expired: it ends now rather than at the scheduler's next look.
			db.expireApprovals(ctx, `AND tenant_id = $1 AND id = $2`, tenant, id)
		}
		return cur, err
	}
	m, err := db.RefreshImpact(ctx, tenant, id, -1, sweep.ImpactFreshFor)
	if err != nil {
		return cur, err
	}
	if step.Confirm != m.Customers {
		why := ""
		if skipped := cur.ValidRows - m.Customers; skipped > 0 {
			why = fmt.Sprintf(": %s of its %s valid rows are skipped, their customers deleted or linked to a loan since it validated",
				sweep.Commas(skipped), sweep.Commas(cur.ValidRows))
		}
		return cur, sweep.Errorf(sweep.EINVALID, "To approve, type the number of customers import %d deletes now: %d (you typed %d). Counted at %s%s; read its impact preview again before you approve.",
			id, m.Customers, step.Confirm, m.ComputedAt.UTC().Format("15:04:05 MST"), why)
	}
	return db.transition(ctx, db.db, tenant, id, []sweep.Status{sweep.StatusAwaitingApproval}, sweep.StatusQueued,
		`approved_by = $5, approved_token = nullif($6, 0), approved_at = now()`, step.By, step.ByToken)
}

// checkApprover refuses the person who asked for the import's run (the
// token that asked or created it, or another token of the same name: to a
// reader of the timeline they are one person), and an expired request.
func checkApprover(imp sweep.Import, step sweep.ApprovalStep) error {
	a := imp.Approval
	if a == nil {
		return sweep.Errorf(sweep.ECONFLICT, "Import %d has no approval request.", imp.ID)
	}
	if a.RequestedByToken != 0 && a.RequestedByToken == step.ByToken || imp.CreatedByToken != 0 && imp.CreatedByToken == step.ByToken {
		return sweep.Errorf(sweep.EFORBIDDEN, "You asked for this deletion (import %d), so you cannot approve or reject it yourself: another person with the imports:approve scope must. Cancel it if you no longer want it.", imp.ID)
	}
	for _, asker := range []string{a.RequestedBy, imp.CreatedBy} {
		if sweep.SameTokenName(asker, step.By) {
			return sameNameError(fmt.Sprintf("import %d", imp.ID), step, asker)
		}
	}
	if !a.ExpiresAt.After(time.Now()) {
		return sweep.Errorf(sweep.ECONFLICT, "The approval request of import %d expired at %s; nothing was deleted. It ends rejected: validate it again and start it to ask again.", imp.ID, a.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// sameNameError refuses a decision on what (an import, a cleanup policy) by
// a token named like the one that asked for it.
func sameNameError(what string, step sweep.ApprovalStep, asker string) error {
	return sweep.Errorf(sweep.EFORBIDDEN, "Your token (%s) has the name of the token that asked for %s (%q): to anyone who reads the timeline you are one person, so you cannot approve or reject it. Another person, with a token of their own name and the imports:approve scope, must.",
		sweep.Who(step.By, step.ByToken), what, strings.TrimSpace(asker))
}

// RejectImport ends an import awaiting approval rejected, with the
// approver's reason; nothing is deleted. The person who asked may not.
func (db *DB) RejectImport(ctx context.Context, tenant, id int64, step sweep.ApprovalStep) (sweep.Import, error) {
	cur, err := db.GetImport(ctx, tenant, id)
	if err != nil {
		return sweep.Import{}, err
	}
	if cur.Status != sweep.StatusAwaitingApproval {
		return cur, sweep.Errorf(sweep.ECONFLICT, "Import %d is %s, not awaiting approval; there is nothing to reject.", id, cur.Status)
	}
	if err := checkApprover(cur, step); err != nil && sweep.ErrorCode(err) == sweep.EFORBIDDEN {
		return cur, err
	}
	return db.transition(ctx, db.db, tenant, id, []sweep.Status{sweep.StatusAwaitingApproval}, sweep.StatusRejected,
		`error = $5, finished_at = now()`,
		fmt.Sprintf("Rejected by %s: %s. Nothing was deleted.", sweep.Who(step.By, step.ByToken), step.Reason))
}

// ExpireApprovals ends every approval request past its time rejected, saying
// so; it returns how many it ended.
func (db *DB) ExpireApprovals(ctx context.Context) (int, error) {
	return db.expireApprovals(ctx, "")
}

// expireApprovals ends the expired approval requests that also match and
// (an SQL condition on imports, with its arguments).
func (db *DB) expireApprovals(ctx context.Context, and string, args ...any) (int, error) {
	var ended []int64
	err := db.move(ctx, db.db, edges{
		from: []sweep.Status{sweep.StatusAwaitingApproval}, to: []sweep.Status{sweep.StatusRejected}, status: "'rejected'",
		set: `finished_at = now(),
			error = format('No one approved it before its request expired at %s; nothing was deleted. Validate and start it again to ask again.',
				to_char(approval_expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'))`,
		where: `status = 'awaiting_approval' AND approval_expires_at <= now() ` + and,
	}, &ended, "id", args...)
	if err != nil {
		return 0, fmt.Errorf("expire approval requests: %w", err)
	}
	return len(ended), nil
}
