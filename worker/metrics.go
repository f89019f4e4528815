package worker

import (
	"context"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sweephq/sweep/store"
)

// metrics are the worker's Prometheus figures.
type metrics struct {
	customersDeleted prometheus.Counter
	rowsProcessed    *prometheus.CounterVec
	chunkDuration    prometheus.Histogram
	rowsValidated    *prometheus.CounterVec
	validateDuration prometheus.Histogram
	validateRate     prometheus.Gauge
	tasksProcessed   *prometheus.CounterVec
	taskFailures     *prometheus.CounterVec
	taskRetries      *prometheus.CounterVec
	tasksForeign     *prometheus.CounterVec
	lockWaits        prometheus.Counter
	heldSeconds      *prometheus.CounterVec
	pacedSeconds     prometheus.Counter
	cleanupDropped   prometheus.Counter
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		customersDeleted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sweep_customers_deleted_total", Help: "Customers deleted by imports.",
		}),
		rowsProcessed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sweep_rows_processed_total", Help: "Import rows run, by outcome: deleted, skipped_already_deleted, skipped_linked_to_loan.",
		}, []string{"outcome"}),
		chunkDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sweep_chunk_duration_seconds", Help: "Time to delete one chunk of an import in its transaction.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 12), // 10 ms to 20 s
		}),
		rowsValidated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sweep_rows_validated_total", Help: "File rows validated, by result: valid or error.",
		}, []string{"result"}),
		validateDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sweep_validation_duration_seconds", Help: "Time to validate one import.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14), // 50 ms to 7 min
		}),
		validateRate: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sweep_validation_rows_per_second", Help: "Throughput of the last validation this worker finished.",
		}),
		tasksProcessed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sweep_tasks_processed_total", Help: "Tasks this worker ran, by type.",
		}, []string{"type"}),
		taskFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sweep_task_failures_total", Help: "Tasks that returned an error (and will be retried or archived), by type.",
		}, []string{"type"}),
		taskRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sweep_task_retries_total", Help: "Task runs that were retries of a failed or interrupted run, by type.",
		}, []string{"type"}),
		tasksForeign: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sweep_tasks_foreign_total",
			Help: "Tasks dropped without acting because they were not made for the import or policy this database holds under their id, by type and reason: mismatch (another creation time: another deployment on the same Redis DB, or a database restored from a backup), missing (no such import or policy), unproven (an old task that does not say which one it was made for, or whose id does not name what its payload says), unclaimed (a cleanup run the scheduler never claimed).",
		}, []string{"type", "reason"}),
		lockWaits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sweep_chunk_lock_waits_total",
			Help: "Chunks that met a customer locked by another transaction past lock_timeout, were rolled back whole and waited to try again.",
		}),
		heldSeconds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sweep_held_seconds_total",
			Help: "Seconds runs were held, by reason, counted when a hold ends (by the worker whose run went on).",
		}, []string{"reason"}),
		pacedSeconds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sweep_paced_seconds_total",
			Help: "Seconds runs waited between chunks to stay under their own or the global rows-per-second cap.",
		}),
		cleanupDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sweep_cleanup_runs_dropped_total",
			Help: "Claimed cleanup runs that made no batch because their policy changed, was disabled or awaits approval since the claim.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.customersDeleted, m.rowsProcessed, m.chunkDuration, m.rowsValidated, m.validateDuration,
			m.validateRate, m.tasksProcessed, m.taskFailures, m.taskRetries, m.tasksForeign, m.lockWaits,
			m.heldSeconds, m.pacedSeconds, m.cleanupDropped)
	}
	// Every outcome from the start, at 0: a worker that has deleted nothing
	// yet exports the series, so an alert on its rate sees it (and a fleet
	// that exports none at all is down).
	for _, o := range []string{store.OutcomeDeleted, store.OutcomeLinked, store.OutcomeAlreadyDeleted} {
		m.rowsProcessed.WithLabelValues(o)
	}
	return m
}

func (m *metrics) chunk(res store.ChunkResult, took time.Duration) {
	m.chunkDuration.Observe(took.Seconds())
	m.customersDeleted.Add(float64(res.Deleted))
	m.rowsProcessed.WithLabelValues(store.OutcomeDeleted).Add(float64(res.Deleted))
	m.rowsProcessed.WithLabelValues(store.OutcomeLinked).Add(float64(res.Linked))
	m.rowsProcessed.WithLabelValues(store.OutcomeAlreadyDeleted).Add(float64(res.Skipped - res.Linked))
}

func (m *metrics) validation(valid, errors int64, took time.Duration) {
	m.rowsValidated.WithLabelValues("valid").Add(float64(valid))
	m.rowsValidated.WithLabelValues("error").Add(float64(errors))
	m.validateDuration.Observe(took.Seconds())
	if took > 0 {
		m.validateRate.Set(float64(valid+errors) / took.Seconds())
	}
}

// counting wraps every task: runs, retries and failures by task type.
func (m *metrics) counting(next asynq.Handler) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		if n, _ := asynq.GetRetryCount(ctx); n > 0 {
			m.taskRetries.WithLabelValues(t.Type()).Inc()
		}
		m.tasksProcessed.WithLabelValues(t.Type()).Inc()
		err := next.ProcessTask(ctx, t)
		if err != nil {
			m.taskFailures.WithLabelValues(t.Type()).Inc()
		}
		return err
	})
}
