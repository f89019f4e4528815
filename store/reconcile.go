package store

import (
	"context"
	"time"

	"github.com/sweephq/sweep"
)

// SetTaskID records the newest task that carries an import's work, which the
// reconciler looks for in Redis.
func (db *DB) SetTaskID(ctx context.Context, tenant, id int64, taskID string) error {
	_, err := db.db.ExecContext(ctx, `UPDATE imports SET task_id = $3 WHERE tenant_id = $1 AND id = $2`, tenant, id, taskID)
	return err
}

// StaleImport is an import a worker should be holding but may have lost.
type StaleImport struct {
	sweep.Import
	TaskID string // the id of the task it was last queued with
}

// StaleImports lists imports in a working state that have not changed for
// olderThan: the reconciler's candidates.
func (db *DB) StaleImports(ctx context.Context, olderThan time.Duration) ([]StaleImport, error) {
	var rows []struct {
		importRow
		TaskID string `db:"task_id"`
	}
	err := db.db.SelectContext(ctx, &rows, `
		SELECT `+importColumns+`, task_id FROM imports
		WHERE status IN ('uploaded', 'validating', 'queued', 'running') AND updated_at < now() - $1 * interval '1 second'
		ORDER BY id LIMIT 1000`, olderThan.Seconds())
	out := make([]StaleImport, len(rows))
	for i, r := range rows {
		out[i] = StaleImport{Import: r.toImport(), TaskID: r.TaskID}
	}
	return out, err
}

// TouchImport marks an import as looked after now.
func (db *DB) TouchImport(ctx context.Context, tenant, id int64) error {
	_, err := db.db.ExecContext(ctx, `UPDATE imports SET updated_at = now() WHERE tenant_id = $1 AND id = $2`, tenant, id)
	return err
}
