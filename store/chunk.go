package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

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

// The related rows counted into the audit, by kind.
var relatedKinds = func() string {
	parts := make([]string, len(RelatedTables))
	for i, t := range RelatedTables {
		parts[i] = fmt.Sprintf(`SELECT customer_id, '%s' AS kind FROM %s WHERE tenant_id = $1 AND customer_id = ANY($2)`,
			strings.TrimPrefix(t, "customer_"), t)
	}
	return strings.Join(parts, " UNION ALL ")
}()

// deletedCTE deletes the given customers of tenant $1 (ids $2), related rows
// going by ON DELETE CASCADE. With loanFilter it passes over the customers a
// loan links; without, deleting one of them fails on the loan's foreign key
// (23503) and deletes nothing.
func deletedCTE(loanFilter bool) string {
	filter := ""
	if loanFilter {
		filter = `AND NOT EXISTS (SELECT 1 FROM loan_customers l WHERE l.tenant_id = $1 AND l.customer_id = c.id)`
	}
	return `
	WITH deleted AS (
		DELETE FROM customers c
		WHERE c.tenant_id = $1 AND c.id = ANY($2) ` + filter + `
		RETURNING c.id)`
}

// auditedTail writes one audit row per customer deletedCTE deleted, holding
// ids only, and returns their ids.
const auditedTail = `,
	audited AS (
		INSERT INTO deletion_audit (tenant_id, customer_id, import_id, api_token_id, source)
		SELECT $1, d.id, $3, $4, $5 FROM deleted d
		RETURNING customer_id)
	SELECT customer_id FROM audited`

// deleteQuery deletes customers, passing over those a loan links, and audits
// them; deleteUnfilteredQuery leaves the loan links to the foreign key.
var (
	deleteQuery           = deletedCTE(true) + auditedTail
	deleteUnfilteredQuery = deletedCTE(false) + auditedTail
)

// deleteCountedQuery is deleteQuery with the audit rows also counting the
// related rows removed, by kind. All parts see the same snapshot, so the
// counts are of the rows the cascade removes. The counting reads every
// related table once more, which costs about a quarter of the throughput.
var deleteCountedQuery = deletedCTE(true) + `,
	related AS (
		SELECT customer_id, jsonb_object_agg(kind, n) AS counts
		FROM (SELECT customer_id, kind, count(*) AS n FROM (` + relatedKinds + `) r GROUP BY 1, 2) k
		GROUP BY customer_id),
	audited AS (
		INSERT INTO deletion_audit (tenant_id, customer_id, import_id, api_token_id, source, related_rows)
		SELECT $1, d.id, $3, $4, $5, coalesce(r.counts, '{}')
		FROM deleted d LEFT JOIN related r ON r.customer_id = d.id
		RETURNING customer_id)
	SELECT customer_id FROM audited`

// deleteCustomers deletes customers in tx and returns the ids it deleted; with
// counted, the audit rows count the related rows by kind (and customers a loan
// links are passed over). Without counted or loanFilter, a customer a loan
// links fails the whole statement with 23503.
func (db *DB) deleteCustomers(ctx context.Context, tx *sqlx.Tx, tenant int64, ids []int64, importID, tokenID sql.NullInt64, source string, counted, loanFilter bool) (map[int64]bool, error) {
	q := deleteUnfilteredQuery
	switch {
	case counted:
		q = deleteCountedQuery
	case loanFilter:
		q = deleteQuery
	}
	stmt, err := db.stmt(ctx, tx, q)
	if err != nil {
		return nil, err
	}
	rows, err := stmt.QueryContext(ctx, tenant, pq.Array(ids), importID, tokenID, source)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	deleted := make(map[int64]bool, len(ids))
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		deleted[id] = true
	}
	return deleted, rows.Err()
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
// Validation has already set aside the customers a loan links, so the block
// is first deleted without looking at loans: the loan's foreign key still
// refuses a customer linked since, and then the chunk is rolled back and run
// again passing over linked customers. That spares a lookup per customer in
// the usual case.
//
// A chunk that waits longer than the session's lock_timeout for a row another
// transaction holds (the platform updating one of the customers) is rolled
// back whole and returns ErrChunkLocked: the caller waits and tries again,
// and nothing waits on sweep meanwhile.
func (db *DB) RunChunk(ctx context.Context, tenant, id int64, source sweep.Source, from int) (ChunkResult, error) {
	res, err := db.runChunk(ctx, tenant, id, source, from, false)
	if isSQLState(err, sqlstateForeignKeyViolation) {
		res, err = db.runChunk(ctx, tenant, id, source, from, true)
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

func (db *DB) runChunk(ctx context.Context, tenant, id int64, source sweep.Source, from int, loanFilter bool) (res ChunkResult, err error) {
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
		deleted, err := db.deleteCustomers(ctx, tx, tenant, ids, sql.NullInt64{Int64: id, Valid: true}, sql.NullInt64{}, string(source), db.AuditRelatedCounts, loanFilter)
		if err != nil {
			return fmt.Errorf("delete block %d: %w", res.Block, err)
		}
		linked := map[int64]bool{}
		if len(deleted) < len(ids) {
			rest := make([]int64, 0, len(ids)-len(deleted))
			for _, c := range ids {
				if !deleted[c] {
					rest = append(rest, c)
				}
			}
			var l []int64
			if err := tx.SelectContext(ctx, &l, `SELECT DISTINCT customer_id FROM loan_customers WHERE tenant_id = $1 AND customer_id = ANY($2)`,
				tenant, pq.Array(rest)); err != nil {
				return err
			}
			for _, c := range l {
				linked[c] = true
			}
		}
		outcomes := make([]string, len(ids))
		for i, c := range ids {
			switch {
			case deleted[c]:
				outcomes[i] = OutcomeDeleted
				res.Deleted++
			case linked[c]:
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
				updated_at = now()
			WHERE tenant_id = $1 AND id = $2 AND status = 'running'`)
		if err != nil {
			return err
		}
		counted, err := stmt.ExecContext(ctx, tenant, id, res.Rows, res.Deleted, res.Skipped)
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
