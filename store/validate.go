package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/sweephq/sweep"
)

// Validation stages one validation round of an import: valid rows go to
// import_rows and row errors to import_errors, each through its own COPY
// stream (one connection can carry only one COPY at a time). Nothing is visible
// as the import's result until Finish commits the status change, and a round
// that dies half-way is redone from scratch: Begin clears what an earlier
// attempt left.
type Validation struct {
	db         *DB
	tenant, id int64
	rowsTx     *sqlx.Tx
	errsTx     *sqlx.Tx
	rows       *sql.Stmt
	errs       *sql.Stmt
	nErrs      int64
}

// ErrNotValidating means the import left the validating state (cancelled,
// deleted, or finished by another delivery of the same task): there is nothing
// left to do.
var ErrNotValidating = sweep.Errorf(sweep.ECONFLICT, "the import is no longer validating")

// BeginValidation opens the staging of import id. It holds a per-import lock
// until Finish or Abort, so two deliveries of one task never stage at once.
func (db *DB) BeginValidation(ctx context.Context, tenant, id int64) (_ *Validation, err error) {
	v := &Validation{db: db, tenant: tenant, id: id}
	defer func() {
		if err != nil {
			v.Abort()
		}
	}()
	if v.rowsTx, err = db.db.BeginTxx(ctx, nil); err != nil {
		return nil, fmt.Errorf("begin validation: %w", err)
	}
	if _, err = v.rowsTx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('import:' || $1::text, 0))`, id); err != nil {
		return nil, fmt.Errorf("lock import %d: %w", id, err)
	}
	var status string
	err = v.rowsTx.QueryRowContext(ctx, `SELECT status FROM imports WHERE tenant_id = $1 AND id = $2`, tenant, id).Scan(&status)
	if err == sql.ErrNoRows || (err == nil && status != string(sweep.StatusValidating)) {
		return nil, ErrNotValidating
	} else if err != nil {
		return nil, fmt.Errorf("validation of import %d: %w", id, err)
	}
	if _, err = v.rowsTx.ExecContext(ctx, `DELETE FROM import_rows WHERE tenant_id = $1 AND import_id = $2`, tenant, id); err != nil {
		return nil, fmt.Errorf("clear rows of import %d: %w", id, err)
	}
	if v.rows, err = v.rowsTx.PrepareContext(ctx, `COPY import_rows (tenant_id, import_id, line, customer_id) FROM STDIN`); err != nil {
		return nil, fmt.Errorf("stage rows of import %d: %w", id, err)
	}
	if v.errsTx, err = db.db.BeginTxx(ctx, nil); err != nil {
		return nil, fmt.Errorf("begin validation: %w", err)
	}
	if _, err = v.errsTx.ExecContext(ctx, `DELETE FROM import_errors WHERE tenant_id = $1 AND import_id = $2`, tenant, id); err != nil {
		return nil, fmt.Errorf("clear errors of import %d: %w", id, err)
	}
	if v.errs, err = v.errsTx.PrepareContext(ctx, `COPY import_errors (tenant_id, import_id, line, column_name, value, message) FROM STDIN`); err != nil {
		return nil, fmt.Errorf("stage errors of import %d: %w", id, err)
	}
	return v, nil
}

// AddRow stages a valid row.
func (v *Validation) AddRow(ctx context.Context, line, customerID int64) error {
	if _, err := v.rows.ExecContext(ctx, v.tenant, v.id, line, customerID); err != nil {
		return fmt.Errorf("stage row %d of import %d: %w", line, v.id, err)
	}
	return nil
}

// AddError stages a row error.
func (v *Validation) AddError(ctx context.Context, e *sweep.RowError) error {
	v.nErrs++
	if _, err := v.errs.ExecContext(ctx, v.tenant, v.id, e.Line, e.Column, sweep.SafeValue(e.Value), e.Message); err != nil {
		return fmt.Errorf("stage error on line %d of import %d: %w", e.Line, v.id, err)
	}
	return nil
}

// ValidationResult is what Finish decided.
type ValidationResult struct {
	Import                      sweep.Import
	Duplicates, Missing, Linked int64 // row errors found by the set-based checks
}

// The set-based checks. Each moves failing rows from import_rows to
// import_errors in one statement, with a message that says what to do.
const (
	checkDuplicates = `
		WITH ranked AS (
			SELECT line, min(line) OVER (PARTITION BY customer_id) AS first
			FROM import_rows WHERE tenant_id = $1 AND import_id = $2),
		moved AS (
			DELETE FROM import_rows r USING ranked x
			WHERE r.tenant_id = $1 AND r.import_id = $2 AND r.line = x.line AND x.line <> x.first
			RETURNING r.line, r.customer_id, x.first)
		INSERT INTO import_errors (tenant_id, import_id, line, column_name, value, message)
		SELECT $1, $2, line, 'customerId', customer_id::text,
			format('customerId %s already appears on line %s. Remove this repeated row.', customer_id, first)
		FROM moved`
	checkMissing = `
		WITH moved AS (
			DELETE FROM import_rows r
			WHERE r.tenant_id = $1 AND r.import_id = $2
			  AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.tenant_id = $1 AND c.id = r.customer_id)
			RETURNING r.line, r.customer_id)
		INSERT INTO import_errors (tenant_id, import_id, line, column_name, value, message)
		SELECT $1, $2, line, 'customerId', customer_id::text,
			format('No customer with id %s exists. Check the id; if the customer was already deleted, remove the row.', customer_id)
		FROM moved`
	checkLinked = `
		WITH moved AS (
			DELETE FROM import_rows r
			WHERE r.tenant_id = $1 AND r.import_id = $2
			  AND EXISTS (SELECT 1 FROM loan_customers l WHERE l.tenant_id = $1 AND l.customer_id = r.customer_id)
			RETURNING r.line, r.customer_id)
		INSERT INTO import_errors (tenant_id, import_id, line, column_name, value, message)
		SELECT $1, $2, m.line, 'customerId', m.customer_id::text,
			format('Customer %s is linked to loan %s, and loans are never deleted. Unlink the customer from the loan first, then validate this import again.',
				m.customer_id, (SELECT min(l.loan_id) FROM loan_customers l WHERE l.tenant_id = $1 AND l.customer_id = m.customer_id))
		FROM moved m`
)

// Finish ends the round. fileError, when not empty, rejects the whole file with
// that reason; otherwise the set-based checks run and the policy decides
// between validated and rejected. totalRows is the count of data rows read.
func (v *Validation) Finish(ctx context.Context, policy sweep.Policy, totalRows int64, fileError string) (res ValidationResult, err error) {
	defer v.Abort()
	if _, err := v.errs.ExecContext(ctx); err != nil {
		return res, fmt.Errorf("stage errors of import %d: %w", v.id, err)
	}
	v.errs.Close()
	if err := v.errsTx.Commit(); err != nil {
		return res, fmt.Errorf("commit errors of import %d: %w", v.id, err)
	}
	v.errsTx = nil
	if _, err := v.rows.ExecContext(ctx); err != nil {
		return res, fmt.Errorf("stage rows of import %d: %w", v.id, err)
	}
	v.rows.Close()

	tx := v.rowsTx
	if fileError == "" {
		for _, c := range []struct {
			sql string
			n   *int64
		}{{checkDuplicates, &res.Duplicates}, {checkMissing, &res.Missing}, {checkLinked, &res.Linked}} {
			r, err := tx.ExecContext(ctx, c.sql, v.tenant, v.id)
			if err != nil {
				return res, fmt.Errorf("check rows of import %d: %w", v.id, err)
			}
			*c.n, _ = r.RowsAffected()
		}
	}
	var valid int64
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM import_rows WHERE tenant_id = $1 AND import_id = $2`, v.tenant, v.id).Scan(&valid); err != nil {
		return res, fmt.Errorf("count rows of import %d: %w", v.id, err)
	}
	errs := v.nErrs + res.Duplicates + res.Missing + res.Linked

	to, reason := sweep.StatusValidated, ""
	switch {
	case fileError != "":
		to, reason = sweep.StatusRejected, fileError
	case errs > 0 && policy == sweep.PolicyFile:
		to, reason = sweep.StatusRejected, fmt.Sprintf(
			"%d of %d rows have errors and the policy is file, so nothing will be deleted. Download the failed rows, fix them and upload the whole file again, or upload it with policy line to delete only the valid rows.", errs, totalRows)
	case valid == 0:
		to, reason = sweep.StatusRejected, fmt.Sprintf(
			"None of the %d rows can be deleted. Download the failed rows to see what to fix on each.", totalRows)
	}
	if to == sweep.StatusRejected {
		// A rejected file is never run; its staged rows would only take space.
		if _, err := tx.ExecContext(ctx, `DELETE FROM import_rows WHERE tenant_id = $1 AND import_id = $2`, v.tenant, v.id); err != nil {
			return res, fmt.Errorf("clear rows of import %d: %w", v.id, err)
		}
	}
	res.Import, err = v.db.transition(ctx, tx, v.tenant, v.id, []sweep.Status{sweep.StatusValidating}, to,
		"total_rows = $5, valid_rows = $6, error_rows = $7, error = $8, validated_at = now()", totalRows, valid, errs, reason)
	if sweep.ErrorCode(err) == sweep.ECONFLICT {
		return res, ErrNotValidating
	} else if err != nil {
		return res, err
	}
	if err := tx.Commit(); err != nil {
		return res, fmt.Errorf("commit validation of import %d: %w", v.id, err)
	}
	v.rowsTx = nil
	return res, nil
}

// Abort rolls back whatever the round has not committed. It is safe to call
// more than once and after Finish.
func (v *Validation) Abort() {
	if v.errsTx != nil {
		v.errsTx.Rollback()
		v.errsTx = nil
	}
	if v.rowsTx != nil {
		v.rowsTx.Rollback()
		v.rowsTx = nil
	}
}
