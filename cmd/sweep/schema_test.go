package main

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"net/url"
	"strings"
	"testing"

	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/store"
)

// With SWEEP_SCHEMA set, sweep migrate up makes sweep's objects in that
// schema and nothing in public; sweep-dev seed then makes the demo platform's
// tables in public and fills both; the tokens sweep makes authenticate
// through that schema.
func TestSchemaOfYourChoiceEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u, err := url.Parse(testenv.EmptyDatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Del("search_path") // as an operator's URL has it
	u.RawQuery = q.Encode()
	vars := map[string]string{"SWEEP_DATABASE_URL": u.String(), "SWEEP_SCHEMA": "lending_erasure"}
	sweepCmd := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := run(ctx, args, env(vars), &out, io.Discard); err != nil {
			t.Fatalf("sweep %s: %v", strings.Join(args, " "), err)
		}
		return out.String()
	}

	if out := sweepCmd("migrate", "up"); !strings.Contains(out, "applied migration 00001") || !strings.Contains(out, "applied migration 00016") {
		t.Errorf("migrate up printed:\n%s", out)
	}
	if out := sweepCmd("migrate", "up"); !strings.Contains(out, "schema is up to date") {
		t.Errorf("a second migrate up printed:\n%s", out)
	}
	if out := sweepCmd("migrate", "status"); strings.Contains(out, "pending") || !strings.Contains(out, "00016") {
		t.Errorf("migrate status printed:\n%s", out)
	}

	db, err := sql.Open("postgres", u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func(query string) int {
		t.Helper()
		var n int
		if err := db.QueryRowContext(ctx, query).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(`SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'`); n != 0 {
		t.Errorf("migrate up made %d relations in public, want none", n)
	}
	if n := count(`SELECT count(*) FROM pg_namespace WHERE nspname = 'sweep'`); n != 0 {
		t.Error("migrate up made schema sweep, not SWEEP_SCHEMA's")
	}
	// As many tables as the default schema of a database migrated as
	// usual: sweep's own and goose's history.
	var want int
	if err := testenv.DB(t).SQL().Get(&want, `SELECT count(*) FROM pg_tables WHERE schemaname = 'sweep'`); err != nil {
		t.Fatal(err)
	}
	if n := count(`SELECT count(*) FROM pg_tables WHERE schemaname = 'lending_erasure'`); n != want || want == 0 {
		t.Errorf("schema lending_erasure has %d tables after migrate up, want %d (as schema sweep has)", n, want)
	}

	if out := sweepDev(t, vars, "seed", "--tenant", "77", "--customers", "30", "--linked-fraction", "0.5"); !strings.Contains(out, "seeded 30 customers") {
		t.Errorf("seed printed:\n%s", out)
	}
	if n := count(`SELECT count(*) FROM public.customers WHERE tenant_id = 77`); n != 30 {
		t.Errorf("public.customers holds %d customers of tenant 77, want 30", n)
	}
	if n := count(`SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`); n != 14 {
		t.Errorf("public has %d tables after seed, want the demo platform's 14", n)
	}
	if n := count(`SELECT count(*) FROM lending_erasure.tenants WHERE id = 77`); n != 1 {
		t.Error("seed made no tenant 77 in lending_erasure")
	}
	// Seeding again finds the platform's tables there.
	if out := sweepDev(t, vars, "seed", "--tenant", "77", "--customers", "5"); !strings.Contains(out, "seeded 5 customers (ids 31..35)") {
		t.Errorf("a second seed printed:\n%s", out)
	}

	token, _, _ := strings.Cut(sweepCmd("token", "create", "--tenant", "77", "--scopes", "imports:read", "--name", "ops"), "\n")
	schemaURL, err := store.WithSchema(u.String(), "lending_erasure")
	if err != nil {
		t.Fatal(err)
	}
	p, err := testenv.OpenDB(t, schemaURL).Authenticate(ctx, token)
	if err != nil || p.TenantID != 77 {
		t.Errorf("the token sweep made: %+v, %v", p, err)
	}
}
