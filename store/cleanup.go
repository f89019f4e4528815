package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/robfig/cron/v3"
	"github.com/sweephq/sweep"
)

// NextRun returns the first time after after that spec names: five cron fields
// (minute hour day-of-month month day-of-week) or a descriptor such as @daily,
// in UTC unless the spec starts with CRON_TZ=Area/City. A spec that fires
// more often than once every sweep.MinCleanupPeriod is refused, and so is the
// prefix TZ=, which the cron library also reads but sweep does not document.
func NextRun(spec string, after time.Time) (time.Time, error) {
	const example = "use five fields, minute hour day-of-month month day-of-week, e.g. \"0 2 * * *\" for 02:00 UTC every night, or @daily, @hourly"
	if zone, ok := strings.CutPrefix(spec, "TZ="); ok {
		zone, _, _ = strings.Cut(zone, " ")
		return time.Time{}, sweep.Errorf(sweep.EINVALID,
			"cron_spec %q names its time zone with TZ=; write CRON_TZ= instead, e.g. \"CRON_TZ=%s 0 2 * * *\".", spec, cmp.Or(zone, "Europe/Berlin"))
	}
	if zone, ok := strings.CutPrefix(spec, "CRON_TZ="); ok && !strings.Contains(strings.TrimSpace(zone), " ") {
		// The cron library panics on a time zone with nothing after it.
		return time.Time{}, sweep.Errorf(sweep.EINVALID,
			"cron_spec %q has no schedule after the time zone; write it after a space, e.g. \"CRON_TZ=Europe/Berlin 0 2 * * *\".", spec)
	}
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return time.Time{}, sweep.Errorf(sweep.EINVALID, "cron_spec %q is not valid (%v); %s.", spec, err, example)
	}
	next := s.Next(after.UTC())
	if next.IsZero() {
		return time.Time{}, sweep.Errorf(sweep.EINVALID, "cron_spec %q never fires; pick a date that exists, e.g. \"0 2 * * *\".", spec)
	}
	if a, b, ok := tooFrequent(s, next); ok {
		return time.Time{}, sweep.Errorf(sweep.EINVALID,
			"cron_spec %q fires %s apart (at %s and %s UTC); a cleanup policy runs at most once an hour: use one minute in the first field, e.g. \"0 * * * *\" for hourly or \"0 2 * * *\" for nightly, @hourly, @daily, or @every 1h or longer.",
			spec, b.Sub(a), a.UTC().Format("2006-01-02 15:04:05"), b.UTC().Format("2006-01-02 15:04:05"))
	}
	return next, nil
}

// tooFrequent returns two consecutive firings of s, from first on, closer
// than sweep.MinCleanupPeriod, if there are any among the next hundred. The
// first two firings alone would not do: "0,30 2 * * *" checked at 02:10 fires
// at 02:30 and then a day later. A spec with two or more minutes in its first
// field fires twice within one hour among its first 61 firings; one with a
// single minute fires whole hours apart, and @every always the same period.
func tooFrequent(s cron.Schedule, first time.Time) (a, b time.Time, found bool) {
	a = first
	for range 100 {
		b = s.Next(a)
		if b.IsZero() {
			return a, b, false
		}
		if b.Sub(a) < sweep.MinCleanupPeriod {
			return a, b, true
		}
		a = b
	}
	return a, b, false
}

const policyColumns = `id, tenant_id, name, kind, params, cron_spec, max_batch, enabled, dry_run,
	last_run_at, next_run_at, last_import_id, last_found, created_at, updated_at, run_window,
	awaiting_approval, approval_requested_by, approval_requested_token, approval_requested_at, approved_by, approved_at, revision,
	last_dropped_at, last_drop_reason, approved_token, approved_revision, selection_by, selection_by_token`

