package worker_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/store"
	"github.com/sweephq/sweep/worker"
)

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Two replicas of the scheduler (each with its own connection pool, as two
// processes would have) never lead at once; when the leader stops, the other
// takes over.
func TestOnlyOneSchedulerLeads(t *testing.T) {
	t.Parallel()
	url := testenv.DatabaseURL(t)
	var runs [2]atomic.Int64
	var scheds [2]*worker.Scheduler
	var cancels [2]context.CancelFunc
	var wg sync.WaitGroup
	for i := range scheds {
		db, err := store.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		scheds[i] = worker.NewScheduler(db, nil, worker.Periodic{
			Name: "count", Every: 5 * time.Millisecond,
			Run: func(context.Context) error { runs[i].Add(1); return nil },
		})
		scheds[i].LeaseRetry = 20 * time.Millisecond
		ctx, cancel := context.WithCancel(context.Background())
		cancels[i] = cancel
		wg.Add(1)
		go func() { defer wg.Done(); scheds[i].Run(ctx) }()
	}
	defer func() {
		for _, c := range cancels {
			c()
		}
		wg.Wait()
	}()

	waitFor(t, "a leader", func() bool { return scheds[0].IsLeader() || scheds[1].IsLeader() })
	leader := 0
	if scheds[1].IsLeader() {
		leader = 1
	}
	follower := 1 - leader
	for range 20 {
		if scheds[0].IsLeader() && scheds[1].IsLeader() {
			t.Fatal("both schedulers lead at once")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if runs[follower].Load() != 0 {
		t.Errorf("the follower ran its job %d times", runs[follower].Load())
	}
	if runs[leader].Load() == 0 {
		t.Error("the leader never ran its job")
	}

	cancels[leader]()
	waitFor(t, "the follower to take over", scheds[follower].IsLeader)
	before := runs[follower].Load()
	waitFor(t, "the new leader to run its job", func() bool { return runs[follower].Load() > before })
}
