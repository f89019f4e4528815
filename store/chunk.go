package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/sweephq/sweep"
)

// Row outcomes of a run, stored per id in import_blocks.outcomes.
const (
	OutcomeDeleted        = "deleted"
	OutcomeAlreadyDeleted = "skipped_already_deleted"
	OutcomeLinked         = "skipped_linked_to_loan"
)

// ChunkResult is what one RunChunk did.
type ChunkResult struct {
	Block                  int
	Rows, Deleted, Skipped int
	Linked                 int // of Skipped, the customers a loan links; the rest were already deleted
	// Done: no block is left to take. Stop: the import is no longer running
	// (cancelled, failed, deleted). CancelRequested: an operator asked to stop.
	Done, Stop, CancelRequested bool
}

// PartStart is the block where part of an import run split into parts
// starts: part p of n begins p/n of the way through the blocks, so parallel
// tasks work on id ranges far apart (their deletions, audit inserts and index
// pages do not meet) until one runs out and helps with what is left.
func (db *DB) PartStart(ctx context.Context, tenant, id int64, part, parts int) (int, error) {
	if part <= 0 || parts <= 1 {
		return 0, nil
	}
	var blocks int
	err := db.db.GetContext(ctx, &blocks, `SELECT coalesce(max(block) + 1, 0) FROM import_blocks WHERE tenant_id = $1 AND import_id = $2`, tenant, id)
	return blocks * min(part, parts) / parts, err
}

// RunChunk deletes the next block of an import in one transaction: the
// customers still deletable, their audit rows, every id's outcome and the
// import's counters commit together or not at all. The block is the first
// unprocessed one from block from on (else the last unprocessed one before it), taken
// with SKIP LOCKED, so parallel tasks of one import share the work without
// overlap.
//
// The erasure follows the plan (see plan.Compiled.Erase): the customers a
// block of the plan refuses now are passed over, and each table's statement
// runs in foreign-key order. Validation has already set aside the blocked
// customers, so the chunk first runs without locking its customers; a
// customer blocked since (linked to a loan a moment ago) fails the
// subject's delete on that foreign key, and the chunk rolls back and runs
// again with its customers locked first, which passes over it. A
// foreign-key violation then can only come from a table added to the
// platform since the plan was checked: RunChunk returns ErrPlanOutdated.
//
// A chunk that waits longer than the session's lock_timeout for a row another
// transaction holds (the platform updating one of the customers) is rolled
// back whole and returns ErrChunkLocked: the caller waits and tries again,
// and nothing waits on sweep meanwhile.
func (db *DB) RunChunk(ctx context.Context, tenant, id int64, source sweep.Source, from int) (ChunkResult, error) {
	res, err := db.runChunk(ctx, tenant, id, source, from, false)
	if isSQLState(err, sqlstateForeignKeyViolation) {
		// A customer linked since validation: run the chunk again with
		// its customers locked, which passes over the linked ones.
		res, err = db.runChunk(ctx, tenant, id, source, from, true)
	}
	if isSQLState(err, sqlstateForeignKeyViolation) {
		// The plan locks the customers and handles every table its check
		// found: a foreign key it does not know is a table added since.
		return res, fmt.Errorf("%w: %v", ErrPlanOutdated, err)
	}
	if isSQLState(err, sqlstateLockNotAvailable) {
		return res, fmt.Errorf("%w (%v)", ErrChunkLocked, err)
	}
	return res, err
}

// ErrChunkLocked is what RunChunk returns when a row of its chunk stayed
// locked by another transaction past lock_timeout; nothing of the chunk was
// done.
var ErrChunkLocked = sweep.Errorf(sweep.EBUSY, "a customer of the chunk is locked by another transaction")

// nextBlockQuery takes the first unprocessed block from block $3 on;
// prevBlockQuery the last one before it.
const (
	nextBlockQuery = `SELECT block, customer_ids, lines FROM import_blocks
		WHERE tenant_id = $1 AND import_id = $2 AND processed_at IS NULL AND block >= $3
		ORDER BY block LIMIT 1 FOR UPDATE SKIP LOCKED`
	prevBlockQuery = `SELECT block, customer_ids, lines FROM import_blocks
		WHERE tenant_id = $1 AND import_id = $2 AND processed_at IS NULL AND block < $3
		ORDER BY block DESC LIMIT 1 FOR UPDATE SKIP LOCKED`
)

