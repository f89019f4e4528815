// Package config reads sweep's configuration from SWEEP_* environment
// variables, for the server and the development tools alike.
package config

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/cmdline"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/store"
	"github.com/sweephq/sweep/throttle"
	"github.com/sweephq/sweep/worker"
)

// Config is sweep's configuration, read once from SWEEP_* environment variables.
// Every variable has a default that works with `make services` on one machine.
type Config struct {
	// DatabaseURL is SWEEP_DATABASE_URL with search_path set to Schema and
	// then public (store.WithSchema), unless the URL sets its own.
	DatabaseURL       string
	Schema            string              // SWEEP_SCHEMA: the schema of sweep's own tables, functions and triggers
	RedisURL          string              // SWEEP_REDIS_URL
	HTTPAddr          string              // SWEEP_HTTP_ADDR
	Concurrency       int                 // SWEEP_CONCURRENCY: tasks a worker process runs at once
	ChunkSize         int                 // SWEEP_CHUNK_SIZE: customers deleted per transaction
	MaxUploadBytes    int64               // SWEEP_MAX_UPLOAD_BYTES
	MaxRows           int64               // SWEEP_MAX_ROWS: data rows allowed in one file
	LogLevel          slog.Level          // SWEEP_LOG_LEVEL: debug, info, warn or error
	LogFormat         string              // SWEEP_LOG_FORMAT: json or text
	ShutdownTimeout   time.Duration       // SWEEP_SHUTDOWN_TIMEOUT: how long a stop waits for running work
	TimeSlice         time.Duration       // SWEEP_TIME_SLICE: how long a run task works before letting other imports in
	ReconcileEvery    time.Duration       // SWEEP_RECONCILE_INTERVAL: how often the scheduler looks for lost tasks
	ReconcileAfter    time.Duration       // SWEEP_RECONCILE_AFTER: how long an import may go unchanged before its task counts as lost
	CleanupEvery      time.Duration       // SWEEP_CLEANUP_INTERVAL: how often the scheduler looks for due cleanup policies
	AuditCounts       bool                // SWEEP_AUDIT_RELATED_COUNTS: audit rows of imports count related rows by kind
	Plan              string              // SWEEP_PLAN: the erasure plan's file; empty: the demo platform's built-in plan
	HashKey           []byte              // SWEEP_HASH_KEY: the secret of the plan's `hash` anonymization (at least 32 bytes)
	APIConns          int                 // SWEEP_API_DB_CONNS: database connections the API may hold (its own pool)
	WorkConns         int                 // SWEEP_WORKER_DB_CONNS: database connections the worker and scheduler may hold (their own pool)
	RequestTimeout    time.Duration       // SWEEP_HTTP_REQUEST_TIMEOUT: the longest one HTTP request may take, body and answer included
	BodyIdle          time.Duration       // SWEEP_HTTP_BODY_IDLE_TIMEOUT: how long a request body may send nothing
	TenantRequests    int                 // SWEEP_TENANT_REQUESTS: API requests one tenant may have in flight
	TenantTransfers   int                 // SWEEP_TENANT_TRANSFERS: uploads and CSV downloads one tenant may have in flight
	Transfers         int                 // SWEEP_TRANSFERS: uploads and CSV downloads all tenants together may have in flight
	SpoolDir          string              // SWEEP_SPOOL_DIR: where uploads and downloads wait on disk
	Session           store.SessionLimits // SWEEP_STATEMENT_TIMEOUT, SWEEP_LOCK_TIMEOUT, SWEEP_IDLE_IN_TRANSACTION_TIMEOUT, SWEEP_TCP_KEEPALIVE
	ValidationTimeout time.Duration       // SWEEP_VALIDATION_TIMEOUT: statement_timeout of a validation's transactions
	// Throttle is what holds runs: SWEEP_MAX_REPLICA_LAG, SWEEP_REPLICA_URLS,
	// SWEEP_MAX_ACTIVE_BACKENDS, SWEEP_THROTTLE_QUERY, SWEEP_THROTTLE_HTTP_URL,
	// SWEEP_THROTTLE_INTERVAL.
	Throttle         throttle.Config
	MaxRowsPerSecond int // SWEEP_MAX_ROWS_PER_SECOND: all runs together, over every worker (0: no cap)
	// ApprovalThreshold is SWEEP_APPROVAL_THRESHOLD: customers one import may
	// delete without a second person's approval, for tenants without their
	// own (0: never ask); ApprovalTTL is SWEEP_APPROVAL_TTL.
	ApprovalThreshold int64
	ApprovalTTL       time.Duration
	// Webhooks is how webhooks are sent: SWEEP_WEBHOOK_ALLOW_HTTP,
	// SWEEP_WEBHOOK_ALLOW_NETWORKS, SWEEP_WEBHOOK_RETRY_BASE,
	// SWEEP_WEBHOOK_RETRY_MAX, SWEEP_WEBHOOK_DISABLE_AFTER, SWEEP_WEBHOOK_CONCURRENCY.
	Webhooks worker.WebhookConfig
}

