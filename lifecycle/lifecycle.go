// Package lifecycle owns every step of an import: each change of state, as a
// named operation, together with the task that follows it, queued by one
// policy and recorded as the import's task. The HTTP API reaches it through
// the root package's Lifecycle interface; the worker, its reconciler, cleanup
// batches and upstream requests call it directly.
//
// The state changes themselves are the statements of store/lifecycle.go, and
// the database refuses any change of state the table in status.go lacks.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/store"
)

// Owner performs the steps of imports over a database and a queue. Safe for
// concurrent use.
type Owner struct {
	db  *store.DB
	rdb redis.UniversalClient
	log *slog.Logger
	// The default approval threshold (a tenant may set its own) and how
	// long an approval request stands.
	approvalThreshold int64
	approvalTTL       time.Duration
}

// New returns the owner of the imports in db, queueing through rdb, with
// sweep's default approval threshold and time (see SetApproval).
func New(db *store.DB, rdb redis.UniversalClient, log *slog.Logger) *Owner {
	if log == nil {
		log = slog.Default()
	}
	return &Owner{db: db, rdb: rdb, log: log, approvalThreshold: sweep.DefaultApprovalThreshold, approvalTTL: sweep.DefaultApprovalTTL}
}

// SetApproval sets the approval threshold of tenants without their own (0:
// never ask, as SWEEP_APPROVAL_THRESHOLD=0 says) and how long a request
// stands (0 keeps the default). It returns o. This is the one place a
// process's approval settings live: serve builds one owner and hands it to
// every role.
func (o *Owner) SetApproval(threshold int64, ttl time.Duration) *Owner {
	o.approvalThreshold = max(threshold, 0)
	if ttl > 0 {
		o.approvalTTL = ttl
	}
	return o
}

// ApprovalThreshold is the approval threshold of tenants without their own
// (0: never ask).
func (o *Owner) ApprovalThreshold() int64 { return o.approvalThreshold }

// With returns the same owner (its settings) over another connection pool,
// such as the API's own, which requests use so they never take the
// connections deletions need.
func (o *Owner) With(db *store.DB) *Owner {
	c := *o
	c.db = db
	return &c
}

// startOrAsk queues a validated import to run, or moves it to
// awaiting_approval when the tenant's limits say a second person must approve
// it first: more customers than its threshold, or more than its rolling limit
// with what was deleted without approval in the last 24 hours. A cleanup
// batch its policy's approval covers runs without asking again (and does not
// count towards the rolling limit); any other batch meets the same limits as
// a file, as they stand when it runs. It reports whether the import was
// queued, for the caller to queue its tasks. covered says the import is such
// a batch (see batchStanding).
func (o *Owner) startOrAsk(ctx context.Context, imp sweep.Import, opts sweep.StartOptions, covered bool) (sweep.Import, bool, error) {
	if imp.Status != sweep.StatusValidated {
		imp, err := o.db.StartImport(ctx, imp.TenantID, imp.ID, opts) // answers the state
		return imp, err == nil, err
	}
	limits, err := o.db.ApprovalLimits(ctx, imp.TenantID, o.approvalThreshold)
	if err != nil {
		return imp, false, err
	}
	started, why, err := o.db.StartWithinLimits(ctx, imp, opts, limits, covered)
	if err != nil || why == "" {
		return started, err == nil, err
	}
	o.log.InfoContext(ctx, "import awaits approval", "import_id", imp.ID, "tenant_id", imp.TenantID, "why", why)
	asked, err := o.db.RequestApproval(ctx, imp.TenantID, imp.ID, opts, why, time.Now().Add(o.approvalTTL))
	return asked, false, err
}

var _ sweep.Lifecycle = (*Owner)(nil)

