package pgcluster

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// start starts a cluster for the test, skipped without PostgreSQL's server
// programs unless SWEEP_TEST_REQUIRE_SERVICES=1 (testenv's rule; testenv
// itself imports this package).
func start(t *testing.T, ctx context.Context, opts Options) (*Cluster, error) {
	t.Helper()
	c, err := Start(ctx, opts)
	if errors.Is(err, ErrNotInstalled) {
		if os.Getenv("SWEEP_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatalf("%v (SWEEP_TEST_REQUIRE_SERVICES=1)", err)
		}
		t.Skipf("%v; or set SWEEP_TEST_REQUIRE_SERVICES=1 to fail instead", err)
	}
	if err == nil {
		t.Cleanup(func() {
			if err := c.Stop(); err != nil {
				t.Errorf("stop: %v", err)
			}
		})
	}
	return c, err
}

func open(t *testing.T, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func count(t *testing.T, ctx context.Context, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM customers").Scan(&n); err != nil {
		t.Fatalf("count customers: %v", err)
	}
	return n
}

// eventually calls check every 50 ms until it returns true, and fails the
// test after 15 s.
func eventually(t *testing.T, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 15 s: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestReplicaLagFollowsPausedReplay(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	began := time.Now()
	c, err := start(t, ctx, Options{Settings: map[string]string{"shared_buffers": "16MB"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Start took %v", time.Since(began).Round(time.Millisecond))
	primary, replica := open(t, c.PrimaryURL), open(t, c.ReplicaURL)
	for _, db := range []*sql.DB{primary, replica} {
		var v string
		if err := db.QueryRowContext(ctx, "SHOW shared_buffers").Scan(&v); err != nil || v != "16MB" {
			t.Errorf("shared_buffers = %q, %v; want the 16MB of Options.Settings on both servers", v, err)
		}
	}
	var inRecovery bool
	if err := replica.QueryRowContext(ctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery); err != nil || !inRecovery {
		t.Fatalf("the replica is not in recovery (%v, %v)", inRecovery, err)
	}

	if _, err := primary.ExecContext(ctx, `CREATE TABLE customers (id bigserial PRIMARY KEY, name text NOT NULL);
		INSERT INTO customers (name) SELECT 'customer ' || i FROM generate_series(1, 100) i`); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(t, ctx, replica); n != 100 {
		t.Fatalf("the replica has %d customers after WaitCaughtUp; want 100", n)
	}
	if lag, err := c.ReplicaLag(ctx); err != nil || lag != 0 {
		t.Fatalf("ReplicaLag = %v, %v when caught up; want 0", lag, err)
	}

	if err := c.PauseReplay(ctx); err != nil {
		t.Fatal(err)
	}
	// Writes every 100 ms while replay is paused, as deletions would be.
	writing, stopWriting := context.WithCancel(ctx)
	writerDone := make(chan error, 1)
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			if _, err := primary.ExecContext(writing, "INSERT INTO customers (name) VALUES ('later')"); err != nil {
				if writing.Err() != nil {
					err = nil
				}
				writerDone <- err
				return
			}
			select {
			case <-writing.Done():
				writerDone <- nil
				return
			case <-tick.C:
			}
		}
	}()

	var first time.Duration
	eventually(t, "ReplicaLag > 0 while replay is paused", func() bool {
		first, err = c.ReplicaLag(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return first > 0
	})
	eventually(t, "ReplicaLag grows while replay is paused", func() bool {
		lag, err := c.ReplicaLag(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return lag > first+200*time.Millisecond
	})
	// The primary's view: replay_lsn stays behind, and replay_lag (what a
	// throttle reading the primary sees) grows while writes go on.
	var lags []time.Duration
	eventually(t, "pg_stat_replication.replay_lag on the primary grows by 1 s while replay is paused", func() bool {
		var behind bool
		var seconds sql.NullFloat64
		err := primary.QueryRowContext(ctx, `SELECT replay_lsn < pg_current_wal_lsn(), extract(epoch FROM replay_lag)::float8
			FROM pg_stat_replication WHERE application_name = 'pgcluster_replica'`).Scan(&behind, &seconds)
		if err != nil {
			t.Fatal(err)
		}
		if !behind {
			t.Fatal("pg_stat_replication.replay_lsn is not behind the primary's WAL while replay is paused")
		}
		if !seconds.Valid {
			return false
		}
		lags = append(lags, time.Duration(seconds.Float64*float64(time.Second)))
		return lags[len(lags)-1] > lags[0]+time.Second
	})
	t.Logf("replay_lag on the primary while paused, every 50 ms: %v", lags)
	if err := c.WaitCaughtUp(ctx); !errors.Is(err, ErrReplayPaused) {
		t.Errorf("WaitCaughtUp while paused = %v; want ErrReplayPaused", err)
	}
	if n := count(t, ctx, replica); n != 100 {
		t.Errorf("the replica shows %d customers while its replay is paused; want the 100 of before the pause", n)
	}
	stopWriting()
	if err := <-writerDone; err != nil {
		t.Fatalf("insert on the primary: %v", err)
	}

	if err := c.ResumeReplay(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	if lag, err := c.ReplicaLag(ctx); err != nil || lag != 0 {
		t.Errorf("ReplicaLag = %v, %v after catching up; want 0", lag, err)
	}
	if p, r := count(t, ctx, primary), count(t, ctx, replica); p != r || p <= 100 {
		t.Errorf("after catching up the replica has %d customers and the primary %d; want the same, over 100", r, p)
	}

	began = time.Now()
	if err := c.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("Stop took %v", time.Since(began).Round(time.Millisecond))
	if _, err := os.Stat(c.root); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the cluster's directory %s is still there after Stop (%v)", c.root, err)
	}
	if err := primary.PingContext(ctx); err == nil {
		t.Error("the primary still answers after Stop")
	}
	if err := c.Stop(); err != nil {
		t.Errorf("a second Stop: %v", err)
	}
}

func TestFailedStartSaysWhyAndLeavesNothing(t *testing.T) {
	t.Parallel()
	// Every user can enter it, so that the servers' user can when this runs
	// as root.
	dir, err := os.MkdirTemp("", "pgcluster-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := start(t, ctx, Options{Dir: dir, Settings: map[string]string{"shared_buffers": "plenty"}})
	if err == nil {
		t.Fatal("Start with shared_buffers = plenty succeeded")
	}
	if c != nil {
		t.Error("Start returned a cluster with its error")
	}
	// The reason is in the server's log, whose end the error carries.
	if !strings.Contains(err.Error(), `invalid value for parameter "shared_buffers": "plenty"`) {
		t.Errorf("the error does not say why the primary did not start:\n%v", err)
	}
	left, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("a failed Start left %s in %s", left[0].Name(), dir)
	}
}

func TestStartRefusesABadSettingName(t *testing.T) {
	_, err := Start(context.Background(), Options{Settings: map[string]string{"fsync = off\nport": "1"}})
	if err == nil || !strings.Contains(err.Error(), "not a setting name") {
		t.Errorf("Start with a setting name holding a newline = %v; want a refusal", err)
	}
}
