package testenv

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/lifecycle"
	"github.com/sweephq/sweep/store"
	"github.com/sweephq/sweep/uploader"
	"github.com/sweephq/sweep/worker"
)

// Sweep is a running sweep for a test: a worker taking tasks from the test's
// own Redis DB and, when asked for, the HTTP API, over db.
type Sweep struct {
	Redis redis.UniversalClient
	URL   string // the API's address; empty without it
}

// SweepOptions shape StartSweep.
type SweepOptions struct {
	API      bool
	Limits   uploader.Limits
	Registry *prometheus.Registry // where the worker's and the API's metrics go
	// ChunkSize and TimeSlice configure the worker; 0 keeps its defaults.
	ChunkSize int
	TimeSlice time.Duration
	// Webhooks configures webhook deliveries; nil: TestWebhooks.
	Webhooks *worker.WebhookConfig
	// RedisURL is the Redis the worker takes tasks from (empty: the test's
	// own DB, RedisURL(t)).
	RedisURL string
}

// TestWebhooks is how tests send webhooks: to http receivers on 127.0.0.1,
// retried after 200 ms doubling to 2 s.
func TestWebhooks() worker.WebhookConfig {
	return worker.WebhookConfig{
		Targets: sweep.WebhookTargets{AllowHTTP: true, Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
		Backoff: sweep.WebhookBackoff{Base: 200 * time.Millisecond, Max: 2 * time.Second},
		Poll:    100 * time.Millisecond,
	}
}

// StartSweep starts a worker (two tasks at once, logs discarded) and, with
// opts.API, an API server, all stopped when the test ends.
func StartSweep(t testing.TB, db *store.DB, opts SweepOptions) Sweep {
	t.Helper()
	if opts.RedisURL == "" {
		opts.RedisURL = RedisURL(t)
	}
	rdb, err := jobs.OpenRedis(opts.RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	hooks := TestWebhooks()
	if opts.Webhooks != nil {
		hooks = *opts.Webhooks
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	w := worker.NewServer(rdb, db, worker.Config{Concurrency: 2, MaxRows: opts.Limits.MaxRows, ShutdownTimeout: 5 * time.Second,
		ChunkSize: opts.ChunkSize, TimeSlice: opts.TimeSlice, Logger: quiet, Registry: opts.Registry, Webhooks: hooks})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	s := Sweep{Redis: rdb}
	var srv *httptest.Server
	if opts.API {
		life := lifecycle.New(db, rdb, quiet)
		srv = httptest.NewServer(Contract(t, uploader.NewServer(uploader.Options{DB: db, Redis: rdb, API: true, Limits: opts.Limits, Lifecycle: life, Queues: life,
			Logger: quiet, Registry: opts.Registry, WebhookTargets: hooks.Targets})))
		s.URL = srv.URL
	}
	t.Cleanup(func() {
		if srv != nil {
			srv.Close()
		}
		w.Shutdown()
		rdb.Close()
	})
	return s
}
