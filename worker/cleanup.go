package worker

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/store"
)

// CleanupTrigger turns due cleanup policies into cleanup:run tasks on the low
// queue. It runs in the scheduler role, on the replica holding the lease; the
// claim in PostgreSQL and the task ids derived from policy and due time make
// one batch per due time even if two schedulers ran at once.
type CleanupTrigger struct {
	db     *store.DB
	client *asynq.Client
	log    *slog.Logger
}

// NewCleanupTrigger returns a trigger over db that enqueues through rdb.
func NewCleanupTrigger(db *store.DB, rdb redis.UniversalClient, log *slog.Logger) *CleanupTrigger {
	if log == nil {
		log = slog.Default()
	}
	return &CleanupTrigger{db: db, client: asynq.NewClientFromRedisClient(rdb), log: log.With("component", "cleanup")}
}

// Periodic returns the trigger as a scheduler job run every interval.
func (c *CleanupTrigger) Periodic(every time.Duration) Periodic {
	return Periodic{Name: "cleanup", Every: every, Run: c.Run}
}

// undecidedAfter is how long a claimed run may wait for its batch before
// the trigger enqueues its task again (a no-op while Redis still has it).
const undecidedAfter = time.Minute

// Run claims every policy run that is due now and enqueues its task, and
// enqueues again the task of every run claimed before that has made no
// batch yet (its enqueue failed, or Redis lost it).
func (c *CleanupTrigger) Run(ctx context.Context) error {
	enqueue := func(d store.DuePolicy) error {
		t, err := jobs.NewCleanupRunTask(d.TenantID, d.PolicyID, d.PolicyCreated, d.Due, d.Revision)
		if err != nil {
			return err
		}
		if _, err := c.client.EnqueueContext(ctx, t); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			return err
		}
		return nil
	}
	n, err := c.db.ClaimDuePolicies(ctx, time.Now(), func(d store.DuePolicy) error {
		if err := enqueue(d); err != nil {
			return err
		}
		c.log.Info("cleanup policy due", "tenant_id", d.TenantID, "policy_id", d.PolicyID, "due", d.Due)
		return nil
	})
	if n > 0 {
		c.log.Info("cleanup runs enqueued", "count", n)
	}
	undecided, uerr := c.db.UndecidedRuns(ctx, undecidedAfter)
	for _, d := range undecided {
		if e := enqueue(d); e != nil {
			uerr = errors.Join(uerr, e)
		}
	}
	return errors.Join(err, uerr)
}
