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

// This file holds every change of an import's state: each edge of the table
// in the root package's status.go is a named operation here, written by one
// function, move, and nothing else writes imports.status — the database
// refuses an edge the table lacks, and a status written by any statement
// without move's mark (guard/import_states.sql, generated from status.go).
// Package lifecycle calls these and queues the task that follows each one.
//
// Edges and where they are performed:
//
//	uploaded   -> validating  RequestValidation (API, a new round), BeginValidating (worker)
//	rejected   -> validating  RequestValidation
//	validating -> validated   Validation.Finish (store/validate.go, through transition)
//	validating -> rejected    Validation.Finish
//	validated  -> queued      StartImport (API start, or the worker's auto start)
//	validated  -> awaiting_approval  RequestApproval (a start above the tenant's threshold)
//	awaiting_approval -> queued    ApproveImport (another token)
//	awaiting_approval -> rejected  RejectImport, ExpireApprovals
//	queued     -> running     BeginRunning (worker)
//	running    -> completed, completed_with_errors  CompleteImport
//	uploaded, validating, validated, awaiting_approval, queued -> cancelled  CancelImport
//	running    -> cancelled   FinishCancel (the run, after CancelImport asked)
//	paused     -> cancelled   CancelImport
//	queued, running -> paused PauseImport (the run stops after the chunk in flight)
//	paused     -> queued      ResumeImport
//	validating, queued, running -> failed  FailImport (the worker, out of retries)
//
// An import is created uploaded (CreateImport), or completed with no rows
// (CreateBatch of a cleanup run that found nothing); neither is an edge.

// transition moves import id from one of the states in from to state to,
// applying set (extra "col = value" assignments) in the same statement. When
// the import is in no such state it returns ECONFLICT naming the current state.
// Every from must be an edge of the table: a caller asking for another is a
// bug, refused before any SQL.
func (db *DB) transition(ctx context.Context, q sqlx.QueryerContext, tenant, id int64, from []sweep.Status, to sweep.Status, set string, args ...any) (sweep.Import, error) {
	states := make([]string, 0, len(from))
	for _, f := range from {
		states = append(states, string(f))
	}
	var rows []importRow
	err := db.move(ctx, q, edges{from: from, to: []sweep.Status{to}, status: "$3", set: set,
		where: "tenant_id = $1 AND id = $2 AND status = ANY($4)"}, &rows, importColumns,
		append([]any{tenant, id, to, pq.Array(states)}, args...)...)
	if err != nil {
		return sweep.Import{}, fmt.Errorf("import %d to %s: %w", id, to, err)
	}
	if len(rows) == 1 {
		return rows[0].toImport(), nil
	}
	cur, gerr := db.GetImport(ctx, tenant, id)
	if gerr != nil {
		return sweep.Import{}, gerr
	}
	// Not moved: whatever the table allows from its current state, this
	// step was asked from others (a start of a paused import is no resume).
	return cur, sweep.Errorf(sweep.ECONFLICT, "The import is %s; it cannot become %s from that state.", cur.Status, to)
}

// edges is one statement's change of state: from any state of from to the
// state of to that the SQL expression status picks (a parameter, or a CASE
// over to's states), with set, on the rows where holds.
type edges struct {
	from, to []sweep.Status
	status   string
	set      string
	where    string
}

// move is the one writer of imports.status: every change of state, of one
// import or many, is its UPDATE. Each pair of from and to must be an edge of
// the state table (a caller asking for another is a bug, refused before any
// SQL), and the statement carries sweep_transition(), the mark without
// which the database refuses a status change (guard/import_states.sql).
// The rows moved are scanned into dest, a pointer to a slice, by returning.
func (db *DB) move(ctx context.Context, q sqlx.QueryerContext, e edges, dest any, returning string, args ...any) error {
	for _, f := range e.from {
		for _, t := range e.to {
			if !sweep.CanTransition(f, t) {
				return fmt.Errorf("%s -> %s is not an edge of the state table", f, t)
			}
		}
	}
	set := ""
	if e.set != "" {
		set = ", " + e.set
	}
	return db.acting(ctx, q, func(q sqlx.QueryerContext) error {
		return sqlx.SelectContext(ctx, q, dest, `UPDATE imports SET status = `+e.status+`, updated_at = now()`+set+`
			WHERE `+e.where+` AND sweep_transition() RETURNING `+returning, args...)
	})
}

