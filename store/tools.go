package store

import (
	"context"
	"fmt"

	"github.com/lib/pq"
)

// The methods of this file serve sweep's own tools, `sweep seed`, `sweep demo`
// and `sweep bench`, which read or prepare the database around the API
// rather than through it.

// unlinked selects the customers of tenant $1 that no loan links.
const unlinked = `SELECT id FROM customers c WHERE tenant_id = $1 AND NOT EXISTS
	(SELECT 1 FROM loan_customers l WHERE l.tenant_id = c.tenant_id AND l.customer_id = c.id)`

// CountUnlinkedCustomers returns how many customers of tenant no loan links:
// those an import could delete.
func (db *DB) CountUnlinkedCustomers(ctx context.Context, tenant int64) (int64, error) {
	var n int64
	if err := db.db.GetContext(ctx, &n, `SELECT count(*) FROM (`+unlinked+`) u`, tenant); err != nil {
		return 0, fmt.Errorf("count unlinked customers of tenant %d: %w", tenant, err)
	}
	return n, nil
}

// UnlinkedCustomerIDs returns the ids of every customer of tenant that no loan
// links, in order.
func (db *DB) UnlinkedCustomerIDs(ctx context.Context, tenant int64) ([]int64, error) {
	var ids []int64
	if err := db.db.SelectContext(ctx, &ids, unlinked+` ORDER BY id`, tenant); err != nil {
		return nil, fmt.Errorf("list unlinked customers of tenant %d: %w", tenant, err)
	}
	return ids, nil
}

// FirstCustomerIDs returns, in order, the ids of tenant's first unlinked
// customers that no loan links and of its first linked customers that one
// does: a file of both shows both outcomes of an import.
func (db *DB) FirstCustomerIDs(ctx context.Context, tenant int64, unlinkedN, linkedN int) ([]int64, error) {
	var ids []int64
	err := db.db.SelectContext(ctx, &ids, `(`+unlinked+` ORDER BY id LIMIT $2)
		UNION ALL
		(SELECT DISTINCT customer_id FROM loan_customers WHERE tenant_id = $1 ORDER BY customer_id LIMIT $3)
		ORDER BY 1`, tenant, unlinkedN, linkedN)
	if err != nil {
		return nil, fmt.Errorf("pick customers of tenant %d: %w", tenant, err)
	}
	return ids, nil
}

// ResetDatabase drops the database name, with its open connections, and
// creates it empty, through the server at adminURL (whose role needs
// CREATEDB). Only for scratch databases such as the bench's.
func ResetDatabase(ctx context.Context, adminURL, name string) error {
	admin, err := Open(ctx, adminURL)
	if err != nil {
		return err
	}
	defer admin.Close()
	q := pq.QuoteIdentifier(name)
	if _, err := admin.db.ExecContext(ctx, `DROP DATABASE IF EXISTS `+q+` WITH (FORCE)`); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	if _, err := admin.db.ExecContext(ctx, `CREATE DATABASE `+q); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// Migrator returns the migrator of sweep's objects in schema of this
// database, whose URL must put schema first in the search_path (WithSchema).
func (db *DB) Migrator(schema string) (*Migrator, error) {
	return NewMigrator(db.db.DB, schema)
}

// Vacuum runs VACUUM (ANALYZE) on each table, so a measure that follows does
// not pay for the dead rows an earlier one left, nor autovacuum run during it.
func (db *DB) Vacuum(ctx context.Context, tables ...string) error {
	for _, t := range tables {
		if _, err := db.db.ExecContext(ctx, `VACUUM (ANALYZE) `+pq.QuoteIdentifier(t)); err != nil {
			return fmt.Errorf("vacuum %s: %w", t, err)
		}
	}
	return nil
}

// RawDeleteReference deletes the customers ids of tenant the plainest way,
// the reference the bench measures imports against: DELETE statements of
// 1,000 ids each, in the order given, on conns connections at once (each
// taking every conns-th batch), with no audit, no blocks and no checks. The
// related rows go by the schema's cascades. Never use it on real data.
func (db *DB) RawDeleteReference(ctx context.Context, tenant int64, ids []int64, conns int) error {
	conns = max(conns, 1)
	errs := make(chan error, conns)
	for k := range conns {
		go func() {
			conn, err := db.db.Conn(ctx)
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close()
			for i := k * 1000; i < len(ids); i += conns * 1000 {
				if _, err := conn.ExecContext(ctx, `DELETE FROM customers WHERE tenant_id = $1 AND id = ANY($2)`,
					tenant, pq.Array(ids[i:min(i+1000, len(ids))])); err != nil {
					errs <- fmt.Errorf("raw delete: %w", err)
					return
				}
			}
			errs <- nil
		}()
	}
	var first error
	for range conns {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}
