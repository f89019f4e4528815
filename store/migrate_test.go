package store_test

import (
	"context"
	"database/sql"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pressly/goose/v3"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/examples"
	"github.com/sweephq/sweep/internal/devdata"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/store"
)

// ownTables are sweep's own tables; ownFunctions its functions.
var (
	ownTables = []string{
		"api_tokens", "cleanup_policies", "cleanup_runs", "deletion_audit", "import_blocks", "import_errors",
		"import_events", "import_files", "import_holds", "import_impacts", "imports", "run_holds", "staged_ids", "subject_keys",
		"tenants", "unapproved_deletions", "webhook_deliveries", "webhook_endpoints", "webhook_messages",
	}
	ownFunctions = []string{
		"sweep_actor", "sweep_add_counts", "sweep_approval_event_tokens", "sweep_check_import_edge", "sweep_end_hold", "sweep_hold_event",
		"sweep_impact_event", "sweep_import_edge", "sweep_import_event", "sweep_import_webhook",
		"sweep_import_webhook_type", "sweep_transition", "sweep_webhook_emit",
	}
	// platformTables are the demo platform's (examples/demo/schema.sql).
	platformTables = []string{
		"customer_addresses", "customer_credit_scores", "customer_custom_field_values", "customer_documents",
		"customer_emails", "customer_employers", "customer_notes", "customer_payment_accounts", "customer_phones",
		"customer_references", "customer_social_profiles", "customers", "loan_customers", "loans",
	}
)

