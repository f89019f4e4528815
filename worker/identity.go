package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/jobs"
)

// Reasons a task is dropped as not made for what this database holds under
// its id (label reason of sweep_tasks_foreign_total).
const (
	// foreignMismatch: the import or policy with that id was created at
	// another time. Another deployment shares the Redis DB, or the database
	// was restored from a backup while Redis kept the tasks of its lost future.
	foreignMismatch = "mismatch"
	// foreignMissing: nothing has that id here. Also what an import deleted
	// while its task waited leaves behind, so it is not archived.
	foreignMissing = "missing"
	// foreignUnproven: a version 1 task whose id carries no creation stamp.
	foreignUnproven = "unproven"
	// foreignUnclaimed: a cleanup:run task for a run the scheduler never
	// claimed (a made-up due time, or another revision than claimed).
	foreignUnclaimed = "unclaimed"
)

// foreignTaskError ends a task that was not made for this database's import
// or policy: asynq does not retry it and archives it, so an operator sees it
// (the SweepTasksArchived alert). Its message is the task's last error; the
// check that found it has logged it already.
type foreignTaskError struct{ msg string }

func (e foreignTaskError) Error() string { return e.msg }
func (e foreignTaskError) Unwrap() error { return asynq.SkipRetry }

func isForeign(err error) bool {
	var fe foreignTaskError
	return errors.As(err, &fe)
}

// stampTime turns a creation stamp into the time it names, for logs.
func stampTime(us int64) time.Time { return time.UnixMicro(us).UTC() }

// logStamp writes a creation time in full: slog's text form of a time keeps
// milliseconds only, and identities differ by microseconds.
func logStamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// ownImport checks, before an import task changes anything, that the import
// this database holds under the payload's id is the one the task was made
// for. When it is not, nothing is done: the task is logged at warn with both
// identities, counted, and ends without retry (err is what the handler
// returns). A failure to read the import is returned to be retried. The
// import read is returned, as it is now, when it is the task's own.
func (s *Server) ownImport(ctx context.Context, t *asynq.Task, p jobs.ImportPayload) (imp sweep.Import, ok bool, err error) {
	taskID, _ := asynq.GetTaskID(ctx)
	log := s.log.With("import_id", p.ImportID, "tenant_id", p.TenantID, "task_type", t.Type(), "task_id", taskID)
	stamp, err := jobs.ImportTaskStamp(p, t.Type(), taskID)
	if err != nil {
		s.metrics.tasksForeign.WithLabelValues(t.Type(), foreignUnproven).Inc()
		log.Warn("task refused: it does not say which import it was made for", "payload_version", p.Version,
			"reason", sweep.ErrorMessage(err))
		return imp, false, foreignTaskError{sweep.ErrorMessage(err)}
	}
	imp, err = s.db.GetImport(ctx, p.TenantID, p.ImportID)
	switch {
	case sweep.ErrorCode(err) == sweep.ENOTFOUND:
		s.metrics.tasksForeign.WithLabelValues(t.Type(), foreignMissing).Inc()
		log.Warn("task dropped: its import is not in this database", "task_import_created", logStamp(stampTime(stamp)),
			"db_import_created", "none")
		return imp, false, nil
	case err != nil:
		return imp, false, fmt.Errorf("load import %d to check the task is its own: %w", p.ImportID, err)
	case !p.Owns(imp, stamp):
		s.metrics.tasksForeign.WithLabelValues(t.Type(), foreignMismatch).Inc()
		log.Warn("task dropped: it was made for another import with the same id (another deployment on this Redis DB, or a database restored from a backup)",
			"task_import_created", logStamp(stampTime(stamp)), "db_import_created", logStamp(imp.CreatedAt))
		return imp, false, foreignTaskError{fmt.Sprintf("%s task was made for import %d of tenant %d created at %s, but the import with that id in this database was created at %s: the task belongs to another deployment sharing this Redis DB, or to a database state lost in a restore. Nothing was done.",
			t.Type(), p.ImportID, p.TenantID, logStamp(stampTime(stamp)), logStamp(imp.CreatedAt))}
	}
	return imp, true, nil
}

// ownPolicy is ownImport for a cleanup:run task and the policy it names,
// already read from the database (ENOTFOUND in err when there is none).
func (s *Server) ownPolicy(t *asynq.Task, p jobs.CleanupPayload, policy sweep.CleanupPolicy, err error) (ok bool, _ error) {
	log := s.log.With("policy_id", p.PolicyID, "tenant_id", p.TenantID, "task_type", t.Type())
	switch {
	case sweep.ErrorCode(err) == sweep.ENOTFOUND:
		s.metrics.tasksForeign.WithLabelValues(t.Type(), foreignMissing).Inc()
		log.Warn("task dropped: its cleanup policy is not in this database", "task_policy_created", logStamp(stampTime(p.PolicyCreatedUS)),
			"db_policy_created", "none")
		return false, nil
	case err != nil:
		return false, err
	case !p.Owns(policy):
		s.metrics.tasksForeign.WithLabelValues(t.Type(), foreignMismatch).Inc()
		log.Warn("task dropped: it was made for another cleanup policy with the same id (another deployment on this Redis DB, or a database restored from a backup)",
			"task_policy_created", logStamp(stampTime(p.PolicyCreatedUS)), "db_policy_created", logStamp(policy.CreatedAt))
		return false, foreignTaskError{fmt.Sprintf("%s task was made for cleanup policy %d of tenant %d created at %s, but the policy with that id in this database was created at %s: the task belongs to another deployment sharing this Redis DB, or to a database state lost in a restore. No batch was made.",
			t.Type(), p.PolicyID, p.TenantID, logStamp(stampTime(p.PolicyCreatedUS)), logStamp(policy.CreatedAt))}
	}
	return true, nil
}
