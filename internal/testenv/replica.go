package testenv

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sweephq/sweep/internal/pgcluster"
)

// Replica starts a throwaway PostgreSQL primary and a streaming replica of it
// (pgcluster) for this test, on their own free ports, and stops and removes
// them when the test ends. Without PostgreSQL's server programs on this
// machine the test is skipped, or fails under SWEEP_TEST_REQUIRE_SERVICES=1.
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
	return c
}
