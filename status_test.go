package sweep_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sweephq/sweep"
)

func TestCanTransition(t *testing.T) {
	tests := []struct {
		from, to sweep.Status
		want     bool
	}{
		{sweep.StatusUploaded, sweep.StatusValidating, true},
		{sweep.StatusUploaded, sweep.StatusRunning, false},
		{sweep.StatusUploaded, sweep.StatusCancelled, true},
		{sweep.StatusValidating, sweep.StatusValidated, true},
		{sweep.StatusValidating, sweep.StatusRejected, true},
		{sweep.StatusValidating, sweep.StatusFailed, true},
		{sweep.StatusValidated, sweep.StatusQueued, true},
		{sweep.StatusValidated, sweep.StatusRunning, false},
		{sweep.StatusRejected, sweep.StatusValidating, true},
		{sweep.StatusRejected, sweep.StatusQueued, false},
		{sweep.StatusQueued, sweep.StatusRunning, true},
		{sweep.StatusQueued, sweep.StatusCancelled, true},
		{sweep.StatusRunning, sweep.StatusCompleted, true},
		{sweep.StatusRunning, sweep.StatusCompletedWithErrors, true},
		{sweep.StatusRunning, sweep.StatusCancelled, true},
		{sweep.StatusRunning, sweep.StatusFailed, true},
		{sweep.StatusRunning, sweep.StatusPaused, true},
		{sweep.StatusQueued, sweep.StatusPaused, true},
		{sweep.StatusPaused, sweep.StatusQueued, true},
		{sweep.StatusPaused, sweep.StatusCancelled, true},
		{sweep.StatusPaused, sweep.StatusRunning, false},
		{sweep.StatusValidated, sweep.StatusPaused, false},
		{sweep.StatusRunning, sweep.StatusValidated, false},
		{sweep.StatusCompleted, sweep.StatusRunning, false},
		{sweep.StatusCancelled, sweep.StatusQueued, false},
		{sweep.StatusFailed, sweep.StatusRunning, false},
		{sweep.Status("bogus"), sweep.StatusValidating, false},
	}
	for _, tt := range tests {
		if got := sweep.CanTransition(tt.from, tt.to); got != tt.want {
			t.Errorf("CanTransition(%s, %s) = %v, want %v", tt.from, tt.to, got, tt.want)
		}
		err := sweep.Transition(tt.from, tt.to)
		if (err == nil) != tt.want {
			t.Errorf("Transition(%s, %s) = %v, want error: %v", tt.from, tt.to, err, !tt.want)
		}
		if err != nil && sweep.ErrorCode(err) != sweep.ECONFLICT {
			t.Errorf("Transition(%s, %s) code = %q, want %q", tt.from, tt.to, sweep.ErrorCode(err), sweep.ECONFLICT)
		}
	}
}

// Every state must be reachable from uploaded, and every non-terminal state must
// lead to a terminal one: an import can never be stuck by construction.
func TestStateMachineHasNoDeadEnds(t *testing.T) {
	reach := map[sweep.Status]bool{sweep.StatusUploaded: true}
	queue := []sweep.Status{sweep.StatusUploaded}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, n := range s.Next() {
			if !reach[n] {
				reach[n] = true
				queue = append(queue, n)
			}
		}
	}
	for _, s := range sweep.Statuses {
		if !reach[s] {
			t.Errorf("state %s is unreachable from uploaded", s)
		}
	}

	var terminal []sweep.Status
	for _, s := range sweep.Statuses {
		if s.Terminal() {
			terminal = append(terminal, s)
		}
	}
	want := []sweep.Status{sweep.StatusCompleted, sweep.StatusCompletedWithErrors, sweep.StatusCancelled, sweep.StatusFailed}
	if diff := cmp.Diff(want, terminal); diff != "" {
		t.Errorf("terminal states (-want +got):\n%s", diff)
	}
}

func TestStatusActive(t *testing.T) {
	var active []sweep.Status
	for _, s := range sweep.Statuses {
		if s.Active() {
			active = append(active, s)
		}
	}
	if diff := cmp.Diff([]sweep.Status{sweep.StatusQueued, sweep.StatusRunning, sweep.StatusPaused}, active); diff != "" {
		t.Errorf("active states (-want +got):\n%s", diff)
	}
}