// enqueue is the one enqueue policy: task ids are deterministic, so a task
// already in Redis (asynq.ErrTaskIDConflict) is the same step queued before
// and counts as done; the first task enqueued is recorded as the import's
// task, which the reconciler looks for. A fresh asynq client per call: one
// registers a queue in Redis only on its first use, so a long-lived one would
// not register it again after Redis lost its data.
func (o *Owner) enqueue(ctx context.Context, imp sweep.Import, tasks ...*asynq.Task) error {
	client := asynq.NewClientFromRedisClient(o.rdb)
	recorded := false
	for _, t := range tasks {
		info, err := client.EnqueueContext(ctx, t)
		if errors.Is(err, asynq.ErrTaskIDConflict) {
			continue
		} else if err != nil {
			return fmt.Errorf("enqueue %s for import %d: %w", t.Type(), imp.ID, err)
		}
		if !recorded {
			if err := o.db.SetTaskID(ctx, imp.TenantID, imp.ID, info.ID); err != nil {
				return fmt.Errorf("record task of import %d: %w", imp.ID, err)
			}
			recorded = true
		}
	}
	return nil
}

// queued enqueues the step's tasks after a state change that has committed.
// A failure does not undo the step: the import is in its new state, and the
// reconciler queues what it lacks. It is logged, and returned for callers
// that retry (the worker); the API answers the step as taken.
func (o *Owner) queued(ctx context.Context, imp sweep.Import, what string, tasks func() ([]*asynq.Task, error)) error {
	ts, err := tasks()
	if err == nil {
		err = o.enqueue(ctx, imp, ts...)
	}
	if err != nil {
		o.log.ErrorContext(ctx, "queue "+what+"; the reconciler will queue it", "import_id", imp.ID, "tenant_id", imp.TenantID, "err", err)
	}
	return err
}

func (o *Owner) queueValidation(ctx context.Context, imp sweep.Import) error {
	return o.queued(ctx, imp, "validation", func() ([]*asynq.Task, error) {
		t, err := jobs.NewImportValidateTask(imp)
		return []*asynq.Task{t}, err
	})
}

func (o *Owner) queueStart(ctx context.Context, imp sweep.Import) error {
	return o.queued(ctx, imp, "run", func() ([]*asynq.Task, error) { return jobs.StartTasks(imp) })
}

// CreateImport stores a file as a new import (uploaded) and queues its
// validation. A key that made an import before returns that import (existed).
func (o *Owner) CreateImport(ctx context.Context, n sweep.NewImport, file io.Reader) (sweep.Import, bool, error) {
	imp, existed, err := o.db.CreateImport(ctx, n, file)
	if err == nil && imp.Status == sweep.StatusUploaded {
		o.queueValidation(ctx, imp) // also for a replay whose first delivery stopped before queueing
	}
	return imp, existed, err
}

// CreateFromIDs is CreateImport for ids a program gives (an upstream
// request): each calls add with every id.
func (o *Owner) CreateFromIDs(ctx context.Context, n sweep.NewImport, each func(add func(id int64) error) error) (sweep.Import, bool, error) {
	return o.CreateFromKeys(ctx, n, func(add func(string) error) error {
		return each(func(id int64) error { return add(strconv.FormatInt(id, 10)) })
	})
}

// CreateFromKeys is CreateFromIDs for customers named by key (a uuid or
// text, or a whole number in decimal), as WriteKeysFile writes them.
func (o *Owner) CreateFromKeys(ctx context.Context, n sweep.NewImport, each func(add func(key string) error) error) (sweep.Import, bool, error) {
	imp, existed, _, err := o.db.CreateImportFromKeys(ctx, n, each)
	return o.validateCreated(ctx, imp, existed, err)
}

// CreateBatch makes the batch of a cleanup policy's claimed run (uploaded, or
// completed when it found nothing) and queues its validation; a run whose
// claimed revision no longer stands is dropped (*store.DroppedRun).
func (o *Owner) CreateBatch(ctx context.Context, c store.CleanupClaim) (sweep.Import, bool, error) {
	imp, existed, err := o.db.CreateBatch(ctx, c)
	return o.validateCreated(ctx, imp, existed, err)
}

