package worker

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/store"
	"github.com/sweephq/sweep/throttle"
)

// How long a held run waits before it looks again. It waits in the queue,
// not in a worker: the task hands over and holds no slot, no transaction and
// no lock meanwhile. Both are well under the reconciler's minute, and every
// look marks the import as looked after. A run outside its window looks
// again at the opening, or after this or its time slice, whichever comes
// first: a window changed or removed meanwhile takes effect as it would for
// a running import, within its time slice.
const (
	holdRecheck   = 2 * time.Second // a throttle signal or a manual hold
	windowRecheck = 5 * time.Second // outside its window
)

// held says why imp's run must not take a chunk now (nil: it may), and how
// long to wait before looking again.
func (s *Server) held(ctx context.Context, imp sweep.Import) (*sweep.Hold, time.Duration) {
	if imp.CancelRequested {
		return nil, 0 // the next chunk deletes nothing and ends the cancel
	}
	if w := imp.RunWindow; !w.IsZero() {
		now := s.cfg.Now()
		if !w.Contains(now) {
			opens := w.Next(now)
			return &sweep.Hold{Reason: sweep.HoldWindow, Message: w.Describe(now), Until: &opens},
				min(opens.Sub(now), s.cfg.WindowRecheck, s.cfg.TimeSlice)
		}
	}
	if why := s.db.PlanStanding(ctx, imp.TenantID, imp.ID); why != "" {
		return &sweep.Hold{Reason: sweep.HoldPlan, Message: why}, s.cfg.HoldRecheck
	}
	if h := s.cfg.Throttle.Check(ctx, imp.TenantID); h != nil {
		return h, s.cfg.HoldRecheck
	}
	return nil, 0
}

// hold records that imp's run waits, and queues its part's next look.
func (s *Server) hold(ctx context.Context, log *slog.Logger, imp sweep.Import, part int, h *sweep.Hold, wait time.Duration) error {
	ctx = context.WithoutCancel(ctx)
	ok, err := s.db.HoldImport(ctx, imp.TenantID, imp.ID, *h)
	if err != nil {
		return err
	}
	if !ok {
		return nil // paused, cancelled or ended meanwhile: nothing to look at later
	}
	if imp.Hold == nil || imp.Hold.Reason != h.Reason {
		log.Info("run held", "reason", h.Reason, "message", h.Message, "next_look_ms", wait.Milliseconds())
	}
	return s.life.CheckLater(ctx, imp, part, wait)
}

// release records that imp's run goes on after a hold, counting the seconds
// it was held once (whichever part releases it).
func (s *Server) release(ctx context.Context, log *slog.Logger, imp sweep.Import) {
	if imp.Hold == nil {
		return
	}
	h, err := s.db.ReleaseImport(context.WithoutCancel(ctx), imp.TenantID, imp.ID)
	if err != nil {
		log.Warn("end the hold of a run", "err", err) // the next chunk's progress is the truth; the hold is only shown
		return
	}
	if h != nil && h.Ended != nil {
		held := h.Ended.Sub(h.Since)
		s.metrics.heldSeconds.WithLabelValues(string(h.Reason)).Add(held.Seconds())
		log.Info("run goes on after a hold", "reason", h.Reason, "held_seconds", int(held.Seconds()))
	}
}

// pace records the rows a chunk did under the import's own cap and the
// global one, and returns how long the run waits before its next chunk.
func (s *Server) pace(ctx context.Context, log *slog.Logger, imp sweep.Import, rows int) time.Duration {
	var wait time.Duration
	for _, c := range []struct {
		key  string
		rate int
	}{
		{throttle.ImportKey(imp.TenantID, imp.ID), imp.MaxRowsPerSecond},
		{throttle.GlobalKey(), s.cfg.MaxRowsPerSecond},
	} {
		d, err := s.limiter.Done(ctx, c.key, c.rate, rows)
		if err != nil {
			// Without Redis the run cannot hand over either; wait a moment
			// rather than run uncapped.
			log.Warn("pace a run", "err", err)
			d = holdRecheck
		}
		wait = max(wait, d)
	}
	if wait > 0 {
		s.metrics.pacedSeconds.Add(wait.Seconds())
	}
	return wait
}

// heldRuns exports, at each scrape, how many runs are held now by reason,
// over the whole platform (read from the database, so every worker reports
// the same figure: take max(), not sum(), across workers).
type heldRuns struct {
	db   *store.DB
	desc *prometheus.Desc
}

func newHeldRuns(db *store.DB) *heldRuns {
	return &heldRuns{db: db, desc: prometheus.NewDesc("sweep_throttled",
		"Runs (queued or running imports) held now, by reason: replica_lag, database_load, throttle_query, http_check, manual, window. Platform-wide: every worker reports the same figure.",
		[]string{"reason"}, nil)}
}

func (h *heldRuns) Describe(ch chan<- *prometheus.Desc) { ch <- h.desc }

func (h *heldRuns) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := h.db.HeldRuns(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(h.desc, err)
		return
	}
	for _, r := range sweep.HoldReasons {
		ch <- prometheus.MustNewConstMetric(h.desc, prometheus.GaugeValue, float64(counts[r]), string(r))
	}
}
