package testenv

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sweephq/sweep/examples"
	"github.com/sweephq/sweep/store"
)

// ExamplePlatform makes the tables of the example platform name (see
// package examples) in db and makes db erase by its plan, as serve does
// with SWEEP_PLAN set to the example's plan.yaml.
func ExamplePlatform(t testing.TB, db *store.DB, name string) {
	t.Helper()
	schema, err := examples.Schema(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().Exec(schema); err != nil {
		t.Fatalf("create the %s platform: %v", name, err)
	}
	ExamplePlatformPlan(t, db, name)
}

// ExamplePlatformPlan makes db erase by the plan of the example platform
// name, whose tables it already has.
func ExamplePlatformPlan(t testing.TB, db *store.DB, name string) {
	t.Helper()
	b, err := examples.Plan(name)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name+"-plan.yaml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := db.LoadPlan(context.Background(), path, []byte("a-test-secret-of-at-least-32-bytes!")); err != nil {
		t.Fatalf("load the %s plan: %v", name, err)
	}
}
