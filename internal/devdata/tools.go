package devdata

import (
	"context"
	"fmt"

	"github.com/lib/pq"
	"github.com/sweephq/sweep/store"
)

// The functions of this file serve sweep's own tools, `sweep-dev seed`, `sweep-dev demo`
// and `sweep-dev bench`, which read or prepare the database around the API
// rather than through it.

// unlinked selects the customers of tenant $1 that no loan links.
const unlinked = `SELECT id FROM customers c WHERE tenant_id = $1 AND NOT EXISTS
	(SELECT 1 FROM loan_customers l WHERE l.tenant_id = c.tenant_id AND l.customer_id = c.id)`

// CountUnlinkedCustomers returns how many customers of tenant no loan links:
// those an import could delete.
func CountUnlinkedCustomers(ctx context.Context, db *store.DB, tenant int64) (int64, error) {
	var n int64
	if err := db.SQL().GetContext(ctx, &n, `SELECT count(*) FROM (`+unlinked+`) u`, tenant); err != nil {
		return 0, fmt.Errorf("count unlinked customers of tenant %d: %w", tenant, err)
	}
	return n, nil
}

// UnlinkedCustomerIDs returns the ids of every customer of tenant that no loan
// links, in order.
func UnlinkedCustomerIDs(ctx context.Context, db *store.DB, tenant int64) ([]int64, error) {
	var ids []int64
	if err := db.SQL().SelectContext(ctx, &ids, unlinked+` ORDER BY id`, tenant); err != nil {
		return nil, fmt.Errorf("list unlinked customers of tenant %d: %w", tenant, err)
	}
	return ids, nil
}

// FirstCustomerIDs returns, in order, the ids of tenant's first unlinked
// customers that no loan links and of its first linked customers that one
// does: a file of both shows both outcomes of an import.
func FirstCustomerIDs(ctx context.Context, db *store.DB, tenant int64, unlinkedN, linkedN int) ([]int64, error) {
	var ids []int64
	err := db.SQL().SelectContext(ctx, &ids, `(`+unlinked+` ORDER BY id LIMIT $2)
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
	admin, err := store.Open(ctx, adminURL)
	if err != nil {
		return err
	}
	defer admin.Close()
	q := pq.QuoteIdentifier(name)
	if _, err := admin.SQL().ExecContext(ctx, `DROP DATABASE IF EXISTS `+q+` WITH (FORCE)`); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	if _, err := admin.SQL().ExecContext(ctx, `CREATE DATABASE `+q); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// Vacuum runs VACUUM (ANALYZE) on each table, so a measure that follows does
// not pay for the dead rows an earlier one left, nor autovacuum run during it.
func Vacuum(ctx context.Context, db *store.DB, tables ...string) error {
	for _, t := range tables {
		if _, err := db.SQL().ExecContext(ctx, `VACUUM (ANALYZE) `+pq.QuoteIdentifier(t)); err != nil {
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
func RawDeleteReference(ctx context.Context, db *store.DB, tenant int64, ids []int64, conns int) error {
	conns = max(conns, 1)
	errs := make(chan error, conns)
	for k := range conns {
		go func() {
			conn, err := db.SQL().Conn(ctx)
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