type policyRow struct {
	ID           int64          `db:"id"`
	TenantID     int64          `db:"tenant_id"`
	Name         string         `db:"name"`
	Kind         string         `db:"kind"`
	Params       []byte         `db:"params"`
	CronSpec     string         `db:"cron_spec"`
	MaxBatch     int            `db:"max_batch"`
	Enabled      bool           `db:"enabled"`
	DryRun       bool           `db:"dry_run"`
	LastRunAt    sql.NullTime   `db:"last_run_at"`
	NextRunAt    sql.NullTime   `db:"next_run_at"`
	LastImportID sql.NullInt64  `db:"last_import_id"`
	LastFound    sql.NullInt64  `db:"last_found"`
	CreatedAt    time.Time      `db:"created_at"`
	UpdatedAt    time.Time      `db:"updated_at"`
	RunWindow    string         `db:"run_window"`
	Awaiting     bool           `db:"awaiting_approval"`
	AskedBy      sql.NullString `db:"approval_requested_by"`
	AskedToken   sql.NullInt64  `db:"approval_requested_token"`
	AskedAt      sql.NullTime   `db:"approval_requested_at"`
	ApprovedBy   sql.NullString `db:"approved_by"`
	ApprovedAt   sql.NullTime   `db:"approved_at"`
	Revision     int64          `db:"revision"`
	DroppedAt    sql.NullTime   `db:"last_dropped_at"`
	DropReason   sql.NullString `db:"last_drop_reason"`
	ApprovedTok  sql.NullInt64  `db:"approved_token"`
	ApprovedRev  sql.NullInt64  `db:"approved_revision"`
	SelectedBy   sql.NullString `db:"selection_by"`
	SelectedTok  sql.NullInt64  `db:"selection_by_token"`
}

func int64Ptr(v sql.NullInt64) *int64 {
	if !v.Valid {
		return nil
	}
	return &v.Int64
}

