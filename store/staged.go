package store

import (
	"context"
	"fmt"

	"github.com/sweephq/sweep"
)

// EachStagedID calls fn with every id of a tenant's staged batch (see
// jobs.WithStaging), in the order they were staged. A batch with no rows is
// ENOTFOUND.
func (db *DB) EachStagedID(ctx context.Context, tenant int64, batch string, fn func(id int64) error) error {
	rows, err := db.db.QueryContext(ctx, `SELECT ids FROM staged_ids WHERE tenant_id = $1 AND batch = $2 ORDER BY seq`, tenant, batch)
	if err != nil {
		return fmt.Errorf("read staged batch %s: %w", batch, err)
	}
	defer rows.Close()
	found := false
	for rows.Next() {
		found = true
		var ids int64List
		if err := rows.Scan(&ids); err != nil {
			return err
		}
		for _, id := range ids {
			if err := fn(id); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if !found {
		return sweep.Errorf(sweep.ENOTFOUND, "Staged batch %s of tenant %d has no ids; stage them again and enqueue a new request.", batch, tenant)
	}
	return nil
}

// DropStaged removes a staged batch once its import holds the ids.
func (db *DB) DropStaged(ctx context.Context, tenant int64, batch string) error {
	_, err := db.db.ExecContext(ctx, `DELETE FROM staged_ids WHERE tenant_id = $1 AND batch = $2`, tenant, batch)
	return err
}

// TenantExists reports whether sweep knows the tenant.
func (db *DB) TenantExists(ctx context.Context, tenant int64) (bool, error) {
	var ok bool
	err := db.db.GetContext(ctx, &ok, `SELECT EXISTS (SELECT 1 FROM tenants WHERE id = $1)`, tenant)
	return ok, err
}