// validateCreated queues the validation of an import a worker just made, or
// found under its key still uploaded (the delivery that made it stopped
// before queueing); a failure to queue is returned, for the task to retry.
func (o *Owner) validateCreated(ctx context.Context, imp sweep.Import, existed bool, err error) (sweep.Import, bool, error) {
	if err == nil && imp.Status == sweep.StatusUploaded {
		err = o.queueValidation(ctx, imp)
	}
	return imp, existed, err
}

// RunPolicyNow makes a cleanup policy's batch now, as an operator (by)
// asks: by is its requester, who may not approve it.
func (o *Owner) RunPolicyNow(ctx context.Context, p sweep.CleanupPolicy, by sweep.Requester) (sweep.Import, error) {
	if p.AwaitsApproval {
		return sweep.Import{}, sweep.Errorf(sweep.ECONFLICT, "Cleanup policy %d awaits the approval of another person with the imports:approve scope; it makes no batch until then.", p.ID)
	}
	c, err := o.db.ClaimRunNow(ctx, p.TenantID, p.ID, time.Now().UTC().Truncate(time.Second), by)
	if err != nil {
		return sweep.Import{}, err
	}
	imp, _, err := o.db.CreateBatch(ctx, c)
	var dropped *store.DroppedRun
	if errors.As(err, &dropped) {
		return imp, sweep.Errorf(sweep.ECONFLICT, "Cleanup policy %d made no batch: %s.", p.ID, dropped.Reason)
	}
	if err == nil && imp.Status == sweep.StatusUploaded {
		o.queueValidation(ctx, imp)
	}
	return imp, err
}

// RequestValidation moves an uploaded or rejected import to validating for a
// new round, and queues the round.
func (o *Owner) RequestValidation(ctx context.Context, tenant, id int64) (sweep.Import, error) {
	imp, err := o.db.RequestValidation(ctx, tenant, id)
	if err == nil {
		o.queueValidation(ctx, imp)
	}
	return imp, err
}

// BeginValidating moves an uploaded import to validating as its task starts
// (an import validating already is returned as it is). The round ends in
// validated or rejected through store.Validation.Finish.
func (o *Owner) BeginValidating(ctx context.Context, tenant, id int64) (sweep.Import, error) {
	return o.db.BeginValidating(ctx, tenant, id)
}

// StartImport moves a validated import to queued and queues its run tasks,
// one per part, at its run_at.
func (o *Owner) StartImport(ctx context.Context, tenant, id int64, opts sweep.StartOptions) (sweep.Import, error) {
	cur, err := o.db.GetImport(ctx, tenant, id)
	if err != nil {
		return cur, err
	}
	_, covered, err := o.batchStanding(ctx, cur)
	if err != nil {
		return cur, err
	}
	imp, queued, err := o.startOrAsk(ctx, cur, opts, covered)
	if queued {
		o.queueStart(ctx, imp)
	}
	return imp, err
}

// AutoStart is StartImport for an import that starts by itself once
// validated; a failure to queue is returned, for the worker to retry.
func (o *Owner) AutoStart(ctx context.Context, imp sweep.Import) (sweep.Import, error) {
	// A batch starts by itself only while the run it was made for stands:
	// a policy changed, disabled or awaiting approval since then ends its
	// batch before it deletes anything.
	why, covered, err := o.batchStanding(ctx, imp)
	if err != nil {
		return imp, err
	} else if why != "" {
		return o.cancelStaleBatch(ctx, imp, why)
	}
	// The uploader (or the upstream service, or the policy) asked for it to
	// start: that is the request another person approves, when one must.
	imp, queued, err := o.startOrAsk(ctx, imp, sweep.StartOptions{By: sweep.Requester{Name: imp.CreatedBy, TokenID: imp.CreatedByToken}}, covered)
	if err != nil || !queued {
		return imp, err
	}
	return imp, o.queueStart(ctx, imp)
}

