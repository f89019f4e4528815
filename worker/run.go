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
	if ok, err := s.ownImport(ctx, t, p); !ok {
		return err
	}
	imp, err := s.life.BeginRunning(ctx, p.TenantID, p.ImportID)
	if err != nil {
		return err // gone or no longer queued: nothing to run (see outcomes.go)
	}
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
				return s.handOver(ctx, log, imp, p.Part, cmp.Or(step, fmt.Sprintf("locked-%d", time.Now().UnixNano())), rows, deleted, start)
			}
			continue
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
		// Between chunks: hand over when the slice is used up or the worker is
		// stopping (the chunk in flight has committed).
		if time.Now().After(sliceEnd) || s.isStopping() || ctx.Err() != nil {
			return s.handOver(ctx, log, imp, p.Part, step, rows, deleted, start)
		}
	}
}

// heldBlockRecheck is how long a run whose last block is held elsewhere waits
// before it looks again.
const heldBlockRecheck = 5 * time.Second

// How long a chunk that met a locked customer waits before it tries again:
// doubling from lockBackoff up to maxLockBackoff.
const (
	lockBackoff    = 250 * time.Millisecond
	maxLockBackoff = 5 * time.Second
)

// handOver queues the continuation of a run's part, named by step, and ends
// this task's time slice.
func (s *Server) handOver(ctx context.Context, log *slog.Logger, imp sweep.Import, part int, step string, rows, deleted int, start time.Time) error {
	if err := s.life.Continue(context.WithoutCancel(ctx), imp, part, step); err != nil {
		return err
	}
	log.Info("time slice used", "rows", rows, "deleted", deleted, "stopping", s.isStopping(),
		"rows_per_second", int(float64(rows)/time.Since(start).Seconds()))
	return nil
}
