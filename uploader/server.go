// Package uploader is sweep's HTTP side: the JSON API, health and readiness
// checks, and Prometheus metrics. It stores files and enqueues jobs; it never
// deletes customers itself beyond the single-customer API.
package uploader

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/store"
	"github.com/sweephq/sweep/throttle"
)

// Options configures a Server.
type Options struct {
	DB       *store.DB
	Redis    redis.UniversalClient
	Registry *prometheus.Registry // its metrics are served on /metrics; the server adds its own
	Logger   *slog.Logger
	// API adds the /v1 routes and the web page. Without it the server answers
	// only /healthz, /readyz and /metrics, which every sweep process exposes.
	API    bool
	Limits Limits
	// Lifecycle performs every step of an import the API asks for, and
	// Queues reports the queues; both are needed with API.
	Lifecycle sweep.Lifecycle
	Queues    sweep.Queues
	// Throttle's readings are shown by /v1/throttle (nil: only the manual
	// holds); MaxRowsPerSecond is the global cap the workers apply.
	Throttle         *throttle.Checker
	MaxRowsPerSecond int
	// WebhookTargets says which webhook endpoints may be subscribed (https
	// only, no private or link-local address, unless allowed).
	WebhookTargets sweep.WebhookTargets
}

// Limits bound what one request may hold and how many a tenant may have in
// flight. Zero values take the defaults in NewServer.
type Limits struct {
	MaxUploadBytes int64 // largest file
	MaxRows        int64 // most data rows in a file
	// SpoolDir is where uploads wait on disk until they are whole and checked
	// (the system's temporary directory when empty).
	SpoolDir string
	// BodyIdleTimeout cuts a request body that sends nothing for that long.
	BodyIdleTimeout time.Duration
	// TenantRequests is how many API requests one tenant may have in flight;
	// TenantTransfers how many of them may be uploads or CSV downloads, and
	// Transfers how many uploads and downloads all tenants together may have.
	// Past a limit the answer is 429 with Retry-After.
	TenantRequests, TenantTransfers, Transfers int
}

// Default limits.
const (
	DefaultBodyIdleTimeout = 30 * time.Second
	DefaultTenantRequests  = 32
	DefaultTenantTransfers = 4
	DefaultTransfers       = 32
)

