package worker

import (
	"errors"
	"fmt"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/sweephq/sweep"
)

// Every kind of ending a handler can have maps to one outcome.
func TestOutcomes(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want outcome
	}{
		{"no error", nil, done},
		{"import gone", sweep.Errorf(sweep.ENOTFOUND, "Import 1 was not found."), done},
		{"moved on", fmt.Errorf("validate import 1: %w", sweep.Errorf(sweep.ECONFLICT, "The import is cancelled.")), done},
		{"payload that never parses", sweep.Errorf(sweep.EINVALID, "not JSON"), skip},
		{"payload version", sweep.Errorf(sweep.EVERSION, "version 9"), skip},
		{"key reused", sweep.KeyReused("k", 1), skip},
		{"said not to retry", fmt.Errorf("%w: %w", errors.New("pq: something"), asynq.SkipRetry), skip},
		{"database down", sweep.Errorf(sweep.EUNAVAILABLE, "PostgreSQL did not answer."), retry},
		{"anything else", errors.New("pq: deadlock detected"), retry},
	} {
		if got := outcomeOf(c.err); got != c.want {
			t.Errorf("%s: outcome %d, want %d", c.name, got, c.want)
		}
	}
}