// RequestValidation starts a new validation round for an import that is
// uploaded or rejected: it becomes validating with the round counter bumped, and
// the caller enqueues the round's task.
func (db *DB) RequestValidation(ctx context.Context, tenant, id int64) (sweep.Import, error) {
	return db.transition(ctx, db.db, tenant, id, []sweep.Status{sweep.StatusUploaded, sweep.StatusRejected},
		sweep.StatusValidating, `validations = validations + 1, error = '',
		approval_requested_by = NULL, approval_requested_token = NULL, approval_requested_at = NULL,
		approval_expires_at = NULL, approved_by = NULL, approved_at = NULL`)
}

// BeginValidating moves an uploaded import to validating when its task starts.
// An import already validating (a re-delivered task, or a round the API
// requested) is returned as it is: that is no change of state.
func (db *DB) BeginValidating(ctx context.Context, tenant, id int64) (sweep.Import, error) {
	return db.enter(ctx, tenant, id, sweep.StatusUploaded, sweep.StatusValidating, "")
}

// enter moves an import from state from to state to, or returns it as it is
// when it is in state to already.
func (db *DB) enter(ctx context.Context, tenant, id int64, from, to sweep.Status, set string) (sweep.Import, error) {
	imp, err := db.transition(ctx, db.db, tenant, id, []sweep.Status{from}, to, set)
	if sweep.ErrorCode(err) == sweep.ECONFLICT && imp.Status == to {
		return imp, nil
	}
	return imp, err
}

// FailImport marks an import that a worker could not finish as failed, with a
// reason for the operator.
func (db *DB) FailImport(ctx context.Context, tenant, id int64, reason string) error {
	_, err := db.transition(ctx, db.db, tenant, id,
		[]sweep.Status{sweep.StatusValidating, sweep.StatusQueued, sweep.StatusRunning}, sweep.StatusFailed,
		"error = $5, finished_at = now()", reason)
	return err
}

// activeStatuses are the states in which an import must not be deleted
// (sweep.Status.Active).
var activeStatuses = func() []string {
	var out []string
	for _, s := range sweep.Statuses {
		if s.Active() {
			out = append(out, string(s))
		}
	}
	return out
}()

// DeleteImport removes an import that is not queued, running or paused, with its file,
// rows and errors. The deletion audit stays.
func (db *DB) DeleteImport(ctx context.Context, tenant, id int64) error {
	var deleted int64
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		// The record goes, and an import.deleted webhook with the import as
		// it was (a request awaiting approval that was withdrawn, a batch
		// left for review) goes out from the same transaction.
		// What it deleted without approval stays counted by the tenant's
		// rolling limit (see unapprovedRecently).
		res, err := tx.ExecContext(ctx, `WITH gone AS (
				DELETE FROM imports WHERE tenant_id = $1 AND id = $2 AND NOT status = ANY($3) RETURNING *),
			kept AS (
				INSERT INTO unapproved_deletions (tenant_id, import_id, finished_at, deleted_rows)
				SELECT tenant_id, id, coalesce(finished_at, now()), deleted_rows FROM gone
				WHERE unapproved_at IS NOT NULL AND deleted_rows > 0 AND coalesce(finished_at, now()) > now() - make_interval(secs => $5)
				ON CONFLICT (tenant_id, import_id) DO NOTHING),
			pruned AS (
				DELETE FROM unapproved_deletions WHERE tenant_id = $1 AND finished_at <= now() - make_interval(secs => $5))
			SELECT sweep_webhook_emit(g.tenant_id, $4, g.id, NULL, to_jsonb(g)) FROM gone g`,
			tenant, id, pq.Array(activeStatuses), sweep.EventImportDeleted, sweep.ApprovalWindow.Seconds())
		if err != nil {
			return err
		}
		if deleted, _ = res.RowsAffected(); deleted == 0 {
			return nil
		}
		// Files and blocks go by cascade; errors have no foreign key (see the schema).
		_, err = tx.ExecContext(ctx, `DELETE FROM import_errors WHERE tenant_id = $1 AND import_id = $2`, tenant, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete import %d: %w", id, err)
	}
	if deleted == 1 {
		return nil
	}
	imp, err := db.GetImport(ctx, tenant, id)
	if err != nil {
		return err
	}
	return sweep.Errorf(sweep.ECONFLICT, "Import %d is %s; cancel it first, or wait until it finishes, then delete it.", id, imp.Status)
}

