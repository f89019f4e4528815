package uploader

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/store"
	"github.com/sweephq/sweep/wire"
)

// handleQueues shows the depth of each queue, for admins: what waits, what
// runs, what is scheduled, retried or archived, and the age of the oldest
// waiting task. The queues are shared by every tenant.
func (s *Server) handleQueues(w http.ResponseWriter, r *http.Request) {
	stats, err := s.queues.QueueStats(r.Context())
	if err != nil {
		s.log.WarnContext(r.Context(), "read the queues", "err", err)
		s.writeError(w, r, sweep.Errorf(sweep.EUNAVAILABLE, "Redis, which holds the queues, did not answer; try again in a moment."))
		return
	}
	var out wire.Queues
	for _, q := range stats {
		out.Queues = append(out.Queues, wire.FromQueueStat(q))
	}
	writeJSON(w, http.StatusOK, out)
}

// statusCollector reports, at each scrape, the imports by state (from
// PostgreSQL) and the queues' sizes and latency (from Redis). The API
// processes report them; every one reports the same figures, so aggregate
// with max().
type statusCollector struct {
	db     *store.DB
	queues sweep.Queues
	log    interface {
		Warn(msg string, args ...any)
	}
	imports, queueSize, queueLatency *prometheus.Desc
}

func newStatusCollector(s *Server) *statusCollector {
	return &statusCollector{
		db: s.db, queues: s.queues, log: s.log,
		imports:      prometheus.NewDesc("sweep_imports", "Imports by state, over all tenants.", []string{"state"}, nil),
		queueSize:    prometheus.NewDesc("sweep_queue_size", "Tasks in a queue, by state.", []string{"queue", "state"}, nil),
		queueLatency: prometheus.NewDesc("sweep_queue_latency_seconds", "Age of the oldest task waiting in a queue.", []string{"queue"}, nil),
	}
}

func (c *statusCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.imports
	ch <- c.queueSize
	ch <- c.queueLatency
}

func (c *statusCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if counts, err := c.db.CountImportsByStatus(ctx); err != nil {
		c.log.Warn("metrics: count imports", "err", err)
	} else {
		for _, st := range sweep.Statuses {
			ch <- prometheus.MustNewConstMetric(c.imports, prometheus.GaugeValue, float64(counts[st]), string(st))
		}
	}
	stats, err := c.queues.QueueStats(ctx)
	if err != nil {
		c.log.Warn("metrics: queue stats", "err", err)
		return
	}
	for _, q := range stats {
		for state, n := range map[string]int{"pending": q.Pending, "active": q.Active, "scheduled": q.Scheduled,
			"retry": q.Retry, "archived": q.Archived, "completed": q.Completed} {
			ch <- prometheus.MustNewConstMetric(c.queueSize, prometheus.GaugeValue, float64(n), q.Queue, state)
		}
		ch <- prometheus.MustNewConstMetric(c.queueLatency, prometheus.GaugeValue, q.Latency.Seconds(), q.Queue)
	}
}
