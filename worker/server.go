// Package worker runs sweep's background work: the asynq server that takes
// tasks from Redis, and the scheduler that starts periodic work on one replica.
package worker

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/lifecycle"
	"github.com/sweephq/sweep/store"
	"github.com/sweephq/sweep/throttle"
)

// Config sets up a worker Server.
type Config struct {
	Concurrency     int                  // tasks run at once
	MaxRows         int64                // data rows allowed in one file; 0 means no limit
	ChunkSize       int                  // customers deleted per transaction; 0 means 1000
	TimeSlice       time.Duration        // how long a run task works before handing over; 0 means 5s
	Registry        *prometheus.Registry // where the worker's metrics go; nil keeps them private
	ShutdownTimeout time.Duration        // how long a stop waits for running tasks to finish their chunk
	Logger          *slog.Logger

	// Throttle reads the signals and manual holds that hold runs; nil reads
	// only the manual holds.
	Throttle *throttle.Checker
	// MaxRowsPerSecond caps the rows all runs together delete per second,
	// over every worker sharing the Redis (0: no cap).
	MaxRowsPerSecond int
	// Now is the clock run windows are read with; nil means time.Now.
	Now func() time.Time
	// Lifecycle is the process's owner of the imports' steps, with its
	// approval settings (nil: one with sweep's defaults, as tests want).
	Lifecycle *lifecycle.Owner
	// HoldRecheck and WindowRecheck are how long a held run, or one outside
	// its window, waits in the queue before it looks again (0: 2 s and 5 s; a window is looked at again within the time slice in any case).
	HoldRecheck, WindowRecheck time.Duration
	// Webhooks sets how webhook deliveries are sent.
	Webhooks WebhookConfig
}

// Server takes tasks from the queues of package jobs and runs their handlers.
type Server struct {
	srv      *asynq.Server
	hooksSrv *asynq.Server // webhook deliveries, with slots of their own
	hooksMux *asynq.ServeMux
	mux      *asynq.ServeMux
	life     *lifecycle.Owner
	rdb      redis.UniversalClient
	db       *store.DB
	log      *slog.Logger
	cfg      Config
	metrics  *metrics
	limiter  *throttle.Limiter
	hooks    *webhooks
	stopping atomic.Bool
	// stopDispatch ends the webhook dispatcher Start began.
	stopDispatch context.CancelFunc
	dispatched   chan struct{}
}

// NewServer returns a Server that reads tasks through rdb and keeps state in db.
func NewServer(rdb redis.UniversalClient, db *store.DB, cfg Config) *Server {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.ChunkSize <= 0 {
		cfg.ChunkSize = 1000
	}
	if cfg.TimeSlice <= 0 {
		cfg.TimeSlice = 5 * time.Second
	}
	if cfg.Throttle == nil {
		cfg.Throttle, _ = throttle.New(db, throttle.Config{Logger: log}) // no signal: cannot fail
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.HoldRecheck = cmp.Or(cfg.HoldRecheck, holdRecheck)
	cfg.WindowRecheck = cmp.Or(cfg.WindowRecheck, windowRecheck)
	life := cfg.Lifecycle
	if life == nil {
		life = lifecycle.New(db, rdb, log)
	}
	s := &Server{mux: asynq.NewServeMux(), life: life, rdb: rdb, db: db, log: log, cfg: cfg,
		metrics: newMetrics(cfg.Registry), limiter: throttle.NewLimiter(rdb), hooks: newWebhooks(cfg.Webhooks, cfg.Registry)}
	if cfg.Registry != nil {
		cfg.Registry.MustRegister(newHeldRuns(db))
	}
	s.mux.Use(s.metrics.counting)
	s.mux.HandleFunc(jobs.TypeImportValidate, s.publishing(s.settling("Validation", s.handleImportValidate)))
	s.mux.HandleFunc(jobs.TypeImportRun, s.publishing(s.settling("Deletion", s.handleImportRun)))
	s.mux.HandleFunc(jobs.TypeCustomersDelete, s.settling("", s.handleCustomersDelete))
	s.mux.HandleFunc(jobs.TypeCleanupRun, s.settling("", s.handleCleanupRun))
	s.hooksMux = asynq.NewServeMux()
	s.hooksMux.Use(s.metrics.counting)
	s.hooksMux.HandleFunc(jobs.TypeWebhookDeliver, s.handleWebhookDeliver)
	// Webhook attempts wait on receivers, up to 5 s each: they have slots
	// of their own, as many as may be in flight in all, so a slow receiver
	// never holds a slot a deletion needs, nor an event waits in the queue.
	s.hooksSrv = asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency:              s.hooks.cfg.Concurrency,
		Queues:                   map[string]int{jobs.QueueWebhooks: 1},
		TaskCheckInterval:        50 * time.Millisecond,
		DelayedTaskCheckInterval: time.Second,
		ShutdownTimeout:          min(cfg.ShutdownTimeout, webhookLease),
		Logger:                   asynqLogger{log.With("component", "asynq-webhooks")},
		LogLevel:                 asynq.WarnLevel,
		ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) {
			id, _ := asynq.GetTaskID(ctx)
			log.Error("task failed", "task_type", t.Type(), "task_id", id, "err", err)
		}),
	})
	s.srv = asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency: cfg.Concurrency,
		Queues:      jobs.QueuePriorities,
		// An operator watching an upload should not wait a second for an idle
		// worker to notice it; a poll of empty queues every 100 ms is cheap.
		TaskCheckInterval:        100 * time.Millisecond,
		DelayedTaskCheckInterval: time.Second,
		ShutdownTimeout:          cfg.ShutdownTimeout,
		Logger:                   asynqLogger{log.With("component", "asynq")},
		LogLevel:                 asynq.WarnLevel,
		ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) {
			if isForeign(err) {
				return // logged at warn, with both identities, where it was found
			}
			id, _ := asynq.GetTaskID(ctx)
			retried, _ := asynq.GetRetryCount(ctx)
			log.Error("task failed", "task_type", t.Type(), "task_id", id, "retry", retried, "err", err)
		}),
	})
	return s
}