// names returns the first column of query's rows.
func names(t *testing.T, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// tables lists the tables of schema.
func tables(t *testing.T, db *sql.DB, schema string) []string {
	t.Helper()
	return names(t, db, `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`, schema)
}

// objects lists every relation of schema but indexes (tables, sequences,
// views), and every function, as kind:name.
func objects(t *testing.T, db *sql.DB, schema string) []string {
	t.Helper()
	return names(t, db, `
		SELECT c.relkind::text || ':' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind <> 'i'
		UNION ALL
		SELECT 'f:' || p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1
		ORDER BY 1`, schema)
}

func functions(t *testing.T, db *sql.DB, schema string) []string {
	t.Helper()
	return names(t, db, `SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = $1 ORDER BY 1`, schema)
}

// with returns list and more, sorted.
func with(list []string, more ...string) []string {
	out := append(slices.Clone(list), more...)
	slices.Sort(out)
	return out
}

// inSchema returns dbURL with search_path naming schema (and public) in place
// of the one it has.
func inSchema(t *testing.T, dbURL, schema string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Del("search_path")
	u.RawQuery = q.Encode()
	s, err := store.WithSchema(u.String(), schema)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func openSQL(t *testing.T, dbURL string) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// A fresh install makes sweep's objects in its schema, next to goose's
// history, and nothing in public; rolling every migration back leaves the
// history alone, and up again works.
func TestMigrateUpDownOnEmptyDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openSQL(t, testenv.EmptyDatabaseURL(t))
	m, err := store.NewMigrator(db, store.DefaultSchema)
	if err != nil {
		t.Fatal(err)
	}

	applied, err := m.Up(ctx)
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	if len(applied) < 16 {
		t.Fatalf("up applied %v on an empty database, want every migration", applied)
	}
	if diff := cmp.Diff(with(ownTables, "goose_db_version"), tables(t, db, "sweep")); diff != "" {
		t.Errorf("tables of schema sweep after up (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(ownFunctions, functions(t, db, "sweep")); diff != "" {
		t.Errorf("functions of schema sweep after up (-want +got):\n%s", diff)
	}
	// The state guard generated from status.go is in force, not the
	// migrations' placeholder.
	for _, from := range sweep.Statuses {
		for _, to := range sweep.Statuses {
			var ok bool
			if err := db.QueryRowContext(ctx, `SELECT sweep.sweep_import_edge($1, $2)`, from, to).Scan(&ok); err != nil {
				t.Fatal(err)
			}
			if ok != sweep.CanTransition(from, to) {
				t.Errorf("after up, %s -> %s: the database says %v, status.go says %v", from, to, ok, !ok)
			}
		}
	}
	if got := objects(t, db, "public"); len(got) != 0 {
		t.Errorf("the migrations made objects in public: %v", got)
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

	// Four steps down and up again: 00019 to 00017 drop what they added,
	// 00016 has nothing to undo.
	for _, want := range []int64{19, 18, 17, 16} {
		if v, err := m.Down(ctx); err != nil || v != want {
			t.Fatalf("down = %d, %v; want %d", v, err, want)
		}
	}
	if got := tables(t, db, "sweep"); len(got) != len(ownTables) || slices.Contains(got, "subject_keys") {
		t.Errorf("tables of schema sweep after rolling 00019 to 00016 back: %v", got)
	}
	if again, err := m.Up(ctx); err != nil || !cmp.Equal(again, []int64{16, 17, 18, 19}) {
		t.Errorf("up after two downs = %v, %v; want [16 17]", again, err)
	}

	if _, err := m.Reset(ctx); err != nil {
		t.Fatalf("down: %v", err)
	}
	if diff := cmp.Diff([]string{"goose_db_version"}, tables(t, db, "sweep")); diff != "" {
		t.Errorf("tables of schema sweep after rolling back every migration (-want +got):\n%s", diff)
	}
	if got := functions(t, db, "sweep"); len(got) != 0 {
		t.Errorf("functions left after rolling back every migration: %v", got)
	}
	if got := objects(t, db, "public"); len(got) != 0 {
		t.Errorf("objects in public after rolling back every migration: %v", got)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatalf("up after down: %v", err)
	}
	if diff := cmp.Diff(with(ownTables, "goose_db_version"), tables(t, db, "sweep")); diff != "" {
		t.Errorf("tables of schema sweep after up, down and up (-want +got):\n%s", diff)
	}
}

// Another schema than sweep works alike, and sweep's objects go there only.
func TestMigrateIntoAnotherSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := inSchema(t, testenv.EmptyDatabaseURL(t), "lending_erasure")
	sdb := testenv.OpenDB(t, dbURL)
	db := sdb.SQL().DB
	m, err := store.NewMigrator(db, "lending_erasure")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatalf("up: %v", err)
	}
	if diff := cmp.Diff(with(ownTables, "goose_db_version"), tables(t, db, "lending_erasure")); diff != "" {
		t.Errorf("tables of schema lending_erasure (-want +got):\n%s", diff)
	}
	if got := names(t, db, `SELECT nspname FROM pg_namespace WHERE nspname = 'sweep'`); len(got) != 0 {
		t.Errorf("schema sweep was made although lending_erasure was asked for")
	}
	if got := objects(t, db, "public"); len(got) != 0 {
		t.Errorf("the migrations made objects in public: %v", got)
	}
	// sweep's code finds its tables there and the platform's in public.
	if err := examples.CreateDemoPlatform(ctx, db); err != nil {
		t.Fatal(err)
	}
	if _, err := devdata.Seed(ctx, sdb, devdata.SeedOptions{Tenant: 9, Customers: 5, Seed: 1}); err != nil {
		t.Fatalf("seed: %v", err)
	}
	if n, err := devdata.CountCustomers(ctx, sdb, 9); err != nil || n != 5 {
		t.Errorf("customers of tenant 9 = %d, %v; want 5", n, err)
	}
	if diff := cmp.Diff([]string{"9"}, names(t, db, `SELECT id::text FROM lending_erasure.tenants`)); diff != "" {
		t.Errorf("tenants in lending_erasure (-want +got):\n%s", diff)
	}
}

// A search_path that puts another schema first than the migrator's is
// refused with a sentence naming both, before anything is made.
func TestMigrateRefusesASearchPathNamingAnotherSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := inSchema(t, testenv.EmptyDatabaseURL(t), "public")
	db := openSQL(t, dbURL)
	m, err := store.NewMigrator(db, store.DefaultSchema)
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Up(ctx)
	if err == nil || !strings.Contains(err.Error(), "not the first schema of the session's search_path (public)") {
		t.Fatalf("up with search_path=public into schema sweep: %v; want a refusal naming the search_path", err)
	}
	if got := objects(t, db, "public"); len(got) != 0 {
		t.Errorf("a refused up made objects in public: %v", got)
	}
	for _, bad := range []string{"", "Sweep", "sweep-app", "1sweep", "pg_sweep", `sweep"; DROP`, strings.Repeat("s", 64)} {
		if _, err := store.NewMigrator(db, bad); err == nil {
			t.Errorf("NewMigrator(%q): no error", bad)
		}
	}
}

