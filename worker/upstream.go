package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/hibiken/asynq"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/store"
)

// handleCustomersDelete turns an upstream service's request into an import of
// source upstream: its ids (from the task, or staged in PostgreSQL) are
// written as an import file, so they meet the same validation and run as an
// uploaded file, and the import starts by itself. The import id is the task's
// result. The request's idempotency key is the import's: a request delivered
// or sent again returns the same import and deletes nothing twice.
func (s *Server) handleCustomersDelete(ctx context.Context, t *asynq.Task) error {
	p, err := jobs.ParseDeletePayload(t.Payload())
	if err != nil {
		return err
	}
	log := s.log.With("tenant_id", p.TenantID, "task_type", t.Type(), "source", p.Source)
	taskID, _ := asynq.GetTaskID(ctx)
	if err := jobs.CheckDeleteTaskID(p, taskID); err != nil {
		s.metrics.tasksForeign.WithLabelValues(t.Type(), foreignUnproven).Inc()
		log.Warn("task refused: its id does not name the tenant and key of its payload", "task_id", sweep.SafeValue(taskID))
		return s.refuseDelete(t, p, err, 0)
	}
	if ok, err := s.db.TenantExists(ctx, p.TenantID); err != nil {
		return err
	} else if !ok {
		return s.refuseDelete(t, p, sweep.Errorf(sweep.ENOTFOUND, "Tenant %d is not known to sweep; check the tenant id.", p.TenantID), 0)
	}
	req := p.Request("")
	n := store.NewImport{
		TenantID: p.TenantID, Source: req.Source, Policy: req.Policy, FileName: req.FileName, AutoStart: req.AutoStart,
		IdempotencyKey: p.IdempotencyKey, CreatedBy: p.CreatedBy(),
	}
	// A new import's validation is queued with it, and so is that of one a
	// crashed earlier delivery made but did not queue (the task id makes
	// this a no-op otherwise).
	imp, existed, err := s.life.CreateFromKeys(ctx, n, func(add func(string) error) error {
		if p.StagedBatch != "" {
			return s.db.EachStagedID(ctx, p.TenantID, p.StagedBatch, func(id int64) error { return add(strconv.FormatInt(id, 10)) })
		}
		for _, id := range p.CustomerIDs {
			if err := add(strconv.FormatInt(id, 10)); err != nil {
				return err
			}
		}
		for _, k := range p.CustomerKeys {
			if err := add(k); err != nil {
				return err
			}
		}
		return nil
	})
	switch sweep.ErrorCode(err) {
	case "":
	case sweep.ENOTFOUND: // the staged batch is gone
		return s.refuseDelete(t, p, err, 0)
	case sweep.EKEYREUSED:
		// The key made another import for another request: refuse this one,
		// never answer with the other's import. Its staged ids go.
		if p.StagedBatch != "" {
			if derr := s.db.DropStaged(ctx, p.TenantID, p.StagedBatch); derr != nil {
				log.Warn("drop staged batch", "err", derr)
			}
		}
		key, _ := s.db.ImportIDByKey(ctx, p.TenantID, sweep.SourceUpstream, p.IdempotencyKey)
		log.Warn("upstream request refused: idempotency key already used for another request", "key_import_id", key)
		return s.refuseDelete(t, p, err, key)
	default:
		return err
	}
	res, _ := json.Marshal(jobs.DeleteResult{ImportID: imp.ID, Existed: existed})
	if rw := t.ResultWriter(); rw != nil {
		if _, err := rw.Write(res); err != nil {
			return err
		}
	}
	// Only once the result is written: a delivery that crashed before it can
	// still read the staged ids to prove it is the same request.
	if p.StagedBatch != "" {
		if err := s.db.DropStaged(ctx, p.TenantID, p.StagedBatch); err != nil {
			log.Warn("drop staged batch", "import_id", imp.ID, "err", err)
		}
	}
	s.publish(ctx, imp)
	log.Info("upstream request recorded", "import_id", imp.ID, "existed", existed)
	return nil
}

