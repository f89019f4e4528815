package store

import (
	"context"
	_ "embed"
	"fmt"
	"strings"

	"github.com/sweephq/sweep"
)

//go:generate go run ./internal/genguard

// stateGuard is guard/import_states.sql: the import state table of status.go
// as the database enforces it, generated from the Go table (StateGuardSQL)
// and applied by Migrator.Up after the migrations, every time. The
// migrations hold no copy of it: a change of the table is a change of
// status.go and `go generate ./store`, and the next `sweep migrate up`
// brings the database along.
//
//go:embed guard/import_states.sql
var stateGuard string

// StateGuardSQL is what guard/import_states.sql must hold for the state
// table of status.go; a test fails when the file has drifted from it.
func StateGuardSQL() string {
	var b strings.Builder
	b.WriteString(`-- Code generated from the state table of status.go by "go generate ./store"; DO NOT EDIT.
--
-- sweep migrate up applies this file after the migrations, every time: an
-- UPDATE that moves imports.status along an edge the Go table lacks is
-- refused by the trigger imports_status_edge, whatever code runs it.

CREATE OR REPLACE FUNCTION sweep_import_edge(from_status text, to_status text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT (from_status, to_status) IN (VALUES
`)
	// One line of edges per state that has any, in the order of Statuses.
	var lines []string
	for _, from := range sweep.Statuses {
		var pairs []string
		for _, to := range from.Next() {
			pairs = append(pairs, fmt.Sprintf("('%s', '%s')", from, to))
		}
		if len(pairs) > 0 {
			lines = append(lines, "        "+strings.Join(pairs, ", "))
		}
	}
	b.WriteString(strings.Join(lines, ",\n"))
	b.WriteString(`)
$$;

-- The mark of store.transition, the one writer of an import's status: its
-- UPDATE calls this in its WHERE clause, before the row changes, and the
-- trigger lets only a marked statement's status change through.
CREATE OR REPLACE FUNCTION sweep_transition() RETURNS boolean
LANGUAGE sql VOLATILE AS $$ SELECT set_config('sweep.transition', 'on', true) = 'on' $$;

CREATE OR REPLACE FUNCTION sweep_check_import_edge() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('sweep.transition', true) IS DISTINCT FROM 'on' THEN
        RAISE EXCEPTION 'import % of tenant %: % -> % was written outside store.transition, the one writer of an import''s status', OLD.id, OLD.tenant_id, OLD.status, NEW.status
            USING ERRCODE = 'check_violation';
    END IF;
    IF NOT sweep_import_edge(OLD.status, NEW.status) THEN
        RAISE EXCEPTION 'import % of tenant %: % -> % is not an edge of the import state table', OLD.id, OLD.tenant_id, OLD.status, NEW.status
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
`)
	return b.String()
}

// applyGuard replaces the state guard's function with this binary's, under
// a lock: replicas started together would otherwise replace it at once, and
// one of them fail.
func (m *Migrator) applyGuard(ctx context.Context) error {
	tx, err := m.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("apply the import state guard: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('sweep:state guard', 0))`); err != nil {
		return fmt.Errorf("apply the import state guard: %w", err)
	}
	if _, err := tx.ExecContext(ctx, stateGuard); err != nil {
		return fmt.Errorf("apply the import state guard (guard/import_states.sql): %w", err)
	}
	return tx.Commit()
}

// StateGuardFile is guard/import_states.sql as this binary embeds it.
func StateGuardFile() string { return stateGuard }
