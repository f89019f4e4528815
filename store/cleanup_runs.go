package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/sweephq/sweep"
)

// A cleanup policy's run is decided when it is claimed: the scheduler claims
// a due run (ClaimDuePolicies), an operator's run-now claims one at once
// (ClaimRunNow). The claim records the policy's revision, the selection and
// batch size it may run, and whether it was a dry run. CreateBatch makes a
// batch only for a claimed run and only while that revision still stands,
// enabled (for a scheduled run) and not awaiting approval; otherwise the run
// is dropped with its reason. A task that names a run nobody claimed makes
// nothing: a due time is a decision of the scheduler's, not the task's.

// CleanupClaim names a claimed run of a policy and the revision its task says
// was claimed.
type CleanupClaim struct {
	TenantID, PolicyID int64
	Due                time.Time
	Revision           int64
}

// DroppedRun is CreateBatch's error for a claimed run that must not make a
// batch any more; Reason says why, for the operator. The run is recorded as
// dropped, so a delivery again finds the same answer.
type DroppedRun struct{ Reason string }

func (e *DroppedRun) Error() string { return "cleanup run dropped: " + e.Reason }

// BatchKey is the idempotency key of a policy's batch for a due time: one
// import per policy and due time, however often the run is delivered.
func BatchKey(policyID int64, due time.Time) string {
	return fmt.Sprintf("cleanup-policy:%d:%s", policyID, due.UTC().Format(time.RFC3339))
}

