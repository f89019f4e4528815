package store

import (
	"context"
	"fmt"

	"github.com/sweephq/sweep"
)

// Outcome is one row of an import's results.
type Outcome struct {
	Line       int64
	CustomerID string
	Outcome    string // deleted, skipped_..., pending, or error
	Detail     string
}

// EachOutcome calls fn for every row of an import in line order: the valid
// rows with their run outcome (pending until run) and the rejected rows with
// their error, streamed from the database.
func (db *DB) EachOutcome(ctx context.Context, tenant, id int64, fn func(Outcome) error) error {
	k, err := db.Key(ctx)
	if err != nil {
		return err
	}
	name := "r.customer_id::text"
	if k.Kind != sweep.KeyWhole {
		// A uuid or text key: the key the file gave, not sweep's number.
		name = "(SELECT k.key FROM subject_keys k WHERE k.tenant_id = $1 AND k.n = r.customer_id)"
	}
	rows, err := db.db.QueryContext(ctx, `
		SELECT r.line, `+name+`, coalesce(r.outcome, 'pending'), ''
		FROM import_blocks b, unnest(b.lines, b.customer_ids, b.outcomes) AS r(line, customer_id, outcome)
		WHERE b.tenant_id = $1 AND b.import_id = $2
		UNION ALL
		SELECT line, value, 'error', message FROM import_errors WHERE tenant_id = $1 AND import_id = $2
		ORDER BY 1`, tenant, id)
	if err != nil {
		return fmt.Errorf("results of import %d: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var o Outcome
		if err := rows.Scan(&o.Line, &o.CustomerID, &o.Outcome, &o.Detail); err != nil {
			return err
		}
		if err := fn(o); err != nil {
			return err
		}
	}
	return rows.Err()
}
