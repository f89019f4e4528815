package testenv

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/sweephq/sweep/internal/pgcluster"
	"github.com/sweephq/sweep/store"
)

// Replica starts a throwaway PostgreSQL primary and a streaming replica of it
// (pgcluster) for this test, on their own free ports, and stops and removes
// them when the test ends. The primary holds sweep's migrated schema and the
// demo platform's tables, and both URLs put sweep's schema first in the
// search_path, as DatabaseURL's do. Without PostgreSQL's server programs on
// this machine the test is skipped, or fails under SWEEP_TEST_REQUIRE_SERVICES=1.
func Replica(t testing.TB) *pgcluster.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := pgcluster.Start(ctx, pgcluster.Options{})
	if errors.Is(err, pgcluster.ErrNotInstalled) {
		unavailable(t, "%v", err)
	}
	if err != nil {
		t.Fatalf("testenv: start a PostgreSQL primary and replica: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("testenv: %v", err)
		}
	})
	for _, u := range []*string{&c.PrimaryURL, &c.ReplicaURL} {
		if *u, err = store.WithSchema(*u, store.DefaultSchema); err != nil {
			t.Fatalf("testenv: %v", err)
		}
	}
	db, err := sql.Open("postgres", c.PrimaryURL)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	defer db.Close()
	if err := setUp(ctx, db); err != nil {
		t.Fatalf("testenv: set up the primary: %v", err)
	}
	return c
}