// Server serves the HTTP API.
type Server struct {
	api      bool
	limits   Limits
	life     sweep.Lifecycle
	queues   sweep.Queues
	throttle *throttle.Checker
	maxRate  int

	webhookTargets sweep.WebhookTargets
	db             *store.DB
	rdb            redis.UniversalClient
	log            *slog.Logger
	metrics        *prometheus.Registry
	mux            *routeMux
	// queryParams are the query parameters each route takes, by pattern; a
	// route not named takes none (checkRequestLine).
	queryParams map[string][]string

	requestSlots, transferSlots *slots

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewServer returns a Server with the given options.
func NewServer(opt Options) *Server {
	log := opt.Logger
	if log == nil {
		log = slog.Default()
	}
	log = slog.New(requestIDHandler{log.Handler()}) // every line of a request names it
	reg := opt.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s := &Server{api: opt.API, limits: opt.Limits, db: opt.DB, rdb: opt.Redis, log: log, metrics: reg, mux: newRouteMux()}
	if s.limits.MaxUploadBytes <= 0 {
		s.limits.MaxUploadBytes = 1 << 30
	}
	if s.limits.MaxRows <= 0 {
		s.limits.MaxRows = 20_000_000
	}
	s.limits.BodyIdleTimeout = cmp.Or(s.limits.BodyIdleTimeout, DefaultBodyIdleTimeout)
	s.limits.TenantRequests = cmp.Or(s.limits.TenantRequests, DefaultTenantRequests)
	s.limits.TenantTransfers = cmp.Or(s.limits.TenantTransfers, DefaultTenantTransfers)
	s.limits.Transfers = cmp.Or(s.limits.Transfers, DefaultTransfers)
	s.requestSlots = newSlots(s.limits.TenantRequests, 0)
	s.transferSlots = newSlots(s.limits.TenantTransfers, s.limits.Transfers)
	s.life, s.queues = opt.Lifecycle, opt.Queues
	s.throttle, s.maxRate = opt.Throttle, opt.MaxRowsPerSecond
	s.webhookTargets = opt.WebhookTargets
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sweep_http_requests_total",
		Help: "HTTP requests answered, by route pattern and status code.",
	}, []string{"route", "code"})
	s.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "sweep_http_request_duration_seconds",
		Help:    "Time to answer an HTTP request, by route pattern.",
		Buckets: prometheus.DefBuckets,
	}, []string{"route"})
	reg.MustRegister(s.requests, s.duration)
	if s.api && s.db != nil && s.queues != nil {
		reg.MustRegister(newStatusCollector(s))
	}
	s.routes()
	return s
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", s.handleHealthz)
	s.mux.HandleFunc("GET /readyz", s.handleReadyz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics, promhttp.HandlerOpts{Registry: s.metrics}))
	if !s.api {
		return
	}
	read, write, admin := sweep.ScopeImportsRead, sweep.ScopeImportsWrite, sweep.ScopeAdmin
	s.queryParams = map[string][]string{
		"GET /v1/imports":                        {"limit", "before", "cleanup_policy_id", "status", "source", "created_by", "created_after", "created_before"},
		"GET /v1/imports/{id}/errors":            {"format", "limit", "after_line"},
		"POST /v1/cleanup-policies/{id}/preview": {"limit"},
		"GET /v1/webhooks/{id}/deliveries":       {"status", "limit", "before"},
	}
	index, assets := webHandler()
	s.mux.Handle("GET /{$}", index)
	s.mux.Handle("GET /assets/", assets)
	s.mux.HandleFunc("GET /openapi.json", s.handleOpenAPI)
	s.mux.HandleFunc("GET /v1/me", s.requireScope(read, s.handleMe))
	s.mux.HandleFunc("GET /v1/sample.csv", s.handleSample)
	s.mux.HandleFunc("GET /v1/instructions", s.handleInstructions)
	s.mux.HandleFunc("POST /v1/imports", s.requireScope(write, s.transfer(s.handleCreateImport)))
	s.mux.HandleFunc("GET /v1/imports", s.requireScope(read, s.handleListImports))
	s.mux.HandleFunc("GET /v1/imports/{id}", s.requireScope(read, s.handleGetImport))
	s.mux.HandleFunc("DELETE /v1/imports/{id}", s.requireScope(write, s.handleDeleteImport))
	s.mux.HandleFunc("POST /v1/imports/{id}/validate", s.requireScope(write, s.importStep("validation requested", s.validateImport)))
	s.mux.HandleFunc("GET /v1/imports/{id}/errors", s.requireScope(read, s.transfer(s.handleImportErrors)))
	s.mux.HandleFunc("POST /v1/imports/{id}/start", s.requireScope(write, s.handleStartImport))
	s.mux.HandleFunc("POST /v1/imports/{id}/cancel", s.requireScope(write, s.importStep("cancel requested", s.cancelImport)))
	s.mux.HandleFunc("POST /v1/imports/{id}/pause", s.requireScope(write, s.importStep("paused", s.pauseImport)))
	s.mux.HandleFunc("POST /v1/imports/{id}/resume", s.requireScope(write, s.importStep("resumed", s.resumeImport)))
	s.mux.HandleFunc("GET /v1/imports/{id}/results", s.requireScope(read, s.transfer(s.handleImportResults)))
	s.mux.HandleFunc("GET /v1/imports/{id}/impact", s.requireScope(read, s.handleImportImpact))
	s.mux.HandleFunc("PATCH /v1/imports/{id}", s.requireScope(write, s.handleChangeRun))
	s.mux.HandleFunc("GET /v1/imports/{id}/events", s.requireScope(read, s.handleImportEvents))
	s.mux.HandleFunc("POST /v1/imports/{id}/approve", s.requireScope(sweep.ScopeImportsApprove, s.handleApprove))
	s.mux.HandleFunc("POST /v1/imports/{id}/reject", s.requireScope(sweep.ScopeImportsApprove, s.handleReject))
	s.mux.HandleFunc("GET /v1/throttle", s.requireScope(read, s.handleThrottle))
	s.mux.HandleFunc("PUT /v1/throttle/hold", s.requireScope(admin, s.handleHoldRuns))
	s.mux.HandleFunc("DELETE /v1/throttle/hold", s.requireScope(admin, s.handleReleaseRuns))
	s.mux.HandleFunc("DELETE /v1/customers/{id}", s.requireScope(sweep.ScopeCustomersDelete, s.handleDeleteCustomer))
	s.mux.HandleFunc("DELETE "+odataPrefix, s.requireScope(sweep.ScopeCustomersDelete, s.handleODataDelete))
	s.mux.HandleFunc("GET /v1/queues", s.requireScope(admin, s.handleQueues))
	s.mux.HandleFunc("GET /v1/cleanup-policies", s.requireScope(admin, s.handleListPolicies))
	s.mux.HandleFunc("POST /v1/cleanup-policies", s.requireScope(admin, s.handleCreatePolicy))
	s.mux.HandleFunc("GET /v1/cleanup-policies/{id}", s.requireScope(admin, s.handleGetPolicy))
	s.mux.HandleFunc("PATCH /v1/cleanup-policies/{id}", s.requireScope(admin, s.handleUpdatePolicy))
	s.mux.HandleFunc("DELETE /v1/cleanup-policies/{id}", s.requireScope(admin, s.handleDeletePolicy))
	s.mux.HandleFunc("POST /v1/cleanup-policies/{id}/preview", s.requireScope(admin, s.handlePreviewPolicy))
	s.mux.HandleFunc("POST /v1/cleanup-policies/{id}/run-now", s.requireScope(admin, s.handleRunPolicyNow))
	s.mux.HandleFunc("POST /v1/cleanup-policies/{id}/approve", s.requireScope(sweep.ScopeImportsApprove, s.handleApprovePolicy))
	s.mux.HandleFunc("GET /v1/webhooks", s.requireScope(admin, s.handleListWebhooks))
	s.mux.HandleFunc("POST /v1/webhooks", s.requireScope(admin, s.handleCreateWebhook))
	s.mux.HandleFunc("GET /v1/webhooks/{id}", s.requireScope(admin, s.handleGetWebhook))
	s.mux.HandleFunc("PATCH /v1/webhooks/{id}", s.requireScope(admin, s.handleUpdateWebhook))
	s.mux.HandleFunc("DELETE /v1/webhooks/{id}", s.requireScope(admin, s.handleDeleteWebhook))
	s.mux.HandleFunc("POST /v1/webhooks/{id}/rotate-secret", s.requireScope(admin, s.handleRotateWebhookSecret))
	s.mux.HandleFunc("POST /v1/webhooks/{id}/test", s.requireScope(admin, s.handleTestWebhook))
	s.mux.HandleFunc("GET /v1/webhooks/{id}/deliveries", s.requireScope(admin, s.handleWebhookDeliveries))
	s.mux.HandleFunc("POST /v1/webhooks/{id}/deliveries/{delivery}/resend", s.requireScope(admin, s.handleResendDelivery))
	s.mux.HandleFunc("POST /v1/webhooks/{id}/recover", s.requireScope(admin, s.handleRecoverWebhook))
	s.mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		// The path as it came on the wire (percent-encoded, so no markup or
		// control character), cut short.
		s.writeError(w, r, sweep.Errorf(sweep.ENOTFOUND, "There is no route %s %q in the API; GET /openapi.json lists the routes.",
			sweep.SafeValue(r.Method), sweep.SafeValue(r.URL.EscapedPath())))
	})
}