// claimRun records the policy's run at due with the revision and dry run the
// policy has in tx now; a run claimed before stays as it was.
func claimRun(ctx context.Context, tx sqlx.ExecerContext, tenant, policy int64, due time.Time, runNow bool, by sweep.Requester) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO cleanup_runs (tenant_id, policy_id, due, revision, dry_run, run_now, requested_by, requested_token)
		SELECT tenant_id, id, $3, revision, dry_run, $4, nullif($5, ''), nullif($6, 0) FROM cleanup_policies WHERE tenant_id = $1 AND id = $2
		ON CONFLICT (tenant_id, policy_id, due) DO NOTHING`, tenant, policy, due, runNow, by.Name, by.TokenID)
	if err != nil {
		return fmt.Errorf("claim run of cleanup policy %d due %s: %w", policy, due.UTC().Format(time.RFC3339), err)
	}
	return nil
}

// ClaimRunNow claims a run of the policy at due for an operator's run-now,
// with the policy's revision as it stands, and returns the claim. by is who
// asked: the requester of its batch, who may not approve it.
func (db *DB) ClaimRunNow(ctx context.Context, tenant, policy int64, due time.Time, by sweep.Requester) (CleanupClaim, error) {
	c := CleanupClaim{TenantID: tenant, PolicyID: policy, Due: due}
	if err := claimRun(ctx, db.db, tenant, policy, due, true, by); err != nil {
		return c, err
	}
	err := db.db.GetContext(ctx, &c.Revision, `SELECT revision FROM cleanup_runs WHERE tenant_id = $1 AND policy_id = $2 AND due = $3`, tenant, policy, due)
	if errors.Is(err, sql.ErrNoRows) {
		return c, sweep.Errorf(sweep.ENOTFOUND, "Cleanup policy %d was not found.", policy)
	}
	return c, err
}

// runColumns are the columns of a claimed run that runRow reads.
const runColumns = `revision AS run_revision, dry_run AS run_dry_run, run_now, outcome, import_id AS run_import_id, reason,
	requested_by, requested_token`

type runRow struct {
	Revision int64          `db:"run_revision"`
	DryRun   bool           `db:"run_dry_run"`
	RunNow   bool           `db:"run_now"`
	Outcome  string         `db:"outcome"`
	ImportID sql.NullInt64  `db:"run_import_id"`
	Reason   sql.NullString `db:"reason"`
	AskedBy  sql.NullString `db:"requested_by"`
	AskedTok sql.NullInt64  `db:"requested_token"`
}

// standing says why policy p may not make the batch of run r any more, or "".
func standing(p sweep.CleanupPolicy, r runRow) string {
	switch {
	case p.Revision != r.Revision:
		return fmt.Sprintf("the policy's selection or batch size changed after the run came due (revision %d was claimed; it is at revision %d now), so the run was not made; the next run takes the policy as it is then", r.Revision, p.Revision)
	case p.AwaitsApproval:
		return "the policy awaits the approval of another person with the imports:approve scope"
	case !p.Enabled && !r.RunNow:
		return "the policy was disabled after the run came due"
	}
	return ""
}

// CreateBatch turns a claimed run of a policy into an import of source
// schedule holding the customers the claimed revision selects now, written as
// an import file so it passes the same validation as any other. A batch that
// finds nothing is recorded as a completed import of zero rows. The import,
// its file, the run's outcome and the policy's record of it (last run, batch,
// how many it found) commit in one transaction, with the policy row locked
// and checked again: a run delivered again after a crash finds either all of
// it (and returns the batch with existed set) or none of it. A run nobody
// claimed, or claimed with another revision than c says, is ENOTFOUND; a run
// whose revision no longer stands is dropped (*DroppedRun).
func (db *DB) CreateBatch(ctx context.Context, c CleanupClaim) (imp sweep.Import, existed bool, err error) {
	var r runRow
	err = db.db.GetContext(ctx, &r, `SELECT `+runColumns+` FROM cleanup_runs
		WHERE tenant_id = $1 AND policy_id = $2 AND due = $3`, c.TenantID, c.PolicyID, c.Due)
	if errors.Is(err, sql.ErrNoRows) || err == nil && r.Revision != c.Revision {
		return imp, false, sweep.Errorf(sweep.ENOTFOUND, "No run of cleanup policy %d due at %s with revision %d was claimed; a batch is made only for a run the scheduler (or run-now) claimed. Nothing was made.",
			c.PolicyID, c.Due.UTC().Format(time.RFC3339Nano), c.Revision)
	} else if err != nil {
		return imp, false, fmt.Errorf("read the run of cleanup policy %d: %w", c.PolicyID, err)
	}
	switch r.Outcome {
	case "dropped":
		return imp, false, &DroppedRun{Reason: r.Reason.String}
	case "batch":
		imp, err = db.GetImport(ctx, c.TenantID, r.ImportID.Int64)
		return imp, true, err
	}
	if imp, _, err := db.importByKey(ctx, c.TenantID, sweep.KeySpace(sweep.SourceSchedule), BatchKey(c.PolicyID, c.Due)); err == nil {
		return imp, true, nil // made before runs recorded their outcome
	} else if sweep.ErrorCode(err) != sweep.ENOTFOUND {
		return sweep.Import{}, false, err
	}
	p, err := db.GetPolicy(ctx, c.TenantID, c.PolicyID)
	if err != nil {
		return imp, false, err
	}
	if why := standing(p, r); why != "" {
		return imp, false, db.dropRun(ctx, c, why)
	}
	n := NewImport{
		TenantID: p.TenantID, Source: sweep.SourceSchedule, Policy: sweep.PolicyLine,
		FileName:        fmt.Sprintf("cleanup-%d-%s.csv", p.ID, c.Due.UTC().Format("20060102T150405Z")),
		AutoStart:       !p.DryRun && !r.DryRun, // a dry run at the claim stays one
		IdempotencyKey:  BatchKey(p.ID, c.Due),
		CreatedBy:       "cleanup policy: " + p.Name,
		CleanupPolicyID: p.ID,
		RunWindow:       p.RunWindow,
		// Who asked for the batch, who may not approve it: the run-now's
		// caller, or whoever set the policy's selection and batch size.
		CreatedByToken: p.SelectedBy.TokenID,
	}
	if r.RunNow && r.AskedTok.Valid {
		n.CreatedByToken = r.AskedTok.Int64
	}
	// The selection is at most max_batch ids: read it first, so the batch is
	// created knowing whether it is empty.
	var ids []string
	if err := db.PolicyCandidates(ctx, p, func(key string) error { ids = append(ids, key); return nil }); err != nil {
		return sweep.Import{}, false, err
	}
	var file bytes.Buffer
	sweep.WriteKeysFile(&file, func(add func(string) error) error {
		for _, id := range ids {
			add(id)
		}
		return nil
	})
	var stale string
	imp, existed, err = db.createImport(ctx, n, &file, createOptions{empty: len(ids) == 0, also: func(tx *sqlx.Tx, id int64) error {
		// The policy as the selection was read; a change committed since
		// then rolls the batch back.
		var now policyRow
		if err := tx.GetContext(ctx, &now, `SELECT `+policyColumns+` FROM cleanup_policies WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, p.TenantID, p.ID); err != nil {
			return err
		}
		if stale = standing(now.toPolicy(), r); stale != "" {
			return errStaleRun
		}
		if _, err := tx.ExecContext(ctx, `UPDATE cleanup_runs SET outcome = 'batch', import_id = $4, decided_at = now()
			WHERE tenant_id = $1 AND policy_id = $2 AND due = $3 AND outcome = 'claimed'`, p.TenantID, p.ID, c.Due, id); err != nil {
			return err
		}
		// last_run_at only moves forward: a late run does not set it back.
		_, err := tx.ExecContext(ctx, `UPDATE cleanup_policies SET last_run_at = greatest(last_run_at, $3), last_import_id = $4, last_found = $5
			WHERE tenant_id = $1 AND id = $2`, p.TenantID, p.ID, c.Due, id, len(ids))
		return err
	}})
	if errors.Is(err, errStaleRun) {
		return imp, false, db.dropRun(ctx, c, stale)
	}
	return imp, existed, err
}