func (r policyRow) toPolicy() sweep.CleanupPolicy {
	p := sweep.CleanupPolicy{
		ID: r.ID, TenantID: r.TenantID, Name: r.Name, Kind: sweep.CleanupKind(r.Kind), CronSpec: r.CronSpec,
		MaxBatch: r.MaxBatch, Enabled: r.Enabled, DryRun: r.DryRun, LastRunAt: timePtr(r.LastRunAt),
		NextRunAt: timePtr(r.NextRunAt), LastImportID: int64Ptr(r.LastImportID), LastFound: int64Ptr(r.LastFound),
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	p.RunWindow, _ = sweep.ParseWindow(r.RunWindow) // stored in its canonical form
	p.AwaitsApproval, p.Revision = r.Awaiting, r.Revision
	p.SelectedBy = sweep.Requester{Name: r.SelectedBy.String, TokenID: r.SelectedTok.Int64}
	p.ApprovedRevision = r.ApprovedRev.Int64
	if r.DroppedAt.Valid {
		p.LastDrop = &sweep.CleanupDrop{At: r.DroppedAt.Time, Reason: r.DropReason.String}
	}
	if r.AskedAt.Valid {
		p.Approval = &sweep.Approval{RequestedBy: r.AskedBy.String, RequestedByToken: r.AskedToken.Int64, RequestedAt: r.AskedAt.Time,
			ApprovedBy: r.ApprovedBy.String, ApprovedAt: timePtr(r.ApprovedAt)}
		if r.ApprovedAt.Valid {
			p.Approval.ApprovedByToken = r.ApprovedTok.Int64
		}
	}
	_ = json.Unmarshal(r.Params, &p.Params) // written by us from the same struct
	return p
}

// checkPolicy validates p and returns its next run time after now.
func checkPolicy(p sweep.CleanupPolicy, now time.Time) (time.Time, error) {
	if err := p.Check(); err != nil {
		return time.Time{}, err
	}
	return NextRun(p.CronSpec, now)
}

func policyConflict(err error, name string) error {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "23505" {
		return sweep.Errorf(sweep.ECONFLICT, "A cleanup policy named %q already exists; pick another name or change that one.", name)
	}
	return err
}

// CreatePolicy stores a new cleanup policy and schedules its first run.
func (db *DB) CreatePolicy(ctx context.Context, p sweep.CleanupPolicy) (sweep.CleanupPolicy, error) {
	next, err := checkPolicy(p, time.Now())
	if err != nil {
		return p, err
	}
	params, _ := json.Marshal(p.Params)
	var r policyRow
	err = db.db.GetContext(ctx, &r, `
		INSERT INTO cleanup_policies (tenant_id, name, kind, params, cron_spec, max_batch, enabled, dry_run, next_run_at, run_window,
			awaiting_approval, approval_requested_by, approval_requested_token, approval_requested_at, selection_by, selection_by_token)
		SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, a.by, a.token, a.at, nullif($14, ''), nullif($15, 0)
		FROM (SELECT CASE WHEN $11 THEN $12 END AS by, CASE WHEN $11 THEN nullif($13, 0) END AS token, CASE WHEN $11 THEN now() END AS at) a
		RETURNING `+policyColumns,
		p.TenantID, p.Name, p.Kind, params, p.CronSpec, p.MaxBatch, p.Enabled, p.DryRun, next, p.RunWindow.String(),
		p.AwaitsApproval, asker(p).Name, asker(p).TokenID, p.SelectedBy.Name, p.SelectedBy.TokenID)
	if err != nil {
		return p, fmt.Errorf("create cleanup policy: %w", policyConflict(err, p.Name))
	}
	return r.toPolicy(), nil
}

// GetPolicy returns policy id of tenant; another tenant's is ENOTFOUND.
func (db *DB) GetPolicy(ctx context.Context, tenant, id int64) (sweep.CleanupPolicy, error) {
	var r policyRow
	err := db.db.GetContext(ctx, &r, `SELECT `+policyColumns+` FROM cleanup_policies WHERE tenant_id = $1 AND id = $2`, tenant, id)
	if err != nil {
		return sweep.CleanupPolicy{}, notFound(err, "Cleanup policy %d was not found.", id)
	}
	return r.toPolicy(), nil
}

// ListPolicies returns the tenant's cleanup policies by id.
func (db *DB) ListPolicies(ctx context.Context, tenant int64) ([]sweep.CleanupPolicy, error) {
	var rows []policyRow
	if err := db.db.SelectContext(ctx, &rows, `SELECT `+policyColumns+` FROM cleanup_policies WHERE tenant_id = $1 ORDER BY id`, tenant); err != nil {
		return nil, fmt.Errorf("list cleanup policies: %w", err)
	}
	out := make([]sweep.CleanupPolicy, len(rows))
	for i, r := range rows {
		out[i] = r.toPolicy()
	}
	return out, nil
}

// UpdatePolicy replaces a policy's settings with p's and reschedules it from
// now (a policy enabled again does not catch up on runs it missed). p must
// be the policy as read (its UpdatedAt): when it changed meanwhile nothing is
// written and the error is ErrPolicyChanged, for the caller to read it again
// and apply its change anew, so two changes at once never lose one. A change
// of what it selects or how much makes a new revision, which no earlier
// approval covers, and is recorded as p.SelectedBy's.
func (db *DB) UpdatePolicy(ctx context.Context, p sweep.CleanupPolicy) (sweep.CleanupPolicy, error) {
	next, err := checkPolicy(p, time.Now())
	if err != nil {
		return p, err
	}
	params, _ := json.Marshal(p.Params)
	var r policyRow
	err = db.db.GetContext(ctx, &r, `
		UPDATE cleanup_policies c SET name = $3, kind = $4, params = $5, cron_spec = $6, max_batch = $7,
			enabled = $8, dry_run = $9, next_run_at = $10, run_window = $11, updated_at = now(),
			awaiting_approval = $12,
			revision = c.revision + CASE WHEN old.selection_changed THEN 1 ELSE 0 END,
			-- Whoever changes what it selects, or how much, asks anew: they
			-- may not approve their own change, whoever asked before. A
			-- new selection is covered by no earlier approval, above the
			-- threshold or under it.
			approval_requested_by = CASE WHEN old.selection_changed THEN CASE WHEN $12 THEN $13 END ELSE c.approval_requested_by END,
			approval_requested_token = CASE WHEN old.selection_changed THEN CASE WHEN $12 THEN nullif($14, 0) END ELSE c.approval_requested_token END,
			approval_requested_at = CASE WHEN old.selection_changed THEN CASE WHEN $12 THEN now() END ELSE c.approval_requested_at END,
			approved_by = CASE WHEN $12 OR old.selection_changed THEN NULL ELSE c.approved_by END,
			approved_token = CASE WHEN $12 OR old.selection_changed THEN NULL ELSE c.approved_token END,
			approved_at = CASE WHEN $12 OR old.selection_changed THEN NULL ELSE c.approved_at END,
			approved_revision = CASE WHEN $12 OR old.selection_changed THEN NULL ELSE c.approved_revision END,
			selection_by = CASE WHEN old.selection_changed THEN nullif($15, '') ELSE c.selection_by END,
			selection_by_token = CASE WHEN old.selection_changed THEN nullif($16, 0) ELSE c.selection_by_token END
		FROM (SELECT kind IS DISTINCT FROM $4 OR params IS DISTINCT FROM $5 OR max_batch IS DISTINCT FROM $7 AS selection_changed
			FROM cleanup_policies WHERE tenant_id = $1 AND id = $2) old
		WHERE c.tenant_id = $1 AND c.id = $2 AND c.updated_at = $17 RETURNING `+policyColumns,
		p.TenantID, p.ID, p.Name, p.Kind, params, p.CronSpec, p.MaxBatch, p.Enabled, p.DryRun, next, p.RunWindow.String(),
		p.AwaitsApproval, asker(p).Name, asker(p).TokenID, p.SelectedBy.Name, p.SelectedBy.TokenID, p.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		if _, gerr := db.GetPolicy(ctx, p.TenantID, p.ID); gerr != nil {
			return p, gerr
		}
		return p, ErrPolicyChanged
	} else if err != nil {
		return p, fmt.Errorf("update cleanup policy %d: %w", p.ID, policyConflict(err, p.Name))
	}
	return r.toPolicy(), nil
}

// ErrPolicyChanged is UpdatePolicy's answer when the policy changed since
// it was read.
var ErrPolicyChanged = sweep.Errorf(sweep.ECONFLICT, "The cleanup policy changed while this change was made; read it again and send the change again.")

// DeletePolicy removes a policy. Its batches stay in the import history.
func (db *DB) DeletePolicy(ctx context.Context, tenant, id int64) error {
	res, err := db.db.ExecContext(ctx, `DELETE FROM cleanup_policies WHERE tenant_id = $1 AND id = $2`, tenant, id)
	if err != nil {
		return fmt.Errorf("delete cleanup policy %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return sweep.Errorf(sweep.ENOTFOUND, "Cleanup policy %d was not found.", id)
	}
	return nil
}

// candidates is the query of a policy's kind: the tenant's customers it
// selects that no block of the plan refuses, in id order, at most
// max_batch. The columns it reads are those the plan's subject.columns
// names. Arguments: $1 tenant, $2 max batch, $3 days, $4 import id, $5
// source.
func (db *DB) candidates(ctx context.Context, kind sweep.CleanupKind) (string, error) {
	cp, err := db.erasurePlan(ctx)
	if err != nil {
		return "", err
	}
	cols := cp.Plan.Subject.Columns
	need := func(col, name, what string) (string, error) {
		if col == "" {
			return "", sweep.Errorf(sweep.EINVALID, "A %s cleanup policy reads %s, and the erasure plan names no such column of %s: add subject.columns.%s to the plan.", kind, what, cp.Plan.Subject.Table, name)
		}
		return "c." + pq.QuoteIdentifier(col), nil
	}
	var cond string
	switch kind {
	case sweep.CleanupInactive:
		c, err := need(cols.LastActivity, "last_activity", "each customer's last activity")
		if err != nil {
			return "", err
		}
		cond = c + ` < now() - make_interval(days => p.days)`
	case sweep.CleanupCreatedBy:
		var parts []string
		if cols.CreatedByImport != "" {
			parts = append(parts, `(p.import_id > 0 AND c.`+pq.QuoteIdentifier(cols.CreatedByImport)+` = p.import_id)`)
		}
		if cols.Origin != "" {
			parts = append(parts, `(p.import_id = 0 AND c.`+pq.QuoteIdentifier(cols.Origin)+` = p.source)`)
		}
		if len(parts) == 0 {
			_, err := need("", "origin", "where each customer came from")
			return "", err
		}
		cond = "(" + strings.Join(parts, " OR ") + ")"
	case sweep.CleanupErasureRequested:
		c, err := need(cols.ErasureRequested, "erasure_requested", "when each customer asked to be erased")
		if err != nil {
			return "", err
		}
		cond = c + ` IS NOT NULL AND ` + c + ` <= now() - make_interval(days => p.days)`
	default:
		return "", sweep.Errorf(sweep.EINVALID, "Unknown cleanup kind %q.", kind)
	}
	notBlocked := ""
	for i := 0; i < cp.Blocks(); i++ {
		notBlocked += ` AND NOT ` + cp.BlockExistsKey(i, "$1", "c."+cp.SubjectKey())
	}
	return `SELECT c.` + cp.SubjectKey() + `::text FROM ` + cp.SubjectTable() + ` c, (SELECT $3::int AS days, $4::bigint AS import_id, $5::text AS source) p
		WHERE ` + cp.OfTenant("c", "$1") + ` AND ` + cond + notBlocked + `
		ORDER BY c.` + cp.SubjectKey() + ` LIMIT $2`, nil
}

// PolicyCandidates calls fn with the key of each customer the policy selects
// now (a whole number in decimal, a uuid or text as the platform writes it),
// in key order, at most its max batch.
func (db *DB) PolicyCandidates(ctx context.Context, p sweep.CleanupPolicy, fn func(key string) error) error {
	q, err := db.candidates(ctx, p.Kind)
	if err != nil {
		return err
	}
	rows, err := db.db.QueryContext(ctx, q, p.TenantID, p.MaxBatch, p.Params.Days, p.Params.ImportID, p.Params.Source)
	if err != nil {
		return fmt.Errorf("cleanup policy %d candidates: %w", p.ID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		if err := rows.Scan(&key); err != nil {
			return err
		}
		if err := fn(key); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Preview is what a policy would delete if it ran now.
type Preview struct {
	Count       int64   // customers the next batch would take (at most max_batch)
	CustomerIDs []int64 // the first of them, in id order
	// CustomerKeys lists them instead when the platform's key is a uuid
	// or text.
	CustomerKeys []string
	Truncated    bool // more ids than listed
}

// PreviewPolicy counts and lists (up to list ids) what the policy would delete now.
func (db *DB) PreviewPolicy(ctx context.Context, p sweep.CleanupPolicy, list int) (Preview, error) {
	var pv Preview
	k, err := db.Key(ctx)
	if err != nil {
		return pv, err
	}
	err = db.PolicyCandidates(ctx, p, func(key string) error {
		pv.Count++
		switch {
		case len(pv.CustomerIDs)+len(pv.CustomerKeys) >= list:
			pv.Truncated = true
		case k.Kind != sweep.KeyWhole:
			pv.CustomerKeys = append(pv.CustomerKeys, key)
		default:
			id, err := strconv.ParseInt(key, 10, 64)
			if err != nil {
				return err
			}
			pv.CustomerIDs = append(pv.CustomerIDs, id)
		}
		return nil
	})
	return pv, err
}

// DuePolicy is a policy run the scheduler found due.
type DuePolicy struct {
	TenantID, PolicyID int64
	// PolicyCreated is the policy's creation time: with its id, the identity
	// its cleanup:run task carries.
	PolicyCreated time.Time
	Due           time.Time
	// Revision is the policy's revision at the claim: the selection and
	// batch size its batch may run, and no other.
	Revision int64
}

// ClaimDuePolicies claims each enabled policy's run that is due: it records
// the claim (see CreateBatch) and moves the policy's next run to the
// following time in one transaction, and once that has committed calls
// enqueue for each claimed run. A task never reaches a worker before its
// claim can be read; a run whose enqueue fails stays claimed and undecided,
// and UndecidedRuns finds it for the next look. Two schedulers never claim
// the same run. A policy whose spec no longer parses is disabled rather than
// claimed forever.
func (db *DB) ClaimDuePolicies(ctx context.Context, now time.Time, enqueue func(DuePolicy) error) (int, error) {
	var runs []DuePolicy
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		runs = runs[:0]
		var rows []policyRow
		if err := tx.SelectContext(ctx, &rows, `SELECT `+policyColumns+` FROM cleanup_policies
			WHERE enabled AND NOT awaiting_approval AND next_run_at <= $1 ORDER BY next_run_at LIMIT 100 FOR UPDATE SKIP LOCKED`, now); err != nil {
			return err
		}
		for _, r := range rows {
			next, err := NextRun(r.CronSpec, now)
			if err != nil {
				if _, err := tx.ExecContext(ctx, `UPDATE cleanup_policies SET enabled = false, updated_at = now() WHERE tenant_id = $1 AND id = $2`,
					r.TenantID, r.ID); err != nil {
					return err
				}
				continue
			}
			if err := claimRun(ctx, tx, r.TenantID, r.ID, r.NextRunAt.Time, false, sweep.Requester{}); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE cleanup_policies SET next_run_at = $3 WHERE tenant_id = $1 AND id = $2`,
				r.TenantID, r.ID, next); err != nil {
				return err
			}
			runs = append(runs, DuePolicy{TenantID: r.TenantID, PolicyID: r.ID, PolicyCreated: r.CreatedAt, Due: r.NextRunAt.Time, Revision: r.Revision})
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("claim due cleanup policies: %w", err)
	}
	var errs []error
	for _, d := range runs {
		if err := enqueue(d); err != nil {
			errs = append(errs, err)
		}
	}
	return len(runs), errors.Join(errs...)
}

// UndecidedRuns returns the claimed runs that made no batch and were not
// dropped, claimed more than after ago: their task was lost (Redis lost it,
// or the enqueue after the claim failed) or waits for a worker. Enqueueing
// them again is safe: a task's id names its run, and a run makes one batch.
func (db *DB) UndecidedRuns(ctx context.Context, after time.Duration) ([]DuePolicy, error) {
	var rows []struct {
		TenantID int64     `db:"tenant_id"`
		PolicyID int64     `db:"policy_id"`
		Created  time.Time `db:"created_at"`
		Due      time.Time `db:"due"`
		Revision int64     `db:"revision"`
	}
	err := db.db.SelectContext(ctx, &rows, `SELECT r.tenant_id, r.policy_id, p.created_at, r.due, r.revision
		FROM cleanup_runs r JOIN cleanup_policies p ON p.tenant_id = r.tenant_id AND p.id = r.policy_id
		WHERE r.outcome = 'claimed' AND NOT r.run_now AND r.claimed_at < now() - make_interval(secs => $1)
		ORDER BY r.claimed_at LIMIT 100`, after.Seconds())
	if err != nil {
		return nil, fmt.Errorf("undecided cleanup runs: %w", err)
	}
	out := make([]DuePolicy, len(rows))
	for i, r := range rows {
		out[i] = DuePolicy{TenantID: r.TenantID, PolicyID: r.PolicyID, PolicyCreated: r.Created, Due: r.Due, Revision: r.Revision}
	}
	return out, nil
}

// asker is who asked for the policy's approval (empty when none was asked).
func asker(p sweep.CleanupPolicy) sweep.Requester {
	if p.Approval == nil {
		return sweep.Requester{}
	}
	return sweep.Requester{Name: p.Approval.RequestedBy, TokenID: p.Approval.RequestedByToken}
}

// ApprovePolicy approves a policy's selection and batch size: another token
// than the one that asked, typing its batch size. It then makes batches as
// scheduled.
func (db *DB) ApprovePolicy(ctx context.Context, tenant, id int64, step sweep.ApprovalStep) (sweep.CleanupPolicy, error) {
	p, err := db.GetPolicy(ctx, tenant, id)
	if err != nil {
		return p, err
	}
	if !p.AwaitsApproval {
		return p, sweep.Errorf(sweep.ECONFLICT, "Cleanup policy %d does not await approval.", id)
	}
	if step.Revision != p.Revision {
		return p, sweep.Errorf(sweep.ECONFLICT, "Cleanup policy %d changed since you read it (revision %d; you read %d): read it again and approve what it selects now.", id, p.Revision, step.Revision)
	}
	if a := asker(p); a.TokenID != 0 && a.TokenID == step.ByToken || p.SelectedBy.TokenID != 0 && p.SelectedBy.TokenID == step.ByToken {
		return p, sweep.Errorf(sweep.EFORBIDDEN, "You asked for cleanup policy %d, so you cannot approve it yourself: another person with the imports:approve scope must.", id)
	} else if sweep.SameTokenName(a.Name, step.By) {
		return p, sameNameError(fmt.Sprintf("cleanup policy %d", id), step, a.Name)
	}
	if step.Confirm != int64(p.MaxBatch) {
		return p, sweep.Errorf(sweep.EINVALID, "To approve, type the most customers one batch of cleanup policy %d may delete: %d (you typed %d).", id, p.MaxBatch, step.Confirm)
	}
	var r policyRow
	err = db.db.GetContext(ctx, &r, `UPDATE cleanup_policies SET awaiting_approval = false, approved_by = $3, approved_token = nullif($5, 0),
			approved_at = now(), approved_revision = revision, updated_at = now()
		WHERE tenant_id = $1 AND id = $2 AND awaiting_approval AND revision = $4 RETURNING `+policyColumns, tenant, id, step.By, step.Revision, step.ByToken)
	if errors.Is(err, sql.ErrNoRows) {
		return p, sweep.Errorf(sweep.ECONFLICT, "Cleanup policy %d changed meanwhile; read it again.", id)
	} else if err != nil {
		return p, fmt.Errorf("approve cleanup policy %d: %w", id, err)
	}
	return r.toPolicy(), nil
}
