package store

import (
	"context"
	"fmt"
	"strconv"

	"github.com/lib/pq"
	"github.com/sweephq/sweep"
)

// Customers whose key is a uuid or text are numbered in subject_keys (see
// its migration): files, chunks and audit rows hold the number, and the
// plan's statements read the key from it.

// Key is how the erasure plan reads a customer's key.
func (db *DB) Key(ctx context.Context) (sweep.Key, error) {
	cp, err := db.erasurePlan(ctx)
	if err != nil {
		return sweep.Key{}, err
	}
	return cp.Key(), nil
}

// numberKeys returns the number of each of keys (as Key.Parse spells them)
// in tenant that names a customer of the platform now, numbering the new
// ones; a key that names no one is left out, and nothing is kept of it. Its
// own statements, committed at once:
// a number, once given, stays, whatever the caller's transaction does, and
// two callers numbering the same keys wait on each other for a moment only
// (in key order, so never on each other in a circle).
func (db *DB) numberKeys(ctx context.Context, tenant int64, keys []string) (map[string]int64, error) {
	out := make(map[string]int64, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	cp, err := db.erasurePlan(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := db.db.ExecContext(ctx, `INSERT INTO subject_keys (tenant_id, key)
		SELECT $1, u.k FROM (SELECT DISTINCT unnest($2::text[]) AS k) u
		WHERE EXISTS (SELECT 1 FROM `+cp.SubjectTable()+` c WHERE `+cp.SubjectRowKey("c", "$1", cp.KeyCast("u.k"))+`)
		ORDER BY u.k ON CONFLICT DO NOTHING`, tenant, pq.Array(keys)); err != nil {
		return nil, fmt.Errorf("number the customers' keys: %w", err)
	}
	rows, err := db.db.QueryContext(ctx, `SELECT key, n FROM subject_keys WHERE tenant_id = $1 AND key = ANY($2)`, tenant, pq.Array(keys))
	if err != nil {
		return nil, fmt.Errorf("number the customers' keys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			k string
			n int64
		)
		if err := rows.Scan(&k, &n); err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, rows.Err()
}

// KeyNames is how each customer numbered in ids is written: its key (for a
// whole-number key, the number itself).
func (db *DB) KeyNames(ctx context.Context, tenant int64, ids []int64) (map[int64]string, error) {
	cp, err := db.erasurePlan(ctx)
	if err != nil {
		return nil, err
	}
	return cp.KeyNames(ctx, db.db, tenant, ids)
}

// CustomerNumber finds the customer of tenant whose key a path spells raw:
// its number and its key as the platform spells it, or ENOTFOUND with what
// to write. A uuid or text key is
// numbered only when the platform has such a customer, so asking for
// customers that do not exist leaves nothing behind.
func (db *DB) CustomerNumber(ctx context.Context, tenant int64, raw string) (int64, string, error) {
	cp, err := db.erasurePlan(ctx)
	if err != nil {
		return 0, "", err
	}
	k := cp.Key()
	key, ok := k.ParsePath(raw)
	if !ok {
		how := "digits without a sign, spaces or leading zeros"
		switch k.Kind {
		case sweep.KeyUUID:
			how = "a UUID"
		case sweep.KeyText:
			how = "the id as the platform writes it, without surrounding spaces or control characters"
		}
		return 0, "", sweep.Errorf(sweep.ENOTFOUND, "Customer %q was not found: customer ids in a path are written as %s, such as %s.", sweep.SafeValue(raw), how, k.Example())
	}
	if k.Kind == sweep.KeyWhole {
		n, err := strconv.ParseInt(key, 10, 64)
		return n, key, err
	}
	var exists bool
	if err := db.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+cp.SubjectTable()+` c WHERE `+
		cp.SubjectRowKey("c", "$1", cp.KeyCast("$2::text"))+`)`, tenant, key).Scan(&exists); err != nil {
		return 0, "", fmt.Errorf("find customer: %w", err)
	}
	if !exists {
		return 0, "", sweep.Errorf(sweep.ENOTFOUND, "Customer %s was not found; it may have been deleted already.", sweep.SafeValue(key))
	}
	nums, err := db.numberKeys(ctx, tenant, []string{key})
	if err != nil {
		return 0, "", err
	}
	return nums[key], key, nil
}
