package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/sweephq/sweep/internal/devdata"
	"github.com/sweephq/sweep/internal/testenv"
)

// sweep token create refuses a name an active token of the tenant has,
// saying which token and what to do; --replace revokes that one and makes
// the new one; a token needs a name.
func TestTokenCreateRefusesATakenName(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"SWEEP_DATABASE_URL": testenv.DatabaseURL(t)}
	ctx := context.Background()
	if _, err := devdata.Seed(ctx, testenv.OpenDB(t, vars["SWEEP_DATABASE_URL"]), devdata.SeedOptions{Tenant: 77, Customers: 1}); err != nil {
		t.Fatal(err)
	}
	create := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, append([]string{"token", "create", "--tenant", "77", "--scopes", "imports:read"}, args...), env(vars), &out, io.Discard)
		return out.String(), err
	}
	if _, err := create("--name", "ops"); err != nil {
		t.Fatal(err)
	}
	if _, err := create("--name", " Ops "); err == nil || !strings.Contains(err.Error(), `already has an active token named "Ops" (token 1)`) ||
		!strings.Contains(err.Error(), "sweep token revoke --tenant 77 --id 1") {
		t.Errorf("a taken name: %v; want a refusal naming token 1 and what to do", err)
	}
	if _, err := create(); err == nil || !strings.Contains(err.Error(), "--name is required") {
		t.Errorf("no name: %v", err)
	}
	out, err := create("--name", "ops", "--replace")
	if err != nil || !strings.Contains(out, "# token 2 (ops)") || !strings.Contains(out, "replaces token 1 of the same name, now revoked") {
		t.Errorf("--replace: %v\n%s", err, out)
	}
}
