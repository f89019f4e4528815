package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/plan"
)

// DeleteCustomer erases one customer of a tenant by the plan, with an audit
// row naming the API token and counting the customer's rows by table and
// action. A customer a block of the plan refuses (in the demo, a link to a
// loan) is ELINKED with the plan's sentence, an unknown one ENOTFOUND.
func (db *DB) DeleteCustomer(ctx context.Context, tenant, customer, tokenID int64) error {
	return db.withTx(ctx, func(tx *sqlx.Tx) error {
		// One customer: counting its rows costs next to nothing.
		res, err := db.erase(ctx, tx, tenant, []int64{customer}, sql.NullInt64{}, sql.NullInt64{Int64: tokenID, Valid: true}, string(sweep.SourceAPI), true, true)
		switch {
		case errors.Is(err, plan.ErrOtherTenant):
			return sweep.Errorf(sweep.ENOTFOUND, "Customer %d was not found; it may have been deleted already.", customer)
		case isSQLState(err, sqlstateLockNotAvailable):
			return sweep.Errorf(sweep.EUNAVAILABLE, "Customer %d is being changed by another transaction right now; nothing was deleted. Try again in a moment.", customer)
		case isSQLState(err, sqlstateForeignKeyViolation):
			return sweep.Errorf(sweep.EUNAVAILABLE, "Customer %d was not deleted: a table the erasure plan does not cover points at the customer (the platform's schema changed since the plan was checked). Run sweep plan check and update the plan.", customer)
		case err != nil:
			return fmt.Errorf("delete customer %d: %w", customer, err)
		}
		if why, ok := res.Blocked[customer]; ok {
			return sweep.Errorf(sweep.ELINKED, "%s", blockedSentence(why, "delete the customer again"))
		}
		if !res.Erased[customer] {
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
