package worker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/store"
)

// handleImportRun deletes an import's blocks, one transaction each, for one
// time slice; then it enqueues its continuation and returns, so other imports
// waiting in the queue get a worker in between. Every chunk commits its
// deletions, audit rows, outcomes and counters together, and blocks are taken
// with SKIP LOCKED, so a task killed at any instant or delivered twice leaves
// nothing half-done and nothing done twice.
func (s *Server) handleImportRun(ctx context.Context, t *asynq.Task) error {
	p, err := jobs.ParseImportPayload(t.Payload())
	if err != nil {
		return err
	}
	log := s.log.With("import_id", p.ImportID, "tenant_id", p.TenantID, "task_type", t.Type(), "part", p.Part)
	// Before anything changes: this database's import with that id must be
	// the one the task was made for, or the task deletes nothing.
	own, ok, err := s.ownImport(ctx, t, p)
	if !ok {
		return err
	}
	// A cleanup batch runs only while the run it was made for stands: its
	// policy changed, disabled or deleted since, it stops here, before its
	// next chunk (a running one ends cancelled with what it deleted).
	if own.Status == sweep.StatusQueued || own.Status == sweep.StatusRunning {
		stopped, why, err := s.life.StopStaleBatch(ctx, own)
		if err != nil {
			return err
		}
		if why != "" {
			if stopped.Status == sweep.StatusRunning {
				if stopped, err = s.life.FinishCancel(ctx, p.TenantID, p.ImportID); err != nil && sweep.ErrorCode(err) != sweep.ECONFLICT {
					return err
				}
			}
			log.Info("cleanup batch stopped: its run no longer stands", "why", why, "status", stopped.Status,
				"deleted_rows", stopped.DeletedRows)
			s.publish(ctx, stopped)
			return nil
		}
	}
	// Everything that gates a run is checked here, as the task is taken, not
	// trusted to the task's delay: a task may come early (made by hand, or
	// queued by a host whose clock runs ahead). A queued import runs at its
	// run_at, and only from queued (approved, when it needed approval) or
	// running; BeginRunning refuses the rest, run_at included, in its own
	// statement.
	if own.Status == sweep.StatusQueued && own.RunAt != nil {
		if own.RunAt.After(time.Now()) {
			return s.notDue(ctx, log, own, p.Part, *own.RunAt)
		}
	}
	// A run held by the platform's signals, a manual hold or its window waits
	// in the queue, not here; an import that never ran stays queued meanwhile.
	if own.Status == sweep.StatusQueued || own.Status == sweep.StatusRunning {
		if h, wait := s.held(ctx, own); h != nil {
			return s.hold(ctx, log, own, p.Part, h, wait)
		}
	}
	imp, err := s.life.BeginRunning(ctx, p.TenantID, p.ImportID)
	if nd := (*store.NotDueError)(nil); errors.As(err, &nd) {
		// This host's clock says run_at has come, the database's does not.
		return s.notDue(ctx, log, own, p.Part, time.Now().Add(nd.Wait))
	} else if err != nil {
		return err // gone or no longer queued: nothing to run (see outcomes.go)
	}
	s.release(ctx, log, imp)
	from, err := s.db.PartStart(ctx, p.TenantID, p.ImportID, p.Part, imp.Parallelism)
	if err != nil {
		return err
	}
	start := time.Now()
	sliceEnd := start.Add(s.cfg.TimeSlice)
	var rows, deleted int
	step := "" // what names this task's continuation: the last block it did
	wait := lockBackoff
	for {
		chunkStart := time.Now()
		res, err := s.db.RunChunk(ctx, p.TenantID, p.ImportID, imp.Source, from)
		if errors.Is(err, store.ErrChunkLocked) {
			// A platform transaction holds a customer of the chunk: the chunk
			// gave up at lock_timeout and did nothing. Wait (holding no lock and
			// no transaction), then try again; or hand over at the end of the
			// slice, so other imports get the worker meanwhile.
			s.metrics.lockWaits.Inc()
			log.Info("chunk met a locked customer; waiting", "wait_ms", wait.Milliseconds())
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
			wait = min(2*wait, maxLockBackoff)
			if time.Now().After(sliceEnd) || s.isStopping() || ctx.Err() != nil {
				return s.handOver(ctx, log, imp, p.Part, cmp.Or(step, fmt.Sprintf("locked-%d", time.Now().UnixNano())), rows, deleted, start, 0)
			}
			continue
		} else if errors.Is(err, store.ErrPlanOutdated) {
			// Nothing of the chunk was done: hold until the plan matches
			// the platform again.
			s.db.ForgetPlanCheck()
			h := &sweep.Hold{Reason: sweep.HoldPlan, Message: s.db.PlanStanding(ctx, p.TenantID, p.ImportID)}
			if h.Message == "" {
				h.Message = sweep.ErrorMessage(err)
			}
			return s.hold(ctx, log, imp, p.Part, h, s.cfg.HoldRecheck)
		} else if err != nil {
			return err
		}
		wait = lockBackoff
		rows += res.Rows
		deleted += res.Deleted
		switch {
		case res.Stop:
			log.Info("import stopped meanwhile", "rows", rows)
			return nil
		case res.CancelRequested:
			imp, err := s.life.FinishCancel(ctx, p.TenantID, p.ImportID)
			if err != nil && sweep.ErrorCode(err) != sweep.ECONFLICT {
				return err
			}
			log.Info("import cancelled", "processed_rows", imp.ProcessedRows, "deleted_rows", imp.DeletedRows)
			return nil
		case res.Done:
			ended, done, err := s.life.Complete(ctx, p.TenantID, p.ImportID)
			if err != nil {
				return err
			}
			if done {
				log.Info("import completed", "status", ended.Status, "deleted_rows", ended.DeletedRows,
					"skipped_rows", ended.SkippedRows, "error_rows", ended.ErrorRows)
				return nil
			}
			// A block is still held by another session. Look again shortly
			// rather than leave it to its holder: if that holder's worker
			// vanished, the block comes free when the server ends its session
			// (idle_in_transaction_session_timeout), and this part takes it.
			return s.life.CheckLater(context.WithoutCancel(ctx), imp, p.Part, heldBlockRecheck)
		}
		s.metrics.chunk(res, time.Since(chunkStart))
		step = fmt.Sprintf("after-%d", res.Block)
		// Between chunks: wait as the rows-per-second caps ask — here when the
		// wait is short (a delayed task would add up to a second of the
		// queue's own), in the queue when it is long; hand over when the slice
		// is used up or the worker is stopping (the chunk in flight has
		// committed).
		wait := s.pace(ctx, log, imp, res.Rows)
		if wait > 0 && wait <= maxPaceSleep && !s.isStopping() {
			select {
			case <-ctx.Done():
			case <-time.After(wait):
				wait = 0
			}
		}
		if wait > 0 || time.Now().After(sliceEnd) || s.isStopping() || ctx.Err() != nil {
			return s.handOver(ctx, log, imp, p.Part, step, rows, deleted, start, wait)
		}
		if h, wait := s.held(ctx, imp); h != nil {
			log.Info("time slice ends on a hold", "rows", rows, "deleted", deleted)
			return s.hold(ctx, log, imp, p.Part, h, wait)
		}
	}
}

