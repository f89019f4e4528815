package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/lifecycle"
	"github.com/sweephq/sweep/store"
)

// Reconciler finds imports whose state says a worker holds them but whose
// task is gone from Redis (a flush, a failover, a restart without
// persistence) and enqueues them again. PostgreSQL is the source of truth;
// Redis only carries work.
type Reconciler struct {
	db         *store.DB
	inspector  *asynq.Inspector
	life       *lifecycle.Owner
	log        *slog.Logger
	reenqueued prometheus.Counter
	// Stale is how long an import may go unchanged before its task is looked
	// for. A running import changes with every chunk, so a running import
	// unchanged that long has lost its worker even if Redis still lists the
	// task as active (a worker killed with -9 holds its lease for a while).
	Stale time.Duration
}

// NewReconciler returns a reconciler over db and the Redis of rdb.
// UseLifecycle makes the reconciler queue through the process's lifecycle
// owner (serve's one) rather than its own. It returns r.
func (r *Reconciler) UseLifecycle(o *lifecycle.Owner) *Reconciler {
	r.life = o
	return r
}

func NewReconciler(db *store.DB, rdb redis.UniversalClient, log *slog.Logger, reg *prometheus.Registry) *Reconciler {
	if log == nil {
		log = slog.Default()
	}
	r := &Reconciler{db: db, inspector: asynq.NewInspectorFromRedisClient(rdb), life: lifecycle.New(db, rdb, log), // or UseLifecycle's
		log: log.With("component", "reconciler"), Stale: time.Minute,
		reenqueued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sweep_reconciler_reenqueued_total", Help: "Imports whose lost task the reconciler enqueued again.",
		})}
	if reg != nil {
		reg.MustRegister(r.reenqueued)
	}
	return r
}

// Periodic returns the reconciler as a scheduler job run every interval.
func (r *Reconciler) Periodic(every time.Duration) Periodic {
	return Periodic{Name: "reconcile", Every: every, Run: r.Run}
}

// alive reports whether the task is still waiting or running in Redis.
func (r *Reconciler) alive(queue, taskID string) bool {
	if taskID == "" {
		return false
	}
	info, err := r.inspector.GetTaskInfo(queue, taskID)
	if err != nil {
		return false // not found, or the queue itself is gone
	}
	switch info.State {
	case asynq.TaskStatePending, asynq.TaskStateActive, asynq.TaskStateScheduled, asynq.TaskStateRetry, asynq.TaskStateAggregating:
		return true
	}
	return false
}

// Run checks every stale import once.
func (r *Reconciler) Run(ctx context.Context) error {
	stale, err := r.db.StaleImports(ctx, r.Stale)
	if err != nil {
		return err
	}
	var errs []error
	for _, imp := range stale {
		if err := r.reconcile(ctx, imp); err != nil {
			errs = append(errs, fmt.Errorf("import %d: %w", imp.ID, err))
		}
	}
	return errors.Join(errs...)
}

func (r *Reconciler) reconcile(ctx context.Context, st store.StaleImport) error {
	imp := st.Import
	queue := jobs.ImportQueue(imp)
	alive := false
	switch imp.Status {
	case sweep.StatusUploaded, sweep.StatusValidating:
		alive = r.alive(queue, jobs.ValidateTaskID(imp)) || r.alive(queue, st.TaskID)
	case sweep.StatusQueued:
		alive = r.alive(queue, st.TaskID)
	}
	if alive {
		return r.db.TouchImport(ctx, imp.TenantID, imp.ID)
	}
	if err := r.life.Requeue(ctx, imp, fmt.Sprintf("r%d", time.Now().UnixNano())); err != nil {
		return err
	}
	r.reenqueued.Inc()
	r.log.Warn("task of import was lost; enqueued it again", "import_id", imp.ID, "tenant_id", imp.TenantID,
		"status", imp.Status, "parts", max(imp.Parallelism, 1))
	return nil
}