// StartImport queues a validated import to run, at runAt when given (else at
// the time set at upload, else now), with parallelism tasks (0 keeps the
// import's setting).
func (db *DB) StartImport(ctx context.Context, tenant, id int64, opts sweep.StartOptions) (sweep.Import, error) {
	window, rate := runSettingArgs(opts.RunSettings)
	return db.transition(ctx, db.db, tenant, id, []sweep.Status{sweep.StatusValidated}, sweep.StatusQueued,
		"run_at = coalesce($5, run_at), parallelism = CASE WHEN $6 > 0 THEN $6 ELSE parallelism END, "+runSettingSet(7),
		opts.RunAt, opts.Parallelism, window, rate)
}

// BeginRunning moves a queued import to running when its first task starts; a
// running import (a continuation, or a parallel task) is returned as it is.
// A queued import whose run_at the database's clock has not reached stays
// queued, whatever task asks: it returns a NotDueError saying how long is
// left, so no task (early, hand-made, or from a host whose clock runs ahead)
// starts a run before its time.
func (db *DB) BeginRunning(ctx context.Context, tenant, id int64) (sweep.Import, error) {
	for try := 0; ; try++ {
		var rows []importRow
		err := db.move(ctx, db.db, edges{from: []sweep.Status{sweep.StatusQueued}, to: []sweep.Status{sweep.StatusRunning},
			status: "'running'", set: "started_at = coalesce(started_at, now())",
			where: "tenant_id = $1 AND id = $2 AND status = 'queued' AND (run_at IS NULL OR run_at <= now())"},
			&rows, importColumns, tenant, id)
		if err != nil {
			return sweep.Import{}, fmt.Errorf("import %d to running: %w", id, err)
		} else if len(rows) == 1 {
			return rows[0].toImport(), nil
		}
		cur, err := db.GetImport(ctx, tenant, id)
		if err != nil || cur.Status == sweep.StatusRunning {
			return cur, err
		}
		if cur.Status != sweep.StatusQueued {
			return cur, sweep.Errorf(sweep.ECONFLICT, "The import is %s; it cannot become %s from that state.", cur.Status, sweep.StatusRunning)
		}
		var wait float64
		if err := db.db.GetContext(ctx, &wait, `SELECT coalesce(extract(epoch FROM run_at - now()), 0)::float8
			FROM imports WHERE tenant_id = $1 AND id = $2`, tenant, id); err != nil {
			return cur, fmt.Errorf("import %d to running: %w", id, err)
		}
		if wait > 0 {
			return cur, &NotDueError{ImportID: id, Wait: time.Duration(wait * float64(time.Second))}
		}
		if try > 0 {
			return cur, fmt.Errorf("import %d is queued and due but did not become running", id)
		}
		// It became queued, or due, between the two reads: once more.
	}
}

// NotDueError is what BeginRunning returns for a queued import whose run_at
// is still ahead by the database's clock: Wait is how long is left. Its code
// is ECONFLICT (the step is not taken), and nothing was changed.
type NotDueError struct {
	ImportID int64
	Wait     time.Duration
}

func (e *NotDueError) Error() string {
	return fmt.Sprintf("import %d is due to run in %s; it stays queued until then", e.ImportID, e.Wait.Round(time.Millisecond))
}

// Unwrap gives the error its code: the import is in a state (queued, not
// yet due) that forbids the step.
func (e *NotDueError) Unwrap() error {
	return sweep.Errorf(sweep.ECONFLICT, "Import %d runs at its run_at, not before; it stays queued until then.", e.ImportID)
}

// CompleteImport ends a running import whose blocks are all processed:
// completed, or completed_with_errors when some rows failed validation or were
// skipped. It returns false, without error, while a block is still in flight.
func (db *DB) CompleteImport(ctx context.Context, tenant, id int64) (sweep.Import, bool, error) {
	var rows []importRow
	err := db.move(ctx, db.db, edges{
		from:   []sweep.Status{sweep.StatusRunning},
		to:     []sweep.Status{sweep.StatusCompleted, sweep.StatusCompletedWithErrors},
		status: "CASE WHEN error_rows + skipped_rows > 0 THEN 'completed_with_errors' ELSE 'completed' END",
		set:    "finished_at = now()",
		where: `tenant_id = $1 AND id = $2 AND status = 'running'
			AND NOT EXISTS (SELECT 1 FROM import_blocks b WHERE b.tenant_id = $1 AND b.import_id = $2 AND b.processed_at IS NULL)`,
	}, &rows, importColumns, tenant, id)
	if err != nil {
		return sweep.Import{}, false, fmt.Errorf("complete import %d: %w", id, err)
	}
	if len(rows) == 0 {
		return sweep.Import{}, false, nil
	}
	return rows[0].toImport(), true, nil
}

