package throttle_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/store"
	"github.com/sweephq/sweep/throttle"
)

// allSignals is a checker with every signal on and green, over db.
func allSignals(t testing.TB, db *store.DB, check string) *throttle.Checker {
	t.Helper()
	c, err := throttle.New(db, throttle.Config{MaxReplicaLag: time.Hour, MaxActiveBackends: 100_000,
		Query: "SELECT 0", HTTPURL: check, Interval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// Every signal switched on and green holds nothing, and each reading says
// what it read; a signal that turns red holds within an interval, in words.
func TestSignalsReadAndHold(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(status) }))
	defer srv.Close()
	c := allSignals(t, db, srv.URL)
	if h := c.Check(ctx, 1); h != nil {
		t.Fatalf("every signal green, yet held: %+v", h)
	}
	rs := c.Readings(ctx)
	if len(rs) != 4 {
		t.Fatalf("%d readings, want 4: %+v", len(rs), rs)
	}
	for _, r := range rs {
		if r.Holding || r.Message == "" || r.At.IsZero() {
			t.Errorf("reading %+v; want green, in words, with its time", r)
		}
	}
	status = http.StatusServiceUnavailable
	deadline := time.Now().Add(5 * time.Second)
	for {
		h := c.Check(ctx, 1)
		if h != nil {
			if h.Reason != sweep.HoldHTTPCheck || !strings.Contains(h.Message, "answered 503") {
				t.Errorf("hold %+v; want the HTTP check answering 503", h)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a 503 did not hold within 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A configured replica that does not answer counts as lagging.
func TestReplicaThatDoesNotAnswerHolds(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	c, err := throttle.New(db, throttle.Config{MaxReplicaLag: 2 * time.Second,
		ReplicaURLs: []string{"postgres://sweep:secret@127.0.0.1:1/sweep?sslmode=disable&connect_timeout=1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	h := c.Check(context.Background(), 1)
	if h == nil || h.Reason != sweep.HoldReplicaLag || !strings.Contains(h.Message, "127.0.0.1:1 does not answer") {
		t.Fatalf("hold %+v; want the replica lag signal saying the replica does not answer", h)
	}
	if strings.Contains(h.Message, "secret") {
		t.Errorf("the hold shows the replica's password: %q", h.Message)
	}
}

// BenchmarkCheck is what a run pays before each chunk with every signal on
// and green: the readings are cached and refreshed in the background, so a
// check is a lock and a comparison (compare with a chunk's tens of
// milliseconds).
func BenchmarkCheck(b *testing.B) {
	db := testenv.DB(b)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	c := allSignals(b, db, srv.URL)
	ctx := context.Background()
	c.Check(ctx, 1)
	b.ResetTimer()
	for b.Loop() {
		if h := c.Check(ctx, 1); h != nil {
			b.Fatalf("held: %+v", h)
		}
	}
}
