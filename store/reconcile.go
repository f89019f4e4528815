package store

import (
	"context"
	"time"
)

// SetTaskID records the newest task that carries an import's work, which the
// reconciler looks for in Redis.
func (db *DB) SetTaskID(ctx context.Context, tenant, id int64, taskID string) error {
	_, err := db.db.ExecContext(ctx, `UPDATE imports SET task_id = $3 WHERE tenant_id = $1 AND id = $2`, tenant, id, taskID)
	return err
}

// StaleImport is an import a worker should be holding but may have lost.
type StaleImport struct {
	TenantID    int64      `db:"tenant_id"`
	ID          int64      `db:"id"`
	Source      string     `db:"source"`
	Status      string     `db:"status"`
	TaskID      string     `db:"task_id"`
	RunAt       *time.Time `db:"run_at"`
	Round       int        `db:"validations"`
	Parallelism int        `db:"parallelism"`
	CreatedAt   time.Time  `db:"created_at"`
}

// StaleImports lists imports in a working state that have not changed for
// olderThan: the reconciler's candidates.
func (db *DB) StaleImports(ctx context.Context, olderThan time.Duration) ([]StaleImport, error) {
	var out []StaleImport
	err := db.db.SelectContext(ctx, &out, `
		SELECT tenant_id, id, source, status, task_id, run_at, validations, parallelism, created_at FROM imports
		WHERE status IN ('uploaded', 'validating', 'queued', 'running') AND updated_at < now() - $1 * interval '1 second'
		ORDER BY id LIMIT 1000`, olderThan.Seconds())
	return out, err
}

// TouchImport marks an import as looked after now.
func (db *DB) TouchImport(ctx context.Context, tenant, id int64) error {
	_, err := db.db.ExecContext(ctx, `UPDATE imports SET updated_at = now() WHERE tenant_id = $1 AND id = $2`, tenant, id)
	return err
}
