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
		return err
	}
	log := s.log.With("import_id", p.ImportID, "tenant_id", p.TenantID, "task_type", t.Type())
	if _, ok, err := s.ownImport(ctx, t, p); !ok {
		return err // another import's task: this one stays as it is
	}
	start := time.Now()
	ctx, cancel := context.WithCancel(ctx) // stops the file prefetch on every way out
	defer cancel()
	imp, err := s.life.BeginValidating(ctx, p.TenantID, p.ImportID)
	if err != nil {
		return fmt.Errorf("validate import %d: %w", p.ImportID, err) // gone or moved on: nothing to do (outcomes.go)
	}

	v, err := s.db.BeginValidation(ctx, p.TenantID, p.ImportID, s.cfg.ChunkSize)
	if errors.Is(err, store.ErrNotValidating) {
		log.Info("nothing to validate", "reason", "no longer validating")
		return nil
	} else if err != nil {
		return err
	}
	defer v.Abort()

	fileErr := ""
	fr, err := sweep.NewFileReader(s.db.FileReader(ctx, p.TenantID, p.ImportID), s.cfg.MaxRows)
	if isFileError(err) {
		fileErr = sweep.ErrorMessage(err)
	} else if err != nil {
		return err
	}
	if fr != nil {
		fr.SetKey(v.Key())
	}
	for fr != nil && fileErr == "" {
		rec, err := fr.Next()
		if errors.Is(err, io.EOF) {
			break
		} else if isFileError(err) {
			fileErr = sweep.ErrorMessage(err)
			break
		} else if err != nil {
			return err
		}
		if rec.Err != nil {
			err = v.AddError(ctx, rec.Err)
		} else if rec.Key != "" {
			err = v.AddKey(ctx, rec.Line, rec.Key)
		} else {
			err = v.AddRow(ctx, rec.Line, rec.CustomerID)
		}
		if err != nil {
			return err
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
		return err
	}
	if res.Import.Status == sweep.StatusValidated {
		// Kept before the import can start, so whoever starts or approves it
		// reads the figures of the import as it validated. Without them the
		// import still goes on: the API computes them when first asked.
		if _, err := s.db.ComputeImpact(ctx, p.TenantID, p.ImportID, s.cfg.MaxRowsPerSecond); err != nil {
			log.Error("impact preview", "err", err)
		}
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
