package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hibiken/asynq"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/store"
)

// handleImportValidate streams an import's stored file through the format
// rules, stages valid rows and row errors, runs the set-based checks and ends
// the import validated or rejected. A re-delivered task redoes the round from
// scratch and reaches the same rows and errors.
func (s *Server) handleImportValidate(ctx context.Context, t *asynq.Task) error {
	p, err := jobs.ParseImportPayload(t.Payload())
	if err != nil {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	log := s.log.With("import_id", p.ImportID, "tenant_id", p.TenantID, "task_type", t.Type())
	if ok, err := s.ownImport(ctx, t, p); !ok {
		return err // another import's task: this one stays as it is
	}
	start := time.Now()
	ctx, cancel := context.WithCancel(ctx) // stops the file prefetch on every way out
	defer cancel()
	imp, err := s.life.BeginValidating(ctx, p.TenantID, p.ImportID)
	switch sweep.ErrorCode(err) {
	case "":
	case sweep.ENOTFOUND, sweep.ECONFLICT:
		log.Info("nothing to validate", "reason", sweep.ErrorMessage(err))
		return nil
	default:
		return s.retryOrFail(ctx, p, "Validation", fmt.Errorf("validate import %d: %w", p.ImportID, err))
	}

	v, err := s.db.BeginValidation(ctx, p.TenantID, p.ImportID, s.cfg.ChunkSize)
	if errors.Is(err, store.ErrNotValidating) {
		log.Info("nothing to validate", "reason", "no longer validating")
		return nil
	} else if err != nil {
		return s.retryOrFail(ctx, p, "Validation", err)
	}
	defer v.Abort()

	fileErr := ""
	fr, err := sweep.NewFileReader(s.db.FileReader(ctx, p.TenantID, p.ImportID), s.cfg.MaxRows)
	if isFileError(err) {
		fileErr = sweep.ErrorMessage(err)
	} else if err != nil {
		return s.retryOrFail(ctx, p, "Validation", err)
	}
	for fr != nil && fileErr == "" {
		rec, err := fr.Next()
		if errors.Is(err, io.EOF) {
			break
		} else if isFileError(err) {
			fileErr = sweep.ErrorMessage(err)
			break
		} else if err != nil {
			return s.retryOrFail(ctx, p, "Validation", err)
		}
		if rec.Err != nil {
			err = v.AddError(ctx, rec.Err)
		} else {
			err = v.AddRow(ctx, rec.Line, rec.CustomerID)
		}
		if err != nil {
			return s.retryOrFail(ctx, p, "Validation", err)
		}
	}
	var total int64
	if fr != nil {
		total = fr.Rows()
	}
	staged := time.Since(start)
	res, err := v.Finish(ctx, imp.Policy, total, fileErr)
	if errors.Is(err, store.ErrNotValidating) {
		log.Info("validation discarded", "reason", "the import left the validating state meanwhile")
		return nil
	} else if err != nil {
		return s.retryOrFail(ctx, p, "Validation", err)
	}
	if imp := res.Import; imp.StartsByItself() {
		if _, err := s.life.AutoStart(ctx, imp); err != nil {
			// Validated, or queued without its task, which the reconciler queues.
			log.Error("auto start", "err", err)
		}
	}
	took := time.Since(start)
	s.metrics.validation(res.Import.ValidRows, res.Import.ErrorRows, took)
	log.Info("import validated", "status", res.Import.Status, "total_rows", res.Import.TotalRows,
		"valid_rows", res.Import.ValidRows, "error_rows", res.Import.ErrorRows,
		"duration_ms", took.Milliseconds(), "stage_ms", staged.Milliseconds(), "rows_per_second", int64(float64(total)/took.Seconds()))
	return nil
}

// isFileError reports whether err rejects the whole file (as opposed to a
// failure worth retrying).
func isFileError(err error) bool {
	c := sweep.ErrorCode(err)
	return c == sweep.EINVALID || c == sweep.ETOOLARGE
}

// retryOrFail returns err so asynq retries the task, except on the last
// attempt, where it marks the import failed so it never stays stuck in a
// working state: with a reason the tenant can act on, while err's detail goes
// to the log.
func (s *Server) retryOrFail(ctx context.Context, p jobs.ImportPayload, phase string, err error) error {
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, _ := asynq.GetMaxRetry(ctx)
	if retried < maxRetry && ctx.Err() == nil {
		return err
	}
	if ctx.Err() != nil {
		return err // shutting down: the task goes back to the queue
	}
	s.log.ErrorContext(ctx, "import failed", "import_id", p.ImportID, "tenant_id", p.TenantID, "phase", phase, "attempts", retried+1, "err", err)
	reason := failureReason(phase, retried+1, p.ImportID, err)
	if ferr := s.life.Fail(context.WithoutCancel(ctx), p.TenantID, p.ImportID, reason); ferr != nil {
		s.log.Error("mark import failed", "import_id", p.ImportID, "tenant_id", p.TenantID, "err", ferr)
	}
	return err
}

