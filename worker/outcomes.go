package worker

import (
	"context"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/jobs"
)

// outcome is what a task's ending means for asynq and for its import.
type outcome int

const (
	// retry: asynq runs the task again; on its last attempt an import task
	// fails its import with a reason the operator can act on.
	retry outcome = iota
	// done: nothing (more) to do; the task completes.
	done
	// skip: the task can never succeed; asynq archives it without retrying.
	skip
)

// outcomes is the one table of what a handler's error means, by its code
// (as uploader/errors.go is for HTTP). A code not in it (EINTERNAL,
// EUNAVAILABLE: a database or Redis that failed) is retried.
var outcomes = map[string]outcome{
	"":               done,
	sweep.ENOTFOUND:  done, // the import (or policy) is gone: deleted meanwhile
	sweep.ECONFLICT:  done, // another step moved it on: cancelled, finished, re-delivered
	sweep.EINVALID:   skip, // a payload that will never parse
	sweep.ETOOLARGE:  skip, // a payload over its limits
	sweep.EVERSION:   skip, // a payload of a version this build does not read
	sweep.EKEYREUSED: skip, // an idempotency key already used for another request
}

// outcomeOf decides what err means: an error that says it must not be
// retried (asynq.SkipRetry) is skipped whatever its code.
func outcomeOf(err error) outcome {
	if errors.Is(err, asynq.SkipRetry) {
		return skip
	}
	if o, ok := outcomes[sweep.ErrorCode(err)]; ok {
		return o
	}
	return retry
}

// settling wraps a handler and applies the table to what it returns. phase
// names the work of an import task in the reason its import fails with
// ("Validation", "Deletion"); it is empty for tasks that hold no import yet.
func (s *Server) settling(phase string, h asynq.HandlerFunc) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		err := h(ctx, t)
		switch outcomeOf(err) {
		case done:
			if err != nil {
				s.log.InfoContext(ctx, "nothing to do", "task_type", t.Type(), "reason", sweep.ErrorMessage(err))
			}
			return nil
		case skip:
			if errors.Is(err, asynq.SkipRetry) {
				return err
			}
			return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
		}
		if phase != "" {
			if p, perr := jobs.ParseImportPayload(t.Payload()); perr == nil {
				s.failOnLastAttempt(ctx, p, phase, err)
			}
		}
		return err
	}
}

// failOnLastAttempt marks the import failed when err ends the task's last
// attempt, so it never stays stuck in a working state: with a reason the
// tenant can act on, while err's detail goes to the log. A worker stopping
// is no attempt: its task goes back to the queue.
func (s *Server) failOnLastAttempt(ctx context.Context, p jobs.ImportPayload, phase string, err error) {
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, _ := asynq.GetMaxRetry(ctx)
	if retried < maxRetry || ctx.Err() != nil {
		return
	}
	s.log.ErrorContext(ctx, "import failed", "import_id", p.ImportID, "tenant_id", p.TenantID, "phase", phase, "attempts", retried+1, "err", err)
	reason := failureReason(phase, retried+1, p.ImportID, err)
	if ferr := s.life.Fail(context.WithoutCancel(ctx), p.TenantID, p.ImportID, reason); ferr != nil {
		s.log.Error("mark import failed", "import_id", p.ImportID, "tenant_id", p.TenantID, "err", ferr)
	}
}