// maxPaceSleep is the longest wait between chunks, under a rows-per-second
// cap, that a run task sleeps through; a longer one it waits in the queue,
// holding no worker.
const maxPaceSleep = time.Second

// heldBlockRecheck is how long a run whose last block is held elsewhere waits
// before it looks again.
const heldBlockRecheck = 5 * time.Second

// How long a chunk that met a locked customer waits before it tries again:
// doubling from lockBackoff up to maxLockBackoff.
const (
	lockBackoff    = 250 * time.Millisecond
	maxLockBackoff = 5 * time.Second
)

// handOver queues the continuation of a run's part, named by step, to start
// after wait, and ends this task's time slice.
func (s *Server) handOver(ctx context.Context, log *slog.Logger, imp sweep.Import, part int, step string, rows, deleted int, start time.Time, wait time.Duration) error {
	var at time.Time
	if wait > 0 {
		at = time.Now().Add(wait)
	}
	if err := s.life.Continue(context.WithoutCancel(ctx), imp, part, step, at); err != nil {
		return err
	}
	log.Info("time slice used", "rows", rows, "deleted", deleted, "stopping", s.isStopping(),
		"rows_per_second", int(float64(rows)/time.Since(start).Seconds()))
	return nil
}

// notDue ends a task that came before its import's run_at: nothing is
// deleted and the import stays queued. It queues the part's run at at (its
// run_at by this host's clock) under a task id named after that second, so
// any number of early tasks queue one run; the task queued at run_at by the
// start stands as well, and whichever comes first begins the run.
func (s *Server) notDue(ctx context.Context, log *slog.Logger, imp sweep.Import, part int, at time.Time) error {
	if r := at.Truncate(time.Second); !r.Equal(at) {
		at = r.Add(time.Second) // asynq takes a delayed task at its whole second
	}
	step := fmt.Sprintf("at-%d", at.Unix())
	if id, _ := asynq.GetTaskID(ctx); id == jobs.RunTaskID(imp, part, step) {
		// This very task was queued for that second and came a little early
		// by the database's clock: the next second, so the id is free.
		at = at.Add(time.Second)
		step = fmt.Sprintf("at-%d", at.Unix())
	}
	log.Info("run task came before the import's run_at; it runs then", "run_at", imp.RunAt, "wait_ms", time.Until(at).Milliseconds())
	return s.life.Continue(context.WithoutCancel(ctx), imp, part, step, at)
}