// publishing wraps an import task's handler: whatever the handler did, the
// import's status afterwards is published to Redis for upstream services
// following it (jobs.Client.Wait). Only the import the task was made for is
// published: a task of another deployment or of a database state lost in a
// restore must not publish this database's import under the key its own
// import's followers read.
func (s *Server) publishing(h asynq.HandlerFunc) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		err := h(ctx, t)
		if p, perr := jobs.ParseImportPayload(t.Payload()); perr == nil {
			ctx := context.WithoutCancel(ctx)
			taskID, _ := asynq.GetTaskID(ctx)
			stamp, serr := jobs.ImportTaskStamp(p, t.Type(), taskID)
			if imp, gerr := s.db.GetImport(ctx, p.TenantID, p.ImportID); gerr == nil {
				if serr == nil && p.Owns(imp, stamp) {
					s.publish(ctx, imp)
				}
			} else if sweep.ErrorCode(gerr) != sweep.ENOTFOUND {
				s.log.Warn("publish import status", "import_id", p.ImportID, "tenant_id", p.TenantID, "err", gerr)
			}
		}
		return err
	}
}

// publish writes an import's status to Redis; a failure is logged, never
// fatal: PostgreSQL holds the truth.
func (s *Server) publish(ctx context.Context, imp sweep.Import) {
	if err := jobs.PublishStatus(ctx, s.rdb, imp); err != nil {
		s.log.Warn("publish import status", "import_id", imp.ID, "tenant_id", imp.TenantID, "err", err)
	}
}

// Handler returns the task handler the server runs, for running a task
// directly (tests, tools).
func (s *Server) Handler() asynq.Handler { return s.mux }

// Start begins taking tasks; it returns once the server runs.
func (s *Server) Start() error {
	if err := s.srv.Start(s.mux); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	if err := s.hooksSrv.Start(s.hooksMux); err != nil {
		s.srv.Shutdown()
		return fmt.Errorf("start webhook worker: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stopDispatch, s.dispatched = cancel, make(chan struct{})
	go func() {
		defer close(s.dispatched)
		s.dispatch(ctx)
	}()
	s.log.Info("worker started", "queues", jobs.QueuePriorities)
	return nil
}

// Shutdown stops taking new tasks and waits, up to the configured timeout, for
// running ones: a deletion commits its current chunk and returns. Tasks still
// running after that go back to their queue to be resumed elsewhere.
func (s *Server) Shutdown() {
	s.stopping.Store(true)
	if s.stopDispatch != nil {
		s.stopDispatch()
		<-s.dispatched
	}
	s.hooksSrv.Shutdown()
	s.srv.Shutdown()
	s.log.Info("worker stopped")
}

// isStopping reports whether Shutdown was called: run tasks then hand over
// after the chunk in flight instead of finishing their slice.
func (s *Server) isStopping() bool { return s.stopping.Load() }

// asynqLogger sends asynq's own messages to slog.
type asynqLogger struct{ l *slog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...)) }
func (a asynqLogger) Info(args ...any)  { a.l.Info(fmt.Sprint(args...)) }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...)) }
func (a asynqLogger) Error(args ...any) { a.l.Error(fmt.Sprint(args...)) }
func (a asynqLogger) Fatal(args ...any) { a.l.Error(fmt.Sprint(args...)) }