// Defaults for the settings.
const (
	DefaultDatabaseURL = "postgres://sweep:sweep@127.0.0.1:5432/sweep?sslmode=disable"
	DefaultRedisURL    = "redis://127.0.0.1:6379/0"
	DefaultHTTPAddr    = ":8080"
	// DefaultMaxRowsPerSecond is the rows all runs together delete per
	// second unless SWEEP_MAX_ROWS_PER_SECOND says otherwise: a pace the
	// platform's own traffic does not notice (see sweep-dev bench --impact).
	DefaultMaxRowsPerSecond = 2000
)

// Error names the variable at fault and says what a good value looks like.
type Error struct {
	Var, Value, Want string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s; found %q", e.Var, e.Want, e.Value)
}

// ForCommand loads the configuration for a command with args. A command
// line that asks for help needs none: a bad configuration then yields the
// defaults, and is reported when the command runs.
func ForCommand(getenv func(string) string, args []string) (Config, error) {
	cfg, err := Load(getenv)
	if err != nil && cmdline.AsksHelp(args) {
		return Load(func(string) string { return "" })
	}
	if err != nil {
		return cfg, fmt.Errorf("configuration:\n%w", err)
	}
	return cfg, nil
}

// Load reads the configuration through getenv (os.Getenv in production)
// and returns every bad value at once, each error naming its variable.
func Load(getenv func(string) string) (Config, error) {
	var errs []error
	bad := func(name, value, want string) {
		errs = append(errs, &Error{Var: name, Value: value, Want: want})
	}
	intVar := func(name string, def, lo, hi int64) int64 {
		s := strings.TrimSpace(getenv(name))
		if s == "" {
			return def
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < lo || n > hi {
			bad(name, s, fmt.Sprintf("must be a whole number from %d to %d", lo, hi))
			return def
		}
		return n
	}

	c := Config{
		DatabaseURL: cmp.Or(strings.TrimSpace(getenv("SWEEP_DATABASE_URL")), DefaultDatabaseURL),
		RedisURL:    cmp.Or(strings.TrimSpace(getenv("SWEEP_REDIS_URL")), DefaultRedisURL),
		HTTPAddr:    cmp.Or(strings.TrimSpace(getenv("SWEEP_HTTP_ADDR")), DefaultHTTPAddr),
	}
	c.Schema = cmp.Or(strings.TrimSpace(getenv("SWEEP_SCHEMA")), store.DefaultSchema)
	schemaOK := store.CheckSchema(c.Schema) == nil
	if !schemaOK {
		bad("SWEEP_SCHEMA", c.Schema, "must be a plain lower-case SQL identifier such as "+store.DefaultSchema+
			" (letters a to z, digits and _, not starting with a digit or pg_, at most 63 characters)")
	}
	if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		bad("SWEEP_DATABASE_URL", RedactURL(c.DatabaseURL), "must be a URL such as postgres://user:password@host:5432/sweep?sslmode=disable")
	} else if schemaOK {
		// Every session sweep opens finds its own tables in Schema and the
		// platform's in public.
		withSchema, err := store.WithSchema(c.DatabaseURL, c.Schema)
		if err != nil {
			bad("SWEEP_DATABASE_URL", RedactURL(c.DatabaseURL), err.Error())
		}
		c.DatabaseURL = cmp.Or(withSchema, c.DatabaseURL)
	}
	if err := jobs.CheckRedisURL(c.RedisURL); err != nil {
		bad("SWEEP_REDIS_URL", RedactURL(c.RedisURL), "must be a URL such as redis://host:6379/0 or redis-sentinel://host1:26379,host2:26379/mymaster?db=0 ("+err.Error()+")")
	}
	if _, port, err := net.SplitHostPort(c.HTTPAddr); err != nil || port == "" {
		bad("SWEEP_HTTP_ADDR", c.HTTPAddr, "must be host:port or :port, such as :8080")
	}
	c.Concurrency = int(intVar("SWEEP_CONCURRENCY", 4, 1, 1000))
	c.ChunkSize = int(intVar("SWEEP_CHUNK_SIZE", 1000, 1, 100_000))
	c.MaxUploadBytes = intVar("SWEEP_MAX_UPLOAD_BYTES", 1<<30, 1, 1<<40)
	c.MaxRows = intVar("SWEEP_MAX_ROWS", 20_000_000, 1, 1_000_000_000)
	c.APIConns = int(intVar("SWEEP_API_DB_CONNS", 16, 2, 1000))
	c.WorkConns = int(intVar("SWEEP_WORKER_DB_CONNS", 16, 2, 1000))
	c.TenantRequests = int(intVar("SWEEP_TENANT_REQUESTS", 32, 1, 100_000))
	c.TenantTransfers = int(intVar("SWEEP_TENANT_TRANSFERS", 4, 1, 10_000))
	c.Transfers = int(intVar("SWEEP_TRANSFERS", 32, 1, 100_000))
	c.SpoolDir = strings.TrimSpace(getenv("SWEEP_SPOOL_DIR"))
	if c.SpoolDir != "" {
		if st, err := os.Stat(c.SpoolDir); err != nil || !st.IsDir() {
			bad("SWEEP_SPOOL_DIR", c.SpoolDir, "must be an existing directory sweep may write to")
		}
	}

	switch s := strings.ToLower(strings.TrimSpace(getenv("SWEEP_LOG_LEVEL"))); s {
	case "", "info":
		c.LogLevel = slog.LevelInfo
	case "debug":
		c.LogLevel = slog.LevelDebug
	case "warn", "warning":
		c.LogLevel = slog.LevelWarn
	case "error":
		c.LogLevel = slog.LevelError
	default:
		bad("SWEEP_LOG_LEVEL", s, "must be debug, info, warn or error")
	}
	switch s := strings.ToLower(strings.TrimSpace(getenv("SWEEP_LOG_FORMAT"))); s {
	case "", "json", "text":
		c.LogFormat = s
	default:
		bad("SWEEP_LOG_FORMAT", s, "must be json or text")
	}
	durVar := func(name string, def time.Duration) time.Duration {
		s := strings.TrimSpace(getenv(name))
		if s == "" {
			return def
		}
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			bad(name, s, "must be a positive duration such as 30s or 2m")
			return def
		}
		return d
	}
	c.ShutdownTimeout = durVar("SWEEP_SHUTDOWN_TIMEOUT", 30*time.Second)
	c.TimeSlice = durVar("SWEEP_TIME_SLICE", 5*time.Second)
	c.ReconcileEvery = durVar("SWEEP_RECONCILE_INTERVAL", 30*time.Second)
	c.ReconcileAfter = durVar("SWEEP_RECONCILE_AFTER", time.Minute)
	c.CleanupEvery = durVar("SWEEP_CLEANUP_INTERVAL", 15*time.Second)
	// Session limits: 0 turns one off (the server's own setting applies).
	offOrDur := func(name string, def time.Duration) time.Duration {
		if s := strings.TrimSpace(getenv(name)); s == "0" {
			return 0
		}
		return durVar(name, def)
	}
	c.Session = store.SessionLimits{
		StatementTimeout:  offOrDur("SWEEP_STATEMENT_TIMEOUT", time.Minute),
		LockTimeout:       offOrDur("SWEEP_LOCK_TIMEOUT", 2*time.Second),
		IdleInTransaction: offOrDur("SWEEP_IDLE_IN_TRANSACTION_TIMEOUT", 30*time.Second),
		Keepalive:         offOrDur("SWEEP_TCP_KEEPALIVE", 10*time.Second),
	}
	c.ValidationTimeout = offOrDur("SWEEP_VALIDATION_TIMEOUT", time.Hour)
	c.RequestTimeout = durVar("SWEEP_HTTP_REQUEST_TIMEOUT", 30*time.Minute)
	c.BodyIdle = durVar("SWEEP_HTTP_BODY_IDLE_TIMEOUT", 30*time.Second)
	c.Throttle = throttle.Config{
		MaxReplicaLag:     offOrDur("SWEEP_MAX_REPLICA_LAG", 2*time.Second),
		MaxActiveBackends: int(intVar("SWEEP_MAX_ACTIVE_BACKENDS", 0, 0, 100_000)),
		Query:             strings.TrimSpace(getenv("SWEEP_THROTTLE_QUERY")),
		HTTPURL:           strings.TrimSpace(getenv("SWEEP_THROTTLE_HTTP_URL")),
		Interval:          durVar("SWEEP_THROTTLE_INTERVAL", time.Second),
	}
	for _, raw := range strings.Split(getenv("SWEEP_REPLICA_URLS"), ",") {
		if raw = strings.TrimSpace(raw); raw == "" {
			continue
		}
		if u, err := url.Parse(raw); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
			bad("SWEEP_REPLICA_URLS", RedactURL(raw), "must be a comma-separated list of URLs such as postgres://user:password@replica1:5432/sweep?sslmode=disable")
			continue
		}
		c.Throttle.ReplicaURLs = append(c.Throttle.ReplicaURLs, raw)
	}
	if u := c.Throttle.HTTPURL; u != "" {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			bad("SWEEP_THROTTLE_HTTP_URL", RedactURL(u), "must be an http:// or https:// URL that answers 200 while sweep may delete")
		}
	}
	c.MaxRowsPerSecond = int(intVar("SWEEP_MAX_ROWS_PER_SECOND", DefaultMaxRowsPerSecond, 0, sweep.MaxRateLimit))
	c.ApprovalThreshold = intVar("SWEEP_APPROVAL_THRESHOLD", sweep.DefaultApprovalThreshold, 0, 1<<40)
	c.ApprovalTTL = durVar("SWEEP_APPROVAL_TTL", sweep.DefaultApprovalTTL)
	if s := strings.TrimSpace(getenv("SWEEP_WEBHOOK_ALLOW_HTTP")); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			bad("SWEEP_WEBHOOK_ALLOW_HTTP", s, "must be true or false")
		}
		c.Webhooks.Targets.AllowHTTP = b
	}
	if s := getenv("SWEEP_WEBHOOK_ALLOW_NETWORKS"); strings.TrimSpace(s) != "" {
		nets, err := sweep.ParseNetworks(s)
		if err != nil {
			bad("SWEEP_WEBHOOK_ALLOW_NETWORKS", s, "must be a comma-separated list of networks or addresses such as 10.20.0.0/16,127.0.0.1 ("+err.Error()+")")
		}
		c.Webhooks.Targets.Allow = nets
	}
	c.Webhooks.Backoff = sweep.WebhookBackoff{
		Base: durVar("SWEEP_WEBHOOK_RETRY_BASE", sweep.DefaultWebhookRetryBase),
		Max:  durVar("SWEEP_WEBHOOK_RETRY_MAX", sweep.DefaultWebhookRetryMax),
	}
	if c.Webhooks.Backoff.Max < c.Webhooks.Backoff.Base {
		bad("SWEEP_WEBHOOK_RETRY_MAX", c.Webhooks.Backoff.Max.String(), "must be at least SWEEP_WEBHOOK_RETRY_BASE ("+c.Webhooks.Backoff.Base.String()+")")
	}
	c.Webhooks.DisableAfter = durVar("SWEEP_WEBHOOK_DISABLE_AFTER", sweep.DefaultWebhookDisableAfter)
	c.Webhooks.Concurrency = int(intVar("SWEEP_WEBHOOK_CONCURRENCY", sweep.DefaultWebhookConcurrency, 1, 10_000))
	if s := strings.TrimSpace(getenv("SWEEP_AUDIT_RELATED_COUNTS")); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			bad("SWEEP_AUDIT_RELATED_COUNTS", s, "must be true or false")
		}
		c.AuditCounts = b
	}
	c.Plan = strings.TrimSpace(getenv("SWEEP_PLAN"))
	if k := getenv("SWEEP_HASH_KEY"); k != "" {
		if len(k) < 32 {
			bad("SWEEP_HASH_KEY", "(hidden)", "must be at least 32 characters, such as the output of `openssl rand -hex 32`")
		}
		c.HashKey = []byte(k)
	}
	return c, errors.Join(errs...)
}

// redactURL hides a password in a URL so it can be printed.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(an unparsable URL)"
	}
	return u.Redacted()
}
