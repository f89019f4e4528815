package store_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/store"
)

func tables(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'public' AND table_name <> 'goose_db_version' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		rows.Scan(&s)
		out = append(out, s)
	}
	return out
}

func TestMigrateUpDownOnEmptyDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sql.Open("postgres", testenv.EmptyDatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m, err := store.NewMigrator(db)
	if err != nil {
		t.Fatal(err)
	}

	applied, err := m.Up(ctx)
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	if len(applied) == 0 {
		t.Fatal("up applied nothing on an empty database")
	}
	want := []string{
		"api_tokens", "cleanup_policies", "cleanup_runs", "customer_addresses", "customer_credit_scores",
		"customer_custom_field_values", "customer_documents", "customer_emails",
		"customer_employers", "customer_notes", "customer_payment_accounts", "customer_phones",
		"customer_references", "customer_social_profiles", "customers", "deletion_audit",
		"import_blocks", "import_errors", "import_events", "import_files", "import_holds", "import_impacts", "imports", "loan_customers", "loans", "run_holds", "staged_ids", "tenants", "unapproved_deletions",
		"webhook_deliveries", "webhook_endpoints", "webhook_messages",
	}
	if diff := cmp.Diff(want, tables(t, db)); diff != "" {
		t.Errorf("tables after up (-want +got):\n%s", diff)
	}
	st, err := m.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if !s.Applied {
			t.Errorf("migration %d %s not applied after up", s.Version, s.Name)
		}
	}
	if again, err := m.Up(ctx); err != nil || len(again) != 0 {
		t.Errorf("second up = %v, %v; want nothing to do", again, err)
	}

	if _, err := m.Reset(ctx); err != nil {
		t.Fatalf("down: %v", err)
	}
	if got := tables(t, db); len(got) != 0 {
		t.Errorf("tables left after rolling back every migration: %v", got)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatalf("up after down: %v", err)
	}
}

// Every foreign key must be backed by an index that starts with its columns;
// without one a cascading delete scans the whole child table (about 4 deletes a
// second instead of thousands).
func TestEveryForeignKeyIsIndexed(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t).SQL()
	rows, err := db.Query(`
		SELECT c.conrelid::regclass::text, c.conname
		FROM pg_constraint c
		WHERE c.contype = 'f' AND NOT EXISTS (
			SELECT 1 FROM pg_index i
			WHERE i.indrelid = c.conrelid
			  AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] = c.conkey)
		ORDER BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var table, name string
		rows.Scan(&table, &name)
		t.Errorf("foreign key %s on %s has no index starting with its columns", name, table)
	}
}

// Every table but tenants must carry tenant_id as the first column of its
// primary key, so every row is reachable only through its tenant.
func TestEveryTableIsTenantScoped(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t).SQL()
	rows, err := db.Query(`
		SELECT t.relname, coalesce(a.attname, '')
		FROM pg_class t
		JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
		LEFT JOIN pg_index i ON i.indrelid = t.oid AND i.indisprimary
		LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = i.indkey[0]
		WHERE t.relkind = 'r' AND t.relname NOT IN ('tenants', 'goose_db_version', 'api_tokens')
		ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var table, first string
		rows.Scan(&table, &first)
		n++
		if first != "tenant_id" {
			t.Errorf("table %s: primary key starts with %q, want tenant_id", table, first)
		}
	}
	if n < 19 {
		t.Errorf("checked %d tables, want at least 19", n)
	}
}
