package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"github.com/sweephq/sweep/internal/cmdline"
	"github.com/sweephq/sweep/internal/config"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/lifecycle"
	"github.com/sweephq/sweep/store"
	"github.com/sweephq/sweep/throttle"
	"github.com/sweephq/sweep/uploader"
	"github.com/sweephq/sweep/worker"
)

// The roles a serve process can take, in any mix.
const (
	roleAPI       = "api"
	roleWorker    = "worker"
	roleScheduler = "scheduler"
)

var allRoles = []string{roleAPI, roleWorker, roleScheduler}

func parseRoles(s string) ([]string, error) {
	var roles []string
	for r := range strings.SplitSeq(s, ",") {
		r = strings.ToLower(strings.TrimSpace(r))
		if r == "" {
			continue
		}
		if !slices.Contains(allRoles, r) {
			return nil, cmdline.UsageError{Msg: fmt.Sprintf("serve: unknown role %q; roles are %s", r, strings.Join(allRoles, ", "))}
		}
		if !slices.Contains(roles, r) {
			roles = append(roles, r)
		}
	}
	if len(roles) == 0 {
		return nil, cmdline.UsageError{Msg: "serve: --roles needs at least one of " + strings.Join(allRoles, ", ")}
	}
	return roles, nil
}

// Main is a running `sweep serve`: the adapters it opened and the roles it runs.
type Main struct {
	cfg   config.Config
	log   *slog.Logger
	roles []string

	db        *store.DB // the worker's and scheduler's pool
	apiDB     *store.DB // the API's own pool, so requests can never take the workers' connections
	rdb       redis.UniversalClient
	http      *http.Server
	worker    *worker.Server
	scheduler *worker.Scheduler
	throttle  *throttle.Checker
	stopSched context.CancelFunc
	schedDone sync.WaitGroup
}

func runServe(ctx context.Context, cfg config.Config, log *slog.Logger, args []string) error {
	fs := cmdline.NewFlags("serve")
	rolesFlag := fs.String("roles", strings.Join(allRoles, ","), "comma-separated roles: api, worker, scheduler")
	if err := cmdline.Parse(fs, args); err != nil {
		return err
	}
	roles, err := parseRoles(*rolesFlag)
	if err != nil {
		return err
	}
	m := &Main{cfg: cfg, log: log, roles: roles}
	if err := m.Open(ctx); err != nil {
		m.Close()
		return err
	}
	<-ctx.Done()
	log.Info("shutting down")
	return m.Close()
}

