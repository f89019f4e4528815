package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/devdata"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/store"
	"github.com/sweephq/sweep/wire"
)

// cliSweep is a running sweep (API and worker) for the CLI to talk to.
func cliSweep(t *testing.T) (url, token string, db *store.DB) {
	t.Helper()
	db = testenv.DB(t)
	ctx := context.Background()
	if _, err := devdata.Seed(ctx, db, devdata.SeedOptions{Tenant: 5200243, Customers: 100, Seed: 8}); err != nil {
		t.Fatal(err)
	}
	db.SQL().MustExec(`DELETE FROM loan_customers WHERE tenant_id = 5200243`)
	sw := testenv.StartSweep(t, db, testenv.SweepOptions{API: true})
	token, _, err := db.CreateToken(ctx, 5200243, "cli", []sweep.Scope{sweep.ScopeImportsRead, sweep.ScopeImportsWrite})
	if err != nil {
		t.Fatal(err)
	}
	return sw.URL, token, db
}

func runCLI(t *testing.T, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

// `sweep import FILE --start --wait` uploads, validates, starts and waits,
// prints a summary, writes the failed rows next to the file and exits 3; the
// imports subcommands show the same import.
func TestImportCommand(t *testing.T) {
	t.Parallel()
	url, token, db := cliSweep(t)
	env := map[string]string{"SWEEP_URL": url, "SWEEP_TOKEN": token}
	dir := t.TempDir()
	file := filepath.Join(dir, "customers.csv")
	os.WriteFile(file, []byte("action,customerId\nremove,1\nremove,2\nremove,x3\nremove,4\n"), 0o644)

	out, _, err := runCLI(t, env, "import", file, "--start", "--wait")
	var x exitError
	if !errors.As(err, &x) || x.code != exitRowsFailed {
		t.Fatalf("exit = %v; want status %d for failed rows\n%s", err, exitRowsFailed, out)
	}
	for _, want := range []string{"completed with errors", "rows 4, valid 3, with errors 1; deleted 3, skipped 0 (100.0%)", "customers.errors.csv"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	failed, err := os.ReadFile(filepath.Join(dir, "customers.errors.csv"))
	if err != nil || !strings.HasPrefix(string(failed), "action,customerId,line,error\nremove,x3,4,") {
		t.Errorf("failed rows file = %q, %v", failed, err)
	}
	var n int
	if err := db.SQL().Get(&n, `SELECT count(*) FROM customers WHERE tenant_id = 5200243 AND id IN (1, 2, 4)`); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d of the 3 customers are still there", n)
	}

	// A clean file exits 0; --json prints the import.
	clean := filepath.Join(dir, "clean.csv")
	os.WriteFile(clean, []byte("action,customerId\nremove,5\n"), 0o644)
	out, _, err = runCLI(t, env, "import", "--json", clean, "--start", "--wait")
	var v wire.Import
	if err != nil || json.Unmarshal([]byte(out), &v) != nil || v.Status != sweep.StatusCompleted || !v.Settled || v.DeletedRows != 1 {
		t.Fatalf("clean import: %v, %q", err, out)
	}

	out, _, err = runCLI(t, env, "imports", "list")
	if err != nil || !strings.Contains(out, "completed_with_errors") || !strings.Contains(out, "clean.csv") {
		t.Errorf("imports list: %v\n%s", err, out)
	}
	out, _, err = runCLI(t, env, "imports", "errors", "1")
	if err != nil || !strings.Contains(out, "line 4:") {
		t.Errorf("imports errors: %v\n%s", err, out)
	}
	out, _, err = runCLI(t, env, "imports", "show", "2", "--json")
	if err != nil || !strings.Contains(out, `"status":"completed"`) {
		t.Errorf("imports show --json: %v\n%s", err, out)
	}
	if _, _, err := runCLI(t, env, "imports", "cancel", "2"); sweep.ErrorCode(err) != sweep.ECONFLICT || !strings.HasPrefix(err.Error(), "The import is completed") {
		t.Errorf("cancelling a completed import: %v; want the API's conflict, in its words", err)
	}
	if _, _, err := runCLI(t, env, "imports", "show", "99"); sweep.ErrorCode(err) != sweep.ENOTFOUND {
		t.Errorf("showing an unknown import: %v; want %s", err, sweep.ENOTFOUND)
	}
	if _, _, err := runCLI(t, map[string]string{"SWEEP_URL": url}, "imports", "list"); err == nil || !strings.Contains(err.Error(), "SWEEP_TOKEN") {
		t.Errorf("without a token: %v", err)
	}
}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}
