package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/sweephq/sweep"
)

// DeleteCustomer deletes one customer of a tenant with its related rows and an
// audit row naming the API token. A customer linked to a loan is ELINKED, an
// unknown one ENOTFOUND.
func (db *DB) DeleteCustomer(ctx context.Context, tenant, customer, tokenID int64) error {
	return db.withTx(ctx, func(tx *sqlx.Tx) error {
		var loan sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT min(loan_id) FROM loan_customers WHERE tenant_id = $1 AND customer_id = $2`, tenant, customer).Scan(&loan)
		if err != nil {
			return err
		}
		if loan.Valid {
			return sweep.Errorf(sweep.ELINKED, "Customer %d is linked to loan %d, and loans are never deleted. Unlink the customer from the loan first, then delete the customer again.", customer, loan.Int64)
		}
		// One customer: counting its related rows costs next to nothing.
		deleted, err := db.deleteCustomers(ctx, tx, tenant, []int64{customer}, sql.NullInt64{}, sql.NullInt64{Int64: tokenID, Valid: true}, string(sweep.SourceAPI), true, true)
		if isSQLState(err, sqlstateLockNotAvailable) {
			return sweep.Errorf(sweep.EUNAVAILABLE, "Customer %d is being changed by another transaction right now; nothing was deleted. Try again in a moment.", customer)
		} else if isSQLState(err, sqlstateForeignKeyViolation) {
			return sweep.Errorf(sweep.ELINKED, "Customer %d was linked to a loan a moment ago. Unlink the customer from the loan first, then delete the customer again.", customer)
		} else if err != nil {
			return fmt.Errorf("delete customer %d: %w", customer, err)
		}
		if !deleted[customer] {
			return sweep.Errorf(sweep.ENOTFOUND, "Customer %d was not found; it may have been deleted already.", customer)
		}
		// The customer.deleted webhook, in the deletion's transaction: a
		// crash loses both or neither. It names the token, never the person.
		_, err = tx.ExecContext(ctx, `SELECT sweep_webhook_emit($1, $2, NULL, $3, jsonb_build_object('customer_id', $3::bigint, 'deleted_at', now(),
			'deleted_by', coalesce((SELECT name FROM api_tokens WHERE tenant_id = $1 AND id = $4), '')))`,
			tenant, sweep.EventCustomerDeleted, customer, tokenID)
		return err
	})
}