// StopStaleBatch ends a cleanup batch whose run no longer stands (its
// policy changed, was disabled, awaits approval or was deleted since the run
// was claimed): cancelled before it starts, or asked to stop after its chunk
// when running. It returns why when it stopped it ("" otherwise); any other
// import is left as it is. The worker calls it as it takes each run task,
// so a batch never runs on under a policy that no longer asks for it.
func (o *Owner) StopStaleBatch(ctx context.Context, imp sweep.Import) (sweep.Import, string, error) {
	why, _, err := o.batchStanding(ctx, imp)
	if err != nil || why == "" {
		return imp, "", err
	}
	stopped, err := o.cancelStaleBatch(ctx, imp, why)
	if err != nil {
		return stopped, "", err
	}
	return stopped, why, nil
}

// batchStanding is store.BatchStanding for a cleanup batch; any other
// import stands and is covered by no policy.
func (o *Owner) batchStanding(ctx context.Context, imp sweep.Import) (why string, covered bool, err error) {
	if imp.Source != sweep.SourceSchedule || imp.CleanupPolicyID == 0 {
		return "", false, nil
	}
	return o.db.BatchStanding(ctx, imp.TenantID, imp.ID)
}

// cancelStaleBatch ends a batch whose run no longer stands, saying why.
func (o *Owner) cancelStaleBatch(ctx context.Context, imp sweep.Import, why string) (sweep.Import, error) {
	o.log.InfoContext(ctx, "cleanup batch stopped: its run no longer stands", "import_id", imp.ID, "tenant_id", imp.TenantID,
		"status", imp.Status, "why", why)
	return o.db.CancelImport(ctx, imp.TenantID, imp.ID, "sweep ("+why+")")
}

// BeginRunning moves a queued import to running as its first task starts (a
// running import is returned as it is).
func (o *Owner) BeginRunning(ctx context.Context, tenant, id int64) (sweep.Import, error) {
	return o.db.BeginRunning(ctx, tenant, id)
}

// Continue queues the next time slice of a run's part, at at (zero: now);
// step names it in its task id (the last block the slice did, so a slice
// delivered twice queues one continuation).
func (o *Owner) Continue(ctx context.Context, imp sweep.Import, part int, step string, at time.Time) error {
	t, err := jobs.NewImportRunTask(imp, part, step, at)
	if err != nil {
		return err
	}
	return o.enqueue(ctx, imp, t)
}

// CheckLater queues a look at a run's part after wait: its blocks were all
// taken, but one is still held by another session (a chunk in flight, or the
// session of a worker that vanished, whose block comes free when the server
// ends that session). If the holder finishes the import meanwhile, the look
// finds nothing to do.
func (o *Owner) CheckLater(ctx context.Context, imp sweep.Import, part int, wait time.Duration) error {
	t, err := jobs.NewImportRunTask(imp, part, fmt.Sprintf("check-%d", time.Now().UnixNano()), time.Now().Add(wait))
	if err != nil {
		return err
	}
	return o.enqueue(ctx, imp, t)
}

// Complete ends a running import whose blocks are all processed; it reports
// false while a block is still held elsewhere.
func (o *Owner) Complete(ctx context.Context, tenant, id int64) (sweep.Import, bool, error) {
	return o.db.CompleteImport(ctx, tenant, id)
}

// CancelImport cancels an import that has not started, or asks a running one
// to stop after its chunk (FinishCancel then ends it).
func (o *Owner) CancelImport(ctx context.Context, tenant, id int64, who string) (sweep.Import, error) {
	return o.db.CancelImport(ctx, tenant, id, who)
}

// PauseImport stops a queued or running import; its run ends after the
// chunk in flight and it holds no worker while paused.
func (o *Owner) PauseImport(ctx context.Context, tenant, id int64, who string) (sweep.Import, error) {
	return o.db.PauseImport(ctx, tenant, id, who)
}

// ResumeImport queues a paused import again with a run task per part, at its
// run_at if that is still ahead; the run takes the blocks not yet done.
func (o *Owner) ResumeImport(ctx context.Context, tenant, id int64) (sweep.Import, error) {
	imp, err := o.db.ResumeImport(ctx, tenant, id)
	if err == nil {
		o.queued(ctx, imp, "run", func() ([]*asynq.Task, error) {
			return jobs.RunTasks(imp, fmt.Sprintf("resume-%d", time.Now().UnixNano()))
		})
	}
	return imp, err
}