// refuseDelete ends a customers:delete task that must not run: its result
// says why (what jobs.Client reads), and the task is archived, not retried.
func (s *Server) refuseDelete(t *asynq.Task, p jobs.DeletePayload, err error, keyImport int64) error {
	res, _ := json.Marshal(jobs.DeleteResult{Error: &jobs.ResultError{Code: sweep.ErrorCode(err), Message: sweep.ErrorMessage(err), KeyImportID: keyImport}})
	if rw := t.ResultWriter(); rw != nil {
		if _, werr := rw.Write(res); werr != nil {
			s.log.Warn("write refused request's result", "tenant_id", p.TenantID, "err", werr)
		}
	}
	return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
}

// handleCleanupRun makes the batch of a cleanup policy's run that the
// scheduler claimed (see store.CreateBatch) and queues its validation; the
// batch starts by itself unless the policy is a dry run. A run delivered
// twice makes one batch. A run nobody claimed (a made-up due time, a task id
// that does not name it) makes nothing and is archived; a run whose policy
// changed, was disabled or awaits approval since it was claimed is dropped,
// and the policy says why.
func (s *Server) handleCleanupRun(ctx context.Context, t *asynq.Task) error {
	p, err := jobs.ParseCleanupPayload(t.Payload())
	if err != nil {
		if p.Version == 1 {
			// Neither its payload nor its id says which policy it was made for.
			s.metrics.tasksForeign.WithLabelValues(t.Type(), foreignUnproven).Inc()
			s.log.Warn("task refused: it does not say which cleanup policy it was made for", "policy_id", p.PolicyID,
				"tenant_id", p.TenantID, "task_type", t.Type(), "payload_version", p.Version)
			return foreignTaskError{sweep.ErrorMessage(err)}
		}
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	log := s.log.With("tenant_id", p.TenantID, "task_type", t.Type(), "policy_id", p.PolicyID)
	if taskID, _ := asynq.GetTaskID(ctx); taskID != jobs.CleanupTaskID(p) {
		s.metrics.tasksForeign.WithLabelValues(t.Type(), foreignUnproven).Inc()
		log.Warn("task refused: its id does not name the run of its payload", "task_id", sweep.SafeValue(taskID))
		return foreignTaskError{fmt.Sprintf("cleanup:run task %q does not name the run of its payload (%s); no batch was made.", sweep.SafeValue(taskID), jobs.CleanupTaskID(p))}
	}
	// A policy deleted meanwhile, or another one under the same id: no batch.
	policy, err := s.db.GetPolicy(ctx, p.TenantID, p.PolicyID)
	if ok, err := s.ownPolicy(t, p, policy, err); !ok {
		return err
	}
	imp, existed, err := s.life.CreateBatch(ctx, store.CleanupClaim{TenantID: p.TenantID, PolicyID: p.PolicyID, Due: p.Due, Revision: p.Revision})
	var dropped *store.DroppedRun
	switch {
	case errors.As(err, &dropped):
		s.metrics.cleanupDropped.Inc()
		log.Warn("cleanup run dropped", "due", p.Due, "revision", p.Revision, "reason", dropped.Reason)
		return nil
	case sweep.ErrorCode(err) == sweep.ENOTFOUND:
		s.metrics.tasksForeign.WithLabelValues(t.Type(), foreignUnclaimed).Inc()
		log.Warn("task refused: no such run was claimed", "due", p.Due, "revision", p.Revision)
		return foreignTaskError{sweep.ErrorMessage(err)}
	case err != nil:
		return err
	}
	s.publish(ctx, imp)
	log.Info("cleanup batch recorded", "import_id", imp.ID, "existed", existed, "status", imp.Status,
		"total_rows", imp.TotalRows, "dry_run", policy.DryRun)
	return nil
}
