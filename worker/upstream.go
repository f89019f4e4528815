package worker

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"

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
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	log := s.log.With("tenant_id", p.TenantID, "task_type", t.Type(), "source", p.Source)
	if ok, err := s.db.TenantExists(ctx, p.TenantID); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("%w: %w", sweep.Errorf(sweep.ENOTFOUND, "Tenant %d is not known to sweep; check the tenant id.", p.TenantID), asynq.SkipRetry)
	}
	n := store.NewImport{
		TenantID: p.TenantID, Source: sweep.SourceUpstream, Policy: cmp.Or(p.Policy, sweep.PolicyLine),
		FileName: cmp.Or(p.Source, "upstream") + ".csv", AutoStart: true, IdempotencyKey: p.IdempotencyKey,
		CreatedBy: cmp.Or(p.Source, "upstream"),
	}
	imp, existed, _, err := s.db.CreateImportFromIDs(ctx, n, func(add func(int64) error) error {
		if p.StagedBatch != "" {
			return s.db.EachStagedID(ctx, p.TenantID, p.StagedBatch, add)
		}
		for _, id := range p.CustomerIDs {
			if err := add(id); err != nil {
				return err
			}
		}
		return nil
	})
	if sweep.ErrorCode(err) == sweep.ENOTFOUND {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry) // the staged batch is gone
	} else if err != nil {
		return err
	}
	// Queue the validation of a new import, and of one a crashed earlier
	// delivery made but did not queue (the task id makes this a no-op otherwise).
	if imp.Status == sweep.StatusUploaded {
		if err := s.enqueueValidate(ctx, imp); err != nil {
			return err
		}
	}
	if p.StagedBatch != "" {
		if err := s.db.DropStaged(ctx, p.TenantID, p.StagedBatch); err != nil {
			log.Warn("drop staged batch", "import_id", imp.ID, "err", err)
		}
	}
	res, _ := json.Marshal(jobs.DeleteResult{ImportID: imp.ID, Existed: existed})
	if _, err := t.ResultWriter().Write(res); err != nil {
		return err
	}
	s.publish(ctx, imp)
	log.Info("upstream request recorded", "import_id", imp.ID, "existed", existed)
	return nil
}

// enqueueValidate queues the validation round an import is in and records
// its task.
func (s *Server) enqueueValidate(ctx context.Context, imp sweep.Import) error {
	t, err := jobs.NewImportValidateTask(imp)
	if err != nil {
		return err
	}
	return s.enqueue(ctx, jobs.ImportPayload{TenantID: imp.TenantID, ImportID: imp.ID}, t)
}

// handleCleanupRun makes the batch of a cleanup policy for one due time (see
// store.CreateBatch) and queues its validation; the batch starts by itself
// unless the policy is a dry run. A run delivered twice makes one batch.
func (s *Server) handleCleanupRun(ctx context.Context, t *asynq.Task) error {
	p, err := jobs.ParseCleanupPayload(t.Payload())
	if err != nil {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	log := s.log.With("tenant_id", p.TenantID, "task_type", t.Type(), "policy_id", p.PolicyID)
	policy, err := s.db.GetPolicy(ctx, p.TenantID, p.PolicyID)
	if sweep.ErrorCode(err) == sweep.ENOTFOUND {
		log.Info("cleanup policy is gone; nothing to do")
		return nil
	} else if err != nil {
		return err
	}
	imp, existed, err := s.db.CreateBatch(ctx, policy, p.Due)
	if err != nil {
		return err
	}
	if imp.Status == sweep.StatusUploaded {
		if err := s.enqueueValidate(ctx, imp); err != nil {
			return err
		}
	}
	s.publish(ctx, imp)
	log.Info("cleanup batch recorded", "import_id", imp.ID, "existed", existed, "status", imp.Status,
		"total_rows", imp.TotalRows, "dry_run", policy.DryRun)
	return nil
}