// An install from before sweep had its own schema, everything in public (the
// demo platform's customers referencing sweep's tenants), moves in place:
// sweep's tables, rows, sequence, functions and triggers go to the schema,
// goose's history with them, and the platform's tables stay in public without
// the foreign key to tenants.
func TestMigrateMovesAnInstallInPublic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	empty := testenv.EmptyDatabaseURL(t)

	old := openSQL(t, inSchema(t, empty, "public"))
	p, err := goose.NewProvider(goose.DialectPostgres, old, store.Migrations(), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 15); err != nil {
		t.Fatalf("the old install's migrations: %v", err)
	}
	if err := examples.CreateDemoPlatform(ctx, old); err != nil {
		t.Fatal(err)
	}
	var oldImport int64
	for _, q := range []string{
		`ALTER TABLE public.customers ADD FOREIGN KEY (tenant_id) REFERENCES public.tenants (id)`,
		`ALTER TABLE public.loans ADD FOREIGN KEY (tenant_id) REFERENCES public.tenants (id)`,
		`INSERT INTO tenants (id, name) VALUES (7, 'old tenant')`,
		`INSERT INTO customers (tenant_id, id, first_name, last_name) VALUES (7, 1, 'Ada', 'Old'), (7, 2, 'Bo', 'Old')`,
	} {
		if _, err := old.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := old.QueryRowContext(ctx, `INSERT INTO imports (tenant_id, source, key_space, file_name)
		VALUES (7, 'upload', 'http', 'old.csv') RETURNING id`).Scan(&oldImport); err != nil {
		t.Fatal(err)
	}
	// ownTables less subject_keys (00018), plus goose's.
	if got := tables(t, old, "public"); len(got) != len(ownTables)+len(platformTables) {
		t.Fatalf("the old install has %d tables in public, want %d: %v", len(got), len(ownTables)+len(platformTables), got)
	}
	old.Close()

	dbURL := inSchema(t, empty, store.DefaultSchema)
	sdb := testenv.OpenDB(t, dbURL)
	db := sdb.SQL().DB
	m, err := store.NewMigrator(db, store.DefaultSchema)
	if err != nil {
		t.Fatal(err)
	}
	applied, err := m.Up(ctx)
	if err != nil {
		t.Fatalf("up on the old install: %v", err)
	}
	if !cmp.Equal(applied, []int64{16, 17, 18, 19}) {
		t.Errorf("up on the old install applied %v, want [16 17 18 19]", applied)
	}

	if diff := cmp.Diff(with(ownTables, "goose_db_version"), tables(t, db, "sweep")); diff != "" {
		t.Errorf("tables of schema sweep after the upgrade (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(platformTables, tables(t, db, "public")); diff != "" {
		t.Errorf("tables of public after the upgrade (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(ownFunctions, functions(t, db, "sweep")); diff != "" {
		t.Errorf("functions of schema sweep after the upgrade (-want +got):\n%s", diff)
	}
	if got := functions(t, db, "public"); len(got) != 0 {
		t.Errorf("functions left in public: %v", got)
	}
	if got := names(t, db, `SELECT sequence_schema FROM information_schema.sequences WHERE sequence_name = 'imports_id_seq'`); !cmp.Equal(got, []string{"sweep"}) {
		t.Errorf("imports_id_seq is in %v, want [sweep]", got)
	}
	history := names(t, db, `SELECT version_id::text AS v FROM sweep.goose_db_version WHERE is_applied AND version_id > 0 ORDER BY version_id::bigint`)
	if want := strings.Fields("1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19"); !cmp.Equal(history, want) {
		t.Errorf("goose's history after the upgrade = %v, want %v", history, want)
	}
	if fks := names(t, db, `SELECT conrelid::regclass::text || ' ' || conname FROM pg_constraint
		WHERE contype = 'f' AND confrelid = 'sweep.tenants'::regclass AND connamespace <> 'sweep'::regnamespace`); len(fks) != 0 {
		t.Errorf("platform tables still reference sweep's tenants: %v", fks)
	}

	// The rows came along, and sweep's code works on them: the sequence
	// goes on from the old import, and the triggers write the timeline.
	if n, err := devdata.CountCustomers(ctx, sdb, 7); err != nil || n != 2 {
		t.Errorf("customers of tenant 7 after the upgrade = %d, %v; want 2", n, err)
	}
	imp, err := sdb.GetImport(ctx, 7, oldImport)
	if err != nil || imp.FileName != "old.csv" || imp.Status != sweep.StatusUploaded {
		t.Errorf("the old import after the upgrade: %+v, %v", imp, err)
	}
	created, _, err := sdb.CreateImport(ctx, store.NewImport{TenantID: 7, Source: sweep.SourceUpload, Policy: sweep.PolicyLine,
		FileName: "new.csv"}, strings.NewReader("customerId\n1\n"))
	if err != nil {
		t.Fatalf("an import after the upgrade: %v", err)
	}
	if created.ID <= oldImport {
		t.Errorf("the new import's id %d is not after the old one's %d", created.ID, oldImport)
	}
	if _, err := db.ExecContext(ctx, `UPDATE imports SET status = 'completed' WHERE tenant_id = 7 AND id = $1`, oldImport); err == nil {
		t.Error("uploaded -> completed was allowed after the upgrade: the edge trigger is gone")
	}
	events, err := sdb.ImportEvents(ctx, 7, created.ID)
	if err != nil || len(events) == 0 || events[0].Kind != "uploaded" {
		t.Errorf("the new import's timeline: %+v, %v", events, err)
	}
	if _, _, err := sdb.CreateToken(ctx, 7, "ops", []sweep.Scope{sweep.ScopeImportsRead}); err != nil {
		t.Errorf("a token after the upgrade: %v", err)
	}

	// Down and up again: sweep's objects go and come back in the schema; the
	// platform's rows stay where they are.
	if _, err := m.Reset(ctx); err != nil {
		t.Fatalf("reset after the upgrade: %v", err)
	}
	if diff := cmp.Diff([]string{"goose_db_version"}, tables(t, db, "sweep")); diff != "" {
		t.Errorf("tables of schema sweep after reset (-want +got):\n%s", diff)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatalf("up after reset: %v", err)
	}
	if diff := cmp.Diff(with(ownTables, "goose_db_version"), tables(t, db, "sweep")); diff != "" {
		t.Errorf("tables of schema sweep after reset and up (-want +got):\n%s", diff)
	}
	if n, err := devdata.CountCustomers(ctx, sdb, 7); err != nil || n != 2 {
		t.Errorf("customers of tenant 7 after reset and up = %d, %v; want 2", n, err)
	}
}

// A platform migrated by goose keeps its own history in public: a fresh
// install of sweep beside it leaves that history alone and keeps its own.
func TestMigrateLeavesThePlatformsGooseHistory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	empty := testenv.EmptyDatabaseURL(t)
	platform := openSQL(t, inSchema(t, empty, "public"))
	for _, q := range []string{
		`CREATE TABLE goose_db_version (id integer PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY,
			version_id bigint NOT NULL, is_applied boolean NOT NULL, tstamp timestamp NOT NULL DEFAULT now())`,
		`INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true), (1, true), (2, true)`,
	} {
		if _, err := platform.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := examples.CreateDemoPlatform(ctx, platform); err != nil {
		t.Fatal(err)
	}
	db := openSQL(t, inSchema(t, empty, store.DefaultSchema))
	m, err := store.NewMigrator(db, store.DefaultSchema)
	if err != nil {
		t.Fatal(err)
	}
	if applied, err := m.Up(ctx); err != nil || len(applied) < 16 {
		t.Fatalf("up beside the platform's goose history = %v, %v; want every migration", applied, err)
	}
	if got := names(t, db, `SELECT count(*)::text FROM public.goose_db_version`); !cmp.Equal(got, []string{"3"}) {
		t.Errorf("the platform's goose history has %v rows, want 3", got)
	}
	if diff := cmp.Diff(with(platformTables, "goose_db_version"), tables(t, db, "public")); diff != "" {
		t.Errorf("tables of public (-want +got):\n%s", diff)
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

// sweep's tables and the platform's do not depend on each other: no foreign
// key crosses from sweep's schema to another or back.
func TestNoForeignKeyCrossesSweepsSchema(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t).SQL().DB
	crossing := names(t, db, `
		SELECT c.conrelid::regclass::text || ' -> ' || c.confrelid::regclass::text
		FROM pg_constraint c
		JOIN pg_class f ON f.oid = c.conrelid JOIN pg_class r ON r.oid = c.confrelid
		WHERE c.contype = 'f' AND (f.relnamespace = 'sweep'::regnamespace) <> (r.relnamespace = 'sweep'::regnamespace)`)
	if len(crossing) != 0 {
		t.Errorf("foreign keys between sweep's schema and another: %v", crossing)
	}
	if got := tables(t, db, "public"); !cmp.Equal(got, platformTables) {
		t.Errorf("a test database's public holds %v, want the demo platform's tables", got)
	}
}

// Every table but tenants, sweep's and the demo platform's alike, must carry
// tenant_id as the first column of its primary key, so every row is
// reachable only through its tenant.
func TestEveryTableIsTenantScoped(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t).SQL()
	rows, err := db.Query(`
		SELECT n.nspname || '.' || t.relname, coalesce(a.attname, '')
		FROM pg_class t
		JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname IN ('sweep', 'public')
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
	if n < 29 {
		t.Errorf("checked %d tables, want at least 29", n)
	}
}
