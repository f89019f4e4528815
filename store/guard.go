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
	b.WriteString(`-- Code generated from the state table of status.go and the timeline's
-- steps of timeline.go by "go generate ./store"; DO NOT EDIT.
--
-- sweep migrate up applies this file after the migrations, every time: an
-- UPDATE that moves imports.status along an edge the Go table lacks is
-- refused by the trigger imports_status_edge, whatever code runs it, and
-- every move writes its step of the timeline as the Go table says.

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
	b.WriteString(importEventSQL())
	return b.String()
}

// importEventSQL is the trigger function that writes the timeline's steps
// an import's row makes (sweep.StatusSteps and the steps beside them), in
// the statement that makes them. It reads the row as JSON, so a column
// that a rolled-back schema lacks reads as null rather than failing.
func importEventSQL() string {
	detail := func(keys []sweep.DetailKey) string {
		if len(keys) == 0 {
			return "'{}'::jsonb"
		}
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("'%s', r -> '%s'", k, k.Column())
		}
		return "jsonb_build_object(" + strings.Join(parts, ", ") + ")"
	}
	insert := func(kind, actor string, keys []sweep.DetailKey) string {
		return "INSERT INTO import_events (tenant_id, import_id, kind, actor, detail)\n" +
			"            VALUES (NEW.tenant_id, NEW.id, " + kind + ", " + actor + ", " + detail(keys) + ");"
	}
	var arms []string
	for _, to := range sweep.Statuses {
		step, ok := sweep.StatusSteps[to]
		if !ok {
			continue
		}
		arm := fmt.Sprintf("        WHEN '%s' THEN\n", to)
		if len(step.After) > 0 {
			var whens []string
			for _, from := range sweep.Statuses {
				if k, ok := step.After[from]; ok {
					whens = append(whens, fmt.Sprintf("WHEN '%s' THEN '%s'", from, k))
				}
			}
			arm += fmt.Sprintf("            kind := CASE OLD.status %s ELSE '%s' END;\n", strings.Join(whens, " "), step.KindFrom("", to))
		} else if step.Kind != "" {
			arm += fmt.Sprintf("            kind := '%s';\n", step.Kind)
		}
		arm += "            detail := " + detail(step.Detail) + ";"
		arms = append(arms, arm)
	}
	return `
-- The timeline's steps an import's row makes, written in the statement
-- that makes them (sweep.StatusSteps in timeline.go).
CREATE OR REPLACE FUNCTION sweep_import_event() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    r jsonb := to_jsonb(NEW);
    was jsonb;
    kind text;
    detail jsonb := '{}';
BEGIN
    IF TG_OP = 'INSERT' THEN
        ` + insert("'"+sweep.UploadedStep.Kind+"'", "coalesce(nullif(r ->> 'created_by', ''), sweep_actor())", sweep.UploadedStep.Detail) + `
        IF NEW.status <> '` + string(sweep.StatusUploaded) + `' THEN -- a cleanup run that found nothing is created completed
            ` + insert("NEW.status", "'sweep'", sweep.CreatedDetail) + `
        END IF;
        RETURN NEW;
    END IF;
    was := to_jsonb(OLD);
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        kind := NEW.status;
        CASE NEW.status
` + strings.Join(arms, "\n") + `
        ELSE
            NULL;
        END CASE;
        INSERT INTO import_events (tenant_id, import_id, kind, actor, detail)
        VALUES (NEW.tenant_id, NEW.id, kind, sweep_actor(), detail);
    ELSIF coalesce((r ->> 'cancel_requested')::boolean, false) AND NOT coalesce((was ->> 'cancel_requested')::boolean, false) THEN
        ` + insert("'"+sweep.CancelAskedStep.Kind+"'", "sweep_actor()", sweep.CancelAskedStep.Detail) + `
    END IF;
    IF r -> 'run_window' IS DISTINCT FROM was -> 'run_window' OR r -> 'max_rows_per_second' IS DISTINCT FROM was -> 'max_rows_per_second' THEN
        ` + insert("'"+sweep.RunChangedStep.Kind+"'", "sweep_actor()", sweep.RunChangedStep.Detail) + `
    END IF;
    RETURN NEW;
END
$$;
`
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