// ServeHTTP serves a request and records its metrics.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	w.Header().Set("X-Content-Type-Options", "nosniff") // browsers take every answer as the type it says
	orig := r
	r = withRequestID(w, r)
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	s.mux.ServeHTTP(rec, r)
	// The route the mux matched, on the request the caller holds too (the
	// one with the id is a copy), for whatever wraps this server.
	orig.Pattern = r.Pattern
	route := r.Pattern
	if route == "" {
		route = "unmatched"
	}
	s.requests.WithLabelValues(route, strconv.Itoa(rec.status)).Inc()
	s.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// handleHealthz answers 200 while the process is alive; it checks nothing else,
// so a database outage does not make an orchestrator restart every replica.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReadyz answers 200 when PostgreSQL and Redis both answer within two
// seconds, and 503 naming the one that does not.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{"postgres": "ok", "redis": "ok"}
	status := http.StatusOK
	if err := s.db.Ping(ctx); err != nil {
		checks["postgres"] = "unreachable"
		status = http.StatusServiceUnavailable
		s.log.Warn("readiness: postgres unreachable", "err", err)
	}
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		checks["redis"] = "unreachable"
		status = http.StatusServiceUnavailable
		s.log.Warn("readiness: redis unreachable", "err", err)
	}
	body := map[string]any{"status": "ok", "checks": checks}
	if status != http.StatusOK {
		body["status"] = "unavailable"
	}
	writeJSON(w, status, body)
}
