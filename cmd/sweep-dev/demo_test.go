package main

import (
	"context"
	"strings"
	"testing"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/devdata"
	"github.com/sweephq/sweep/internal/testenv"
)

// `sweep-dev demo` against a running sweep: picks the tenant's customers (a tenth
// linked to a loan), uploads them with three bad rows, shows the errors,
// starts the import and reports its outcome; `sweep-dev seed --if-fewer-free`
// then counts the customers no loan links.
func TestDemoCommand(t *testing.T) {
	t.Parallel()
	dbURL := testenv.DatabaseURL(t)
	db := testenv.OpenDB(t, dbURL)
	ctx := context.Background()
	if _, err := devdata.Seed(ctx, db, devdata.SeedOptions{Tenant: 5200243, Customers: 200, LinkedFraction: 0.2, Seed: 4}); err != nil {
		t.Fatal(err)
	}
	sw := testenv.StartSweep(t, db, testenv.SweepOptions{API: true})
	token, _, err := db.CreateToken(ctx, 5200243, "demo", []sweep.Scope{sweep.ScopeImportsRead, sweep.ScopeImportsWrite})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SWEEP_DATABASE_URL": dbURL, "SWEEP_REDIS_URL": testenv.RedisURL(t)}
	free, err := devdata.CountUnlinkedCustomers(ctx, db, 5200243)
	if err != nil || free == 0 || free == 200 {
		t.Fatalf("%d unlinked customers of 200, %v", free, err)
	}

	out, _, err := runCLI(t, env, "demo", "--tenant", "5200243", "--token", token, "--url", sw.URL, "--rows", "50")
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	for _, want := range []string{
		"demo: uploaded demo.csv (53 rows) as import 1",
		"demo: import 1 is validated: 45 valid rows, 8 rows with errors",
		"line 2: action must be",
		"demo: started import 1",
		"demo: import 1 is completed_with_errors: 45 deleted, 0 skipped, 8 rows with errors (results: " + sw.URL + "/v1/imports/1/results)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	if left, _ := devdata.CountUnlinkedCustomers(ctx, db, 5200243); left != free-45 {
		t.Errorf("%d unlinked customers left; want %d", left, free-45)
	}

	out, _, err = runCLI(t, env, "seed", "--tenant", "5200243", "--customers", "10", "--if-fewer-free", "2")
	if err != nil || !strings.Contains(out, "not seeding (--if-fewer-free 2)") {
		t.Errorf("seed --if-fewer-free: %v\n%s", err, out)
	}
}