// ApproveImport queues an import awaiting approval as its requester asked
// (now, at its run_at, inside its window); the approver may not be the
// requester.
func (o *Owner) ApproveImport(ctx context.Context, tenant, id int64, step sweep.ApprovalStep) (sweep.Import, error) {
	// A cleanup batch is approved only while the run it was made for
	// stands: one whose policy changed, was disabled or deleted meanwhile
	// ends cancelled instead, and the approver is told why.
	if cur, err := o.db.GetImport(ctx, tenant, id); err != nil {
		return cur, err
	} else if cur.Status == sweep.StatusAwaitingApproval {
		if imp, why, err := o.StopStaleBatch(ctx, cur); err != nil {
			return imp, err
		} else if why != "" {
			return imp, sweep.Errorf(sweep.ECONFLICT, "Import %d is a batch of cleanup policy %d whose run no longer stands (%s): it was cancelled, and nothing was deleted.",
				id, cur.CleanupPolicyID, why)
		}
	}
	imp, err := o.db.ApproveImport(ctx, tenant, id, step)
	if err == nil {
		o.queueStart(ctx, imp)
	}
	return imp, err
}

// RejectImport ends an import awaiting approval rejected, with the reason.
func (o *Owner) RejectImport(ctx context.Context, tenant, id int64, step sweep.ApprovalStep) (sweep.Import, error) {
	return o.db.RejectImport(ctx, tenant, id, step)
}

// ExpireApprovals ends the approval requests past their time, for the
// scheduler.
func (o *Owner) ExpireApprovals(ctx context.Context) error {
	n, err := o.db.ExpireApprovals(ctx)
	if n > 0 {
		o.log.Info("approval requests expired", "imports", n)
	}
	return err
}

// ChangeRun sets the run window or rows-per-second cap of an import that
// has not ended. Nothing is queued: a run reads them at its next time slice,
// and a run waiting for its window looks again within a minute.
func (o *Owner) ChangeRun(ctx context.Context, tenant, id int64, s sweep.RunSettings) (sweep.Import, error) {
	return o.db.ChangeRun(ctx, tenant, id, s)
}

// FinishCancel ends a running import whose cancellation was asked.
func (o *Owner) FinishCancel(ctx context.Context, tenant, id int64) (sweep.Import, error) {
	return o.db.FinishCancel(ctx, tenant, id)
}

// Fail ends an import a worker could not finish, with a reason for the
// operator.
func (o *Owner) Fail(ctx context.Context, tenant, id int64, reason string) error {
	return o.db.FailImport(ctx, tenant, id, reason)
}

// DeleteImport removes an import that is not queued, running or paused.
func (o *Owner) DeleteImport(ctx context.Context, tenant, id int64) error {
	return o.db.DeleteImport(ctx, tenant, id)
}

// Requeue queues again the work of an import whose task was lost (see the
// reconciler): its validation round, or every part of its run, under task ids
// of their own (retry names the attempt), at its run_at.
func (o *Owner) Requeue(ctx context.Context, imp sweep.Import, retry string) error {
	var (
		tasks []*asynq.Task
		err   error
	)
	switch imp.Status {
	case sweep.StatusUploaded, sweep.StatusValidating:
		var t *asynq.Task
		t, err = jobs.NewImportValidateTask(imp, retry)
		tasks = []*asynq.Task{t}
	case sweep.StatusQueued, sweep.StatusRunning:
		tasks, err = jobs.RunTasks(imp, retry)
	default:
		return nil
	}
	if err != nil {
		return err
	}
	if err := o.enqueue(ctx, imp, tasks...); err != nil {
		return err
	}
	return o.db.TouchImport(ctx, imp.TenantID, imp.ID)
}

var _ sweep.Queues = (*Owner)(nil)

// QueueStats reads the figures of sweep's queues.
func (o *Owner) QueueStats(ctx context.Context) ([]sweep.QueueStat, error) {
	return jobs.QueueStats(asynq.NewInspectorFromRedisClient(o.rdb))
}
