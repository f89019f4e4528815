package worker

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/sweephq/sweep/store"
)

// Periodic is a piece of work the scheduler runs at a fixed interval.
type Periodic struct {
	Name  string
	Every time.Duration
	Run   func(ctx context.Context) error
}

// Scheduler runs periodic work on exactly one replica at a time. Every replica
// with the scheduler role runs one; they compete for a PostgreSQL lease, and the
// holder is the only one that runs jobs. When it stops or its connection dies,
// another replica takes the lease within LeaseRetry.
type Scheduler struct {
	db         *store.DB
	log        *slog.Logger
	jobs       []Periodic
	leader     atomic.Bool
	LeaseRetry time.Duration // how often a follower tries to take the lease, and the leader checks it
}

// schedulerLease names the lease every scheduler replica competes for.
const schedulerLease = "sweep:scheduler"

// NewScheduler returns a scheduler that will run jobs while it holds the lease.
func NewScheduler(db *store.DB, log *slog.Logger, jobs ...Periodic) *Scheduler {
	if log == nil {
		log = slog.Default()
	}
	return &Scheduler{db: db, log: log.With("component", "scheduler"), jobs: jobs, LeaseRetry: 5 * time.Second}
}

// IsLeader reports whether this replica holds the lease now.
func (s *Scheduler) IsLeader() bool { return s.leader.Load() }

// Run competes for the lease and runs the jobs while holding it, until ctx ends.
func (s *Scheduler) Run(ctx context.Context) {
	for ctx.Err() == nil {
		lease, err := s.db.TryLease(ctx, schedulerLease)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("scheduler lease", "err", err)
		}
		if lease != nil {
			s.lead(ctx, lease)
			lease.Release()
		}
		select {
		case <-ctx.Done():
		case <-time.After(s.LeaseRetry):
		}
	}
}

// lead runs the jobs until ctx ends or the lease is lost.
func (s *Scheduler) lead(ctx context.Context, lease *store.Lease) {
	s.leader.Store(true)
	defer s.leader.Store(false)
	s.log.Info("scheduler is the leader", "jobs", len(s.jobs))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	for _, j := range s.jobs {
		go func() {
			defer func() { done <- struct{}{} }()
			s.loop(ctx, j)
		}()
	}
	check := time.NewTicker(s.LeaseRetry)
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
		case <-check.C:
			if err := lease.Check(ctx); err != nil {
				s.log.Warn("scheduler lost its lease", "err", err)
				cancel()
			} else {
				continue
			}
		}
		for range s.jobs {
			<-done
		}
		return
	}
}

func (s *Scheduler) loop(ctx context.Context, j Periodic) {
	t := time.NewTicker(j.Every)
	defer t.Stop()
	for {
		if err := j.Run(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("periodic job failed", "job", j.Name, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
