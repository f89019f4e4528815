package worker_test

import (
	"context"
	"database/sql/driver"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/store"
	"github.com/sweephq/sweep/throttle"
	"github.com/sweephq/sweep/worker"
)

// Each of the platform's signals stops a run mid-way: turned red while the
// run deletes, the run is held after its chunk in flight, stays held while
// the worker looks again, and once the signal is green again it goes on
// where it stopped and ends exactly. (A manual hold and a real replica's lag
// are TestManualHoldStopsARunMidway and TestReplicaLagHoldsRuns.)
func TestEverySignalStopsARunMidway(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		reason sweep.HoldReason
		// signal configures the checker and returns what turns it red and
		// green again.
		signal func(t *testing.T, in *instance) (throttle.Config, func(), func())
	}{
		{sweep.HoldHTTPCheck, func(t *testing.T, in *instance) (throttle.Config, func(), func()) {
			var status atomic.Int32
			status.Store(http.StatusOK)
			check := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(int(status.Load())) }))
			t.Cleanup(check.Close)
			return throttle.Config{HTTPURL: check.URL},
				func() { status.Store(http.StatusServiceUnavailable) }, func() { status.Store(http.StatusOK) }
		}},
		{sweep.HoldThrottleQuery, func(t *testing.T, in *instance) (throttle.Config, func(), func()) {
			in.db.SQL().MustExec(`CREATE TABLE platform_pressure (v float8)`)
			in.db.SQL().MustExec(`INSERT INTO platform_pressure VALUES (0)`)
			return throttle.Config{Query: `SELECT v FROM platform_pressure`},
				func() { in.db.SQL().MustExec(`UPDATE platform_pressure SET v = 1`) },
				func() { in.db.SQL().MustExec(`UPDATE platform_pressure SET v = 0`) }
		}},
		{sweep.HoldDatabaseLoad, func(t *testing.T, in *instance) (throttle.Config, func(), func()) {
			// Two of the platform's sessions busy, above a bound of 1.
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			t.Cleanup(func() { cancel(); wg.Wait() })
			red := func() {
				for range 2 {
					conn, err := in.db.SQL().Conn(context.Background())
					if err != nil {
						t.Error(err)
						return
					}
					wg.Add(1)
					go func() {
						defer wg.Done()
						// Discarded, not returned to the pool: sweep's own queries
						// must not run under the platform's name.
						defer conn.Raw(func(any) error { return driver.ErrBadConn })
						conn.ExecContext(ctx, `SET application_name = 'lending-platform'`)
						conn.ExecContext(ctx, `SELECT pg_sleep(120)`) // ends with ctx
					}()
				}
			}
			return throttle.Config{MaxActiveBackends: 1}, red, func() { cancel(); wg.Wait() }
		}},
	} {
		t.Run(string(c.reason), func(t *testing.T) {
			t.Parallel()
			// The worker's sessions carry sweep's name, as in production, so
			// the load signal counts only the platform's.
			named, err := store.SessionURL(testenv.DatabaseURL(t), store.SessionLimits{})
			if err != nil {
				t.Fatal(err)
			}
			in := seededInstance(t, testenv.OpenDB(t, named), sharedRedis(t), 3000)
			cfg, red, green := c.signal(t, in)
			cfg.Interval, cfg.Logger = 100*time.Millisecond, quiet()
			chk, err := throttle.New(in.db, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(chk.Close)
			in.workWith(t, worker.Config{Concurrency: 2, Throttle: chk, HoldRecheck: 200 * time.Millisecond})
			imp := in.validatedInBlocks(t, 1, 3000, 100)
			rate := 1000 // slow enough to be caught mid-way
			if _, err := in.db.ChangeRun(context.Background(), tenant, imp.ID, sweep.RunSettings{MaxRowsPerSecond: &rate}); err != nil {
				t.Fatal(err)
			}
			imp = in.queue(t, imp, time.Time{})
			eventually(t, 15*time.Second, "the run did not start", func() bool { return in.get(t, imp.ID).ProcessedRows > 0 })

			red()
			held := in.holdOf(t, imp.ID, c.reason)
			if held.Status != sweep.StatusRunning || held.ProcessedRows == 0 || held.ProcessedRows >= 3000 {
				t.Fatalf("held: %s after %d of 3000 rows; want running, held mid-way", held.Status, held.ProcessedRows)
			}
			in.still(t, held, 1, 3000)
			if n := in.count(t, `SELECT count(*) FROM import_blocks WHERE tenant_id = $1 AND import_id = $2 AND processed_at IS NOT NULL`, tenant, imp.ID); n*100 != held.ProcessedRows {
				t.Errorf("%d blocks done for %d rows processed", n, held.ProcessedRows)
			}

			green()
			in.finished(t, imp.ID, 1, 3000)
			holds, err := in.db.ImportHolds(context.Background(), tenant, imp.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(holds) != 1 || holds[0].Reason != c.reason || holds[0].Ended == nil {
				t.Errorf("hold history = %+v; want one ended %s hold", holds, c.reason)
			}
		})
	}
}
