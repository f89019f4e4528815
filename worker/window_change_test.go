package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/worker"
)

// A run waiting for its window follows a change of window within its time
// slice, as a running import does: the window removed, it runs at once
// rather than at the opening or the next look half a minute later.
func TestRemovedWindowTakesEffectWithinTheTimeSlice(t *testing.T) {
	t.Parallel()
	in := newInstance(t, sharedRedis(t), 200)
	ctx := context.Background()
	denver, err := time.LoadLocation("America/Denver")
	if err != nil {
		t.Fatal(err)
	}
	noon := time.Date(2026, 11, 30, 12, 0, 0, 0, denver) // a Monday, outside the window
	in.workWith(t, worker.Config{Concurrency: 1, TimeSlice: 2 * time.Second, Now: func() time.Time { return noon }})
	w, err := sweep.ParseWindow("Mon-Fri 22:00-06:00 America/Denver")
	if err != nil {
		t.Fatal(err)
	}
	imp := in.validatedInBlocks(t, 1, 100, 50)
	if _, err := in.db.ChangeRun(ctx, tenant, imp.ID, sweep.RunSettings{RunWindow: &w}); err != nil {
		t.Fatal(err)
	}
	imp = in.queue(t, imp, time.Time{})
	in.holdOf(t, imp.ID, sweep.HoldWindow)

	if _, err := in.db.ChangeRun(ctx, tenant, imp.ID, sweep.RunSettings{RunWindow: &sweep.Window{}}); err != nil {
		t.Fatal(err)
	}
	if got := in.get(t, imp.ID); !got.RunWindow.IsZero() {
		t.Fatalf("the window was not removed: %s", got.RunWindow)
	}
	// Its time slice (2 s), the queue's delay and the run itself fit well
	// within 10 s; the half-minute look would not.
	eventually(t, 10*time.Second, "the run did not start within 10 s of its window's removal", func() bool {
		return in.get(t, imp.ID).Status == sweep.StatusCompleted
	})
	in.finished(t, imp.ID, 1, 100)
}