// CancelImport stops an import. One that is not running (not started,
// paused, or queued again after a pause) ends cancelled at once, its message
// saying what it deleted; a running one is asked to stop and stays running,
// cancel_requested, until its task ends it after the chunk in flight,
// keeping what was deleted (FinishCancel): cancelled is shown only once its
// deletions have stopped.
func (db *DB) CancelImport(ctx context.Context, tenant, id int64, who string) (sweep.Import, error) {
	var r importRow
	err := db.acting(ctx, db.db, func(q sqlx.QueryerContext) error {
		return sqlx.GetContext(ctx, q, &r, `UPDATE imports SET cancel_requested = true, updated_at = now()
			WHERE tenant_id = $1 AND id = $2 AND status = 'running' RETURNING `+importColumns, tenant, id)
	})
	if err == nil {
		return r.toImport(), nil
	} else if !errors.Is(err, sql.ErrNoRows) {
		return sweep.Import{}, fmt.Errorf("cancel import %d: %w", id, err)
	}
	return db.transition(ctx, db.db, tenant, id,
		[]sweep.Status{sweep.StatusUploaded, sweep.StatusValidating, sweep.StatusValidated, sweep.StatusAwaitingApproval, sweep.StatusQueued, sweep.StatusPaused},
		sweep.StatusCancelled, "cancel_requested = true, finished_at = now(), error = "+cancelledSentence, who)
}

// cancelledSentence is the error an import cancelled before or between runs
// ends with, $5 naming who cancelled it: it says what happened, from the
// row as it was (a paused import, or one queued again after a pause, has
// deleted customers that stay deleted).
const cancelledSentence = `CASE
	WHEN processed_rows = 0 AND started_at IS NULL THEN format('Cancelled by %s before it started; nothing was deleted.', $5::text)
	WHEN processed_rows = 0 THEN format('Cancelled by %s before any row was processed; nothing was deleted.', $5::text)
	ELSE format('Cancelled by %s %safter %s of %s rows: %s customers were deleted and stay deleted; %s rows were left and not processed.',
		$5::text, CASE WHEN status = 'paused' THEN 'while paused, ' ELSE '' END,
		processed_rows, valid_rows, deleted_rows, valid_rows - processed_rows)
	END`

// FinishCancel ends a running import whose cancellation was requested. It
// first waits for the chunks other parts still have in flight (each holds
// its block), so the counts it ends with, and its message, are final.
func (db *DB) FinishCancel(ctx context.Context, tenant, id int64) (imp sweep.Import, err error) {
	err = db.withTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT 1 FROM import_blocks WHERE tenant_id = $1 AND import_id = $2 AND processed_at IS NULL
			ORDER BY block FOR UPDATE`, tenant, id); err != nil {
			return fmt.Errorf("cancel import %d: %w", id, err)
		}
		imp, err = db.transition(ctx, tx, tenant, id, []sweep.Status{sweep.StatusRunning}, sweep.StatusCancelled,
			`finished_at = now(), error = format('Cancelled after %s of %s rows: %s customers were deleted and stay deleted; %s rows were left and not processed.',
				processed_rows, valid_rows, deleted_rows, valid_rows - processed_rows)`)
		return err
	})
	return imp, err
}

// PauseImport stops a queued or running import: a run task finds it paused
// at its next chunk and ends, the chunk in flight committing first; a task
// still waiting finds it paused and does nothing. It keeps its place: every
// block not yet done stays pending.
func (db *DB) PauseImport(ctx context.Context, tenant, id int64, who string) (sweep.Import, error) {
	return db.transition(ctx, db.db, tenant, id, []sweep.Status{sweep.StatusQueued, sweep.StatusRunning}, sweep.StatusPaused,
		"error = $5", fmt.Sprintf("Paused by %s; resume it to go on where it stopped.", who))
}

// ResumeImport queues a paused import again; its run goes on with the blocks
// not yet done (the caller queues its tasks).
func (db *DB) ResumeImport(ctx context.Context, tenant, id int64) (sweep.Import, error) {
	return db.transition(ctx, db.db, tenant, id, []sweep.Status{sweep.StatusPaused}, sweep.StatusQueued, "error = ''")
}