func (db *DB) runChunk(ctx context.Context, tenant, id int64, source sweep.Source, from int, locked bool) (res ChunkResult, err error) {
	err = db.withTx(ctx, func(tx *sqlx.Tx) error {
		// Every statement here repeats for each chunk: prepared once.
		scan := func(q string, args []any, dest ...any) error {
			stmt, err := db.stmt(ctx, tx, q)
			if err != nil {
				return err
			}
			return stmt.QueryRowContext(ctx, args...).Scan(dest...)
		}
		exec := func(q string, args ...any) error {
			stmt, err := db.stmt(ctx, tx, q)
			if err == nil {
				_, err = stmt.ExecContext(ctx, args...)
			}
			return err
		}
		var status string
		if err := scan(`SELECT status, cancel_requested FROM imports WHERE tenant_id = $1 AND id = $2`,
			[]any{tenant, id}, &status, &res.CancelRequested); errors.Is(err, sql.ErrNoRows) {
			res.Stop = true
			return nil
		} else if err != nil {
			return err
		}
		if status != string(sweep.StatusRunning) {
			res.Stop = true
			return nil
		}
		if res.CancelRequested {
			return nil
		}
		// The chunk's deletions, audit rows, outcomes and counters are one
		// transaction, so a commit lost in a PostgreSQL crash loses all of
		// them together and the chunk simply runs again: the chunk need not
		// wait for its commit to reach the disk. (Finishing the import commits
		// synchronously, which flushes every chunk before it.)
		if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			return err
		}
		var ids, lines int64List
		next := func(q string) error {
			return scan(q, []any{tenant, id, from}, &res.Block, &ids, &lines)
		}
		err := next(nextBlockQuery)
		if errors.Is(err, sql.ErrNoRows) && from > 0 {
			// This part's range is done: help the part before it from the far
			// end, so the two still work apart.
			err = next(prevBlockQuery)
		}
		if errors.Is(err, sql.ErrNoRows) {
			res.Done = true
			return nil
		} else if err != nil {
			return err
		}
		erased, err := db.erase(ctx, tx, tenant, ids, sql.NullInt64{Int64: id, Valid: true}, sql.NullInt64{}, string(source), db.AuditRelatedCounts, locked)
		if err != nil {
			return fmt.Errorf("erase block %d: %w", res.Block, err)
		}
		deleted, linked := erased.Erased, erased.Blocked
		outcomes := make([]string, len(ids))
		for i, c := range ids {
			switch {
			case deleted[c]:
				outcomes[i] = OutcomeDeleted
				res.Deleted++
			case linked[c] != "":
				outcomes[i] = OutcomeLinked
				res.Skipped++
				res.Linked++
			default:
				outcomes[i] = OutcomeAlreadyDeleted
				res.Skipped++
			}
		}
		res.Rows = len(ids)
		if err := exec(`UPDATE import_blocks SET outcomes = $4, processed_at = now()
			WHERE tenant_id = $1 AND import_id = $2 AND block = $3`, tenant, id, res.Block, pq.Array(outcomes)); err != nil {
			return err
		}
		// rows_per_second follows the rate over the last chunks (of every task
		// working on the import), smoothed.
		//
		// The counters' update is also the chunk's last look at the state,
		// under the import row's lock: a pause (or any step that ends the
		// run) that committed since the chunk began makes it roll back whole,
		// deleting nothing. A pause that comes after this waits for the
		// chunk's commit, which follows at once, and answers with its counts.
		// Either way, once a pause has answered, no deletion of the import
		// commits: paused means stopped.
		stmt, err := db.stmt(ctx, tx, `
			UPDATE imports SET
				processed_rows = processed_rows + $3, deleted_rows = deleted_rows + $4, skipped_rows = skipped_rows + $5,
				rows_per_second = CASE
					WHEN rows_per_second = 0 OR now() - updated_at > interval '10 seconds'
					THEN $3 / greatest(extract(epoch FROM now() - updated_at), 0.001)
					ELSE 0.8 * rows_per_second + 0.2 * ($3 / greatest(extract(epoch FROM now() - updated_at), 0.001)) END,
				erased_rows = sweep_add_counts(erased_rows, $6::jsonb),
				updated_at = now()
			WHERE tenant_id = $1 AND id = $2 AND status = 'running'`)
		if err != nil {
			return err
		}
		counted, err := stmt.ExecContext(ctx, tenant, id, res.Rows, res.Deleted, res.Skipped, rowsJSON(erased.Rows))
		if err != nil {
			return err
		}
		if n, err := counted.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errChunkStopped
		}
		return nil
	})
	if errors.Is(err, errChunkStopped) {
		// Rolled back: nothing of the chunk happened.
		return ChunkResult{Block: res.Block, Stop: true}, nil
	}
	return res, err
}

// errChunkStopped rolls back a chunk whose import stopped running while it
// worked.
var errChunkStopped = errors.New("the import stopped running during the chunk")