// Open connects to PostgreSQL and Redis and starts the roles.
func (m *Main) Open(ctx context.Context) error {
	// Every session sweep opens is bounded (see store.SessionLimits).
	dbURL, err := store.SessionURL(m.cfg.DatabaseURL, m.cfg.Session)
	if err != nil {
		return fmt.Errorf("SWEEP_DATABASE_URL: %w", err)
	}
	db, err := store.Open(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("%w (is PostgreSQL running? `make services` starts it; SWEEP_DATABASE_URL=%s)", err, config.RedactURL(m.cfg.DatabaseURL))
	}
	m.db = db
	m.db.AuditRelatedCounts = m.cfg.AuditCounts
	m.db.ValidationTimeout = m.cfg.ValidationTimeout
	m.db.SetMaxConns(m.cfg.WorkConns)
	if slices.Contains(m.roles, roleAPI) {
		if m.apiDB, err = store.Open(ctx, dbURL); err != nil {
			return err
		}
		m.apiDB.SetMaxConns(m.cfg.APIConns)
	} else {
		m.apiDB = m.db // health, readiness and metrics only
	}
	if err := m.checkSchema(ctx); err != nil {
		return err
	}
	// The erasure plan, checked against the platform's catalog: a plan that
	// does not cover the schema stops the start, with every reason.
	cp, err := m.db.LoadPlan(ctx, m.cfg.Plan, m.cfg.HashKey)
	if err != nil {
		return fmt.Errorf("the erasure plan (SWEEP_PLAN=%s) does not hold against this database:\n%w\n(sweep plan check prints the same; sweep plan init drafts a plan from the database)", cmp.Or(m.cfg.Plan, "unset: "+store.DemoPlanSource), err)
	}
	if m.apiDB != m.db {
		m.apiDB.UsePlan(cp, m.cfg.HashKey)
	}
	m.log.Info("erasure plan checked", "plan", cmp.Or(m.cfg.Plan, "demo (built in)"), "plan_hash", cp.Plan.Hash[:12], "tables", len(cp.Order()))
	for _, n := range cp.Notes {
		m.log.Info("erasure plan note", "note", n)
	}
	if m.rdb, err = jobs.OpenRedis(m.cfg.RedisURL); err != nil {
		return err
	}
	if err := m.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("connect to Redis at %s: %w (is Redis running? `make services` starts it)", config.RedactURL(m.cfg.RedisURL), err)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "sweep_build_info",
		Help:        "Always 1; its labels say which build and roles run.",
		ConstLabels: prometheus.Labels{"version": version, "roles": strings.Join(m.roles, ",")},
	}, func() float64 { return 1 }))

	// One reader of the throttle signals per process: the workers check it
	// before every chunk, the API shows its readings.
	tcfg := m.cfg.Throttle
	tcfg.Logger = m.log
	if m.throttle, err = throttle.New(m.db, tcfg); err != nil {
		return err
	}
	// One owner of the imports' steps for every role, with the one
	// encoding of the approval settings (SWEEP_APPROVAL_THRESHOLD, 0: never);
	// the API uses it over its own connection pool.
	life := lifecycle.New(m.db, m.rdb, m.log).SetApproval(m.cfg.ApprovalThreshold, m.cfg.ApprovalTTL)
	if slices.Contains(m.roles, roleWorker) {
		m.worker = worker.NewServer(m.rdb, m.db, worker.Config{
			Concurrency: m.cfg.Concurrency, MaxRows: m.cfg.MaxRows, ChunkSize: m.cfg.ChunkSize, ShutdownTimeout: m.cfg.ShutdownTimeout, Logger: m.log,
			TimeSlice: m.cfg.TimeSlice, Registry: reg, Throttle: m.throttle, MaxRowsPerSecond: m.cfg.MaxRowsPerSecond,
			Lifecycle: life, Webhooks: m.cfg.Webhooks,
		})
		if err := m.worker.Start(); err != nil {
			return err
		}
	}
	if slices.Contains(m.roles, roleScheduler) {
		rec := worker.NewReconciler(m.db, m.rdb, m.log, reg).UseLifecycle(life)
		rec.Stale = m.cfg.ReconcileAfter
		cleanup := worker.NewCleanupTrigger(m.db, m.rdb, m.log)
		m.scheduler = worker.NewScheduler(m.db, m.log, rec.Periodic(m.cfg.ReconcileEvery), cleanup.Periodic(m.cfg.CleanupEvery),
			worker.Periodic{Name: "expire-approvals", Every: time.Minute, Run: life.ExpireApprovals},
			worker.Periodic{Name: "prune-webhook-log", Every: time.Hour, Run: func(ctx context.Context) error {
				_, err := m.db.PruneWebhookLog(ctx, store.WebhookLogRetention)
				return err
			}})
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sweep_scheduler_leader",
			Help: "1 while this process holds the scheduler lease and runs periodic work.",
		}, func() float64 {
			if m.scheduler.IsLeader() {
				return 1
			}
			return 0
		}))
		schedCtx, cancel := context.WithCancel(context.Background())
		m.stopSched = cancel
		m.schedDone.Add(1)
		go func() {
			defer m.schedDone.Done()
			m.scheduler.Run(schedCtx)
		}()
	}
	// Every process answers /healthz, /readyz and /metrics; the api role adds the
	// API and the web page. HTTP starts last, so /readyz answers 200 only once
	// everything else is up.
	ln, err := net.Listen("tcp", m.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s (SWEEP_HTTP_ADDR): %w", m.cfg.HTTPAddr, err)
	}
	api := life.With(m.apiDB)
	m.http = &http.Server{
		Handler: uploader.NewServer(uploader.Options{
			DB: m.apiDB, Redis: m.rdb, Registry: reg, Logger: m.log, API: slices.Contains(m.roles, roleAPI),
			Lifecycle: api, Queues: api, Throttle: m.throttle, MaxRowsPerSecond: m.cfg.MaxRowsPerSecond,
			WebhookTargets: m.cfg.Webhooks.Targets,
			Limits: uploader.Limits{MaxUploadBytes: m.cfg.MaxUploadBytes, MaxRows: m.cfg.MaxRows, SpoolDir: m.cfg.SpoolDir,
				BodyIdleTimeout: m.cfg.BodyIdle, TenantRequests: m.cfg.TenantRequests, TenantTransfers: m.cfg.TenantTransfers,
				Transfers: m.cfg.Transfers},
		}),
		ReadHeaderTimeout: 10 * time.Second,
		// A request, its body and its answer included, ends within
		// RequestTimeout however slow the client.
		ReadTimeout:    m.cfg.RequestTimeout,
		WriteTimeout:   m.cfg.RequestTimeout,
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 64 << 10,
	}
	go func() {
		if err := m.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.log.Error("http server", "err", err)
		}
	}()
	m.log.Info("http server listening", "addr", ln.Addr().String())
	m.log.Info("sweep started", "roles", strings.Join(m.roles, ","), "version", version)
	return nil
}

func (m *Main) checkSchema(ctx context.Context) error {
	mig, err := store.NewMigrator(m.db.SQL().DB, m.cfg.Schema)
	if err != nil {
		return err
	}
	pending, err := mig.Pending(ctx)
	if err != nil {
		return err
	}
	if pending {
		return errors.New("the database schema is older than this build: run `sweep migrate up` first")
	}
	return nil
}

// Close stops the roles in order: stop answering HTTP (in-flight requests
// finish), stop taking tasks (running ones commit their chunk), stop the
// scheduler, then close the connections.
func (m *Main) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	if m.http != nil {
		if err := m.http.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop http: %w", err))
		}
		m.log.Info("http server stopped")
	}
	if m.worker != nil {
		m.worker.Shutdown()
	}
	if m.stopSched != nil {
		m.stopSched()
		m.schedDone.Wait()
		m.log.Info("scheduler stopped")
	}
	if m.throttle != nil {
		m.throttle.Close()
	}
	if m.rdb != nil {
		errs = append(errs, m.rdb.Close())
	}
	if m.apiDB != nil && m.apiDB != m.db {
		errs = append(errs, m.apiDB.Close())
	}
	if m.db != nil {
		errs = append(errs, m.db.Close())
	}
	return errors.Join(errs...)
}
