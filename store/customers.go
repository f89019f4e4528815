package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/jmoiron/sqlx"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/plan"
)

// DeleteCustomer erases one customer of a tenant by the plan, with an audit
// row naming the API token and counting the customer's rows by table and
// action. A customer a block of the plan refuses (in the demo, a link to a
// loan) is ELINKED with the plan's sentence, an unknown one ENOTFOUND.
func (db *DB) DeleteCustomer(ctx context.Context, tenant, customer, tokenID int64) error {
	return db.deleteCustomer(ctx, tenant, customer, strconv.FormatInt(customer, 10), false, tokenID)
}

// DeleteCustomerByKey is DeleteCustomer for the customer whose key a path
// spells raw (a whole number, a uuid or text, as the plan's key is).
func (db *DB) DeleteCustomerByKey(ctx context.Context, tenant int64, raw string, tokenID int64) error {
	n, key, err := db.CustomerNumber(ctx, tenant, raw)
	if err != nil {
		return err
	}
	k, err := db.Key(ctx)
	if err != nil {
		return err
	}
	return db.deleteCustomer(ctx, tenant, n, key, k.Kind != sweep.KeyWhole, tokenID)
}

func (db *DB) deleteCustomer(ctx context.Context, tenant, customer int64, key string, keyed bool, tokenID int64) error {
	return db.withTx(ctx, func(tx *sqlx.Tx) error {
		// One customer: counting its rows costs next to nothing.
		res, err := db.erase(ctx, tx, tenant, []int64{customer}, sql.NullInt64{}, sql.NullInt64{Int64: tokenID, Valid: true}, string(sweep.SourceAPI), true, true)
		switch {
		case errors.Is(err, plan.ErrOtherTenant):
			return sweep.Errorf(sweep.ENOTFOUND, "Customer %s was not found; it may have been deleted already.", key)
		case isSQLState(err, sqlstateLockNotAvailable):
			return sweep.Errorf(sweep.EUNAVAILABLE, "Customer %s is being changed by another transaction right now; nothing was deleted. Try again in a moment.", key)
		case isSQLState(err, sqlstateForeignKeyViolation):
			return sweep.Errorf(sweep.EUNAVAILABLE, "Customer %s was not deleted: a table the erasure plan does not cover points at the customer (the platform's schema changed since the plan was checked). Run sweep plan check and update the plan.", key)
		case err != nil:
			return fmt.Errorf("delete customer %s: %w", key, err)
		}
		if why, ok := res.Blocked[customer]; ok {
			return sweep.Errorf(sweep.ELINKED, "%s", blockedSentence(why, "delete the customer again"))
		}
		if !res.Erased[customer] {
			return sweep.Errorf(sweep.ENOTFOUND, "Customer %s was not found; it may have been deleted already.", key)
		}
		// The customer.deleted webhook, in the deletion's transaction: a
		// crash loses both or neither. It names the token, never the person;
		// a uuid or text key is sent as customer_key too.
		_, err = tx.ExecContext(ctx, `SELECT sweep_webhook_emit($1, $2, NULL, $3, jsonb_build_object('customer_id', $3::bigint, 'deleted_at', now(),
			'deleted_by', coalesce((SELECT name FROM api_tokens WHERE tenant_id = $1 AND id = $4), '')) || $5::jsonb)`,
			tenant, sweep.EventCustomerDeleted, customer, tokenID, keyField(keyed, key))
		return err
	})
}

// keyField is the customer_key member of what names a customer whose key is
// not its number.
func keyField(keyed bool, key string) string {
	if !keyed {
		return "{}"
	}
	b, _ := json.Marshal(map[string]string{"customer_key": key})
	return string(b)
}
