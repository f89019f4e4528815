package throttle_test

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/throttle"
)

// The operator's throttle query holds when it returns anything above 0, and
// only then: 1 and a fraction above 0 hold, 0, a negative number and NULL
// release.
func TestThrottleQueryHoldsAboveZero(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	db.SQL().MustExec(`CREATE TABLE platform_pressure (v float8)`)
	db.SQL().MustExec(`INSERT INTO platform_pressure VALUES (0)`)
	for _, c := range []struct {
		value string
		holds bool
	}{
		{"2", true}, {"1", true}, {"0.001", true}, {"0", false}, {"-1", false}, {"NULL", false},
	} {
		db.SQL().MustExec(`UPDATE platform_pressure SET v = ` + c.value)
		chk, err := throttle.New(db, throttle.Config{Query: "SELECT v FROM platform_pressure", Interval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		h := chk.Check(ctx, 1)
		chk.Close()
		switch {
		case c.holds && (h == nil || h.Reason != sweep.HoldThrottleQuery || !strings.Contains(h.Message, "returned "+c.value)):
			t.Errorf("the query returning %s: hold %+v; want held by the throttle query, saying it returned %s", c.value, h, c.value)
		case !c.holds && h != nil:
			t.Errorf("the query returning %s: hold %+v; want none", c.value, h)
		}
	}
}

// The database-load signal holds while more of the platform's sessions are
// busy than its bound: two busy sessions hold under a bound of 1 and release
// under a bound of 2 (sweep's own sessions never count).
func TestDatabaseLoadHoldsAboveItsBound(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	const busy = 2
	for i := 0; i < busy; i++ {
		conn, err := db.SQL().Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.ExecContext(ctx, `SET application_name = 'lending-platform'`); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Raw(func(any) error { return driver.ErrBadConn }) // discarded: not back in the pool under the platform's name
			conn.ExecContext(ctx, `SELECT pg_sleep(60)`)                 // ends with ctx
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := db.ActiveBackends(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == busy {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d platform sessions busy after 10 s, want %d", n, busy)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, c := range []struct {
		bound int
		holds bool
	}{{1, true}, {busy, false}, {busy + 1, false}} {
		chk, err := throttle.New(db, throttle.Config{MaxActiveBackends: c.bound, Interval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		h := chk.Check(context.Background(), 1)
		chk.Close()
		want := fmt.Sprintf("%d of the platform's sessions active, above %d", busy, c.bound)
		switch {
		case c.holds && (h == nil || h.Reason != sweep.HoldDatabaseLoad || !strings.Contains(h.Message, want)):
			t.Errorf("%d busy sessions, bound %d: hold %+v; want held by database load, %q", busy, c.bound, h, want)
		case !c.holds && h != nil:
			t.Errorf("%d busy sessions, bound %d: hold %+v; want none", busy, c.bound, h)
		}
	}
}