var errStaleRun = errors.New("the cleanup policy changed while its batch was made")

// dropRun records a claimed run as dropped, and on the policy, and returns
// the *DroppedRun that says why.
func (db *DB) dropRun(ctx context.Context, c CleanupClaim, reason string) error {
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE cleanup_runs SET outcome = 'dropped', reason = $4, decided_at = now()
			WHERE tenant_id = $1 AND policy_id = $2 AND due = $3 AND outcome = 'claimed'`, c.TenantID, c.PolicyID, c.Due, reason)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // decided meanwhile by another delivery
		}
		_, err = tx.ExecContext(ctx, `UPDATE cleanup_policies SET last_dropped_at = now(), last_drop_reason = $3 WHERE tenant_id = $1 AND id = $2`,
			c.TenantID, c.PolicyID, reason)
		return err
	})
	if err != nil {
		return fmt.Errorf("drop run of cleanup policy %d: %w", c.PolicyID, err)
	}
	return &DroppedRun{Reason: reason}
}

// BatchStanding says how a cleanup batch stands with its policy now: why
// its claimed run no longer stands (the policy's selection or batch size
// changed, it was disabled, awaits approval or was deleted since; "" when it
// stands), and whether it runs under its policy's approval (approved by a
// second person, at the very revision its run was claimed for).
func (db *DB) BatchStanding(ctx context.Context, tenant, importID int64) (why string, covered bool, err error) {
	var policyID sql.NullInt64
	err = db.db.GetContext(ctx, &policyID, `SELECT cleanup_policy_id FROM imports WHERE tenant_id = $1 AND id = $2`, tenant, importID)
	if errors.Is(err, sql.ErrNoRows) || err == nil && !policyID.Valid {
		return "", false, nil // not a batch
	} else if err != nil {
		return "", false, fmt.Errorf("read cleanup batch %d: %w", importID, err)
	}
	p, err := db.GetPolicy(ctx, tenant, policyID.Int64)
	if sweep.ErrorCode(err) == sweep.ENOTFOUND {
		return "the policy was deleted", false, nil
	} else if err != nil {
		return "", false, err
	}
	var r runRow
	err = db.db.GetContext(ctx, &r, `SELECT `+runColumns+` FROM cleanup_runs WHERE tenant_id = $1 AND policy_id = $2 AND import_id = $3`, tenant, p.ID, importID)
	if errors.Is(err, sql.ErrNoRows) {
		// A batch made before runs were recorded: nothing covers it, and
		// nothing of its run stops it.
		return "", false, nil
	} else if err != nil {
		return "", false, fmt.Errorf("read the run of cleanup batch %d: %w", importID, err)
	}
	why = standing(p, r)
	return why, why == "" && p.Approval != nil && p.Approval.ApprovedAt != nil && p.ApprovedRevision == r.Revision, nil
}
