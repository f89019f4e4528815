package config

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/store"
	"github.com/sweephq/sweep/throttle"
	"github.com/sweephq/sweep/worker"

	"github.com/google/go-cmp/cmp"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadConfigDefaults(t *testing.T) {
	got, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		// The default URL, with sweep's schema first in the search_path.
		DatabaseURL:     "postgres://sweep:sweep@127.0.0.1:5432/sweep?search_path=sweep%2Cpublic&sslmode=disable",
		Schema:          "sweep",
		RedisURL:        DefaultRedisURL,
		HTTPAddr:        ":8080",
		Concurrency:     4,
		ChunkSize:       1000,
		MaxUploadBytes:  1 << 30,
		MaxRows:         20_000_000,
		LogLevel:        slog.LevelInfo,
		ShutdownTimeout: 30 * time.Second,
		TimeSlice:       5 * time.Second,
		ReconcileEvery:  30 * time.Second,
		ReconcileAfter:  time.Minute,
		CleanupEvery:    15 * time.Second,
		APIConns:        16,
		WorkConns:       16,
		RequestTimeout:  30 * time.Minute,
		BodyIdle:        30 * time.Second,
		TenantRequests:  32,
		TenantTransfers: 4,
		Transfers:       32,
		Session: store.SessionLimits{StatementTimeout: time.Minute, LockTimeout: 2 * time.Second,
			IdleInTransaction: 30 * time.Second, Keepalive: 10 * time.Second},
		ValidationTimeout: time.Hour,
		Throttle:          throttle.Config{MaxReplicaLag: 2 * time.Second, Interval: time.Second},
		MaxRowsPerSecond:  DefaultMaxRowsPerSecond,
		ApprovalThreshold: sweep.DefaultApprovalThreshold,
		ApprovalTTL:       sweep.DefaultApprovalTTL,
		Webhooks: worker.WebhookConfig{DisableAfter: sweep.DefaultWebhookDisableAfter, Concurrency: sweep.DefaultWebhookConcurrency,
			Backoff: sweep.WebhookBackoff{Base: sweep.DefaultWebhookRetryBase, Max: sweep.DefaultWebhookRetryMax}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
}

// The throttle's settings: each signal on by its variable, 0 turning the
// replica lag and the global cap off, and a bad value named.
func TestLoadConfigThrottle(t *testing.T) {
	got, err := Load(env(map[string]string{
		"SWEEP_MAX_REPLICA_LAG":     "1500ms",
		"SWEEP_REPLICA_URLS":        " postgres://r1:5432/sweep , postgresql://u:p@r2/sweep",
		"SWEEP_MAX_ACTIVE_BACKENDS": "40",
		"SWEEP_THROTTLE_QUERY":      "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'",
		"SWEEP_THROTTLE_HTTP_URL":   "https://slo.internal/ok",
		"SWEEP_THROTTLE_INTERVAL":   "250ms",
		"SWEEP_MAX_ROWS_PER_SECOND": "0",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := throttle.Config{MaxReplicaLag: 1500 * time.Millisecond, ReplicaURLs: []string{"postgres://r1:5432/sweep", "postgresql://u:p@r2/sweep"},
		MaxActiveBackends: 40, Query: "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'",
		HTTPURL: "https://slo.internal/ok", Interval: 250 * time.Millisecond}
	if diff := cmp.Diff(want, got.Throttle); diff != "" || got.MaxRowsPerSecond != 0 {
		t.Errorf("throttle settings (-want +got):\n%s; cap %d", diff, got.MaxRowsPerSecond)
	}
	if off, _ := Load(env(map[string]string{"SWEEP_MAX_REPLICA_LAG": "0"})); off.Throttle.MaxReplicaLag != 0 {
		t.Errorf("SWEEP_MAX_REPLICA_LAG=0 leaves %s", off.Throttle.MaxReplicaLag)
	}
	for name, value := range map[string]string{"SWEEP_REPLICA_URLS": "r1:5432", "SWEEP_THROTTLE_HTTP_URL": "slo.internal/ok",
		"SWEEP_MAX_ROWS_PER_SECOND": "-5", "SWEEP_MAX_ACTIVE_BACKENDS": "many", "SWEEP_MAX_REPLICA_LAG": "2"} {
		if _, err := Load(env(map[string]string{name: value})); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: %v; want an error naming it", name, value, err)
		}
	}
}

// SWEEP_SCHEMA names the schema of sweep's own objects: every session sweep
// opens puts it first in the search_path, unless SWEEP_DATABASE_URL sets its
// own search_path.
func TestLoadConfigSchema(t *testing.T) {
	got, err := Load(env(map[string]string{"SWEEP_SCHEMA": " lending_erasure ",
		"SWEEP_DATABASE_URL": "postgres://u:p@db.internal:5432/lending?sslmode=require"}))
	if err != nil {
		t.Fatal(err)
	}
	if want := "postgres://u:p@db.internal:5432/lending?search_path=lending_erasure%2Cpublic&sslmode=require"; got.Schema != "lending_erasure" || got.DatabaseURL != want {
		t.Errorf("schema %q, URL %q; want lending_erasure and %q", got.Schema, got.DatabaseURL, want)
	}
	own := "postgres://u:p@db.internal:5432/lending?search_path=erasure,public"
	if got, err := Load(env(map[string]string{"SWEEP_SCHEMA": "erasure", "SWEEP_DATABASE_URL": own})); err != nil || got.DatabaseURL != own {
		t.Errorf("a URL with its own search_path became %q, %v; want it kept", got.DatabaseURL, err)
	}
}

func TestLoadConfigValues(t *testing.T) {
	got, err := Load(env(map[string]string{
		"SWEEP_DATABASE_URL":     "postgresql://u:p@db.internal:6432/sweep",
		"SWEEP_REDIS_URL":        "rediss://cache.internal:6380/2",
		"SWEEP_HTTP_ADDR":        "127.0.0.1:9000",
		"SWEEP_CONCURRENCY":      "16",
		"SWEEP_CHUNK_SIZE":       " 5000 ",
		"SWEEP_MAX_UPLOAD_BYTES": "1048576",
		"SWEEP_MAX_ROWS":         "1000",
		"SWEEP_LOG_LEVEL":        "DEBUG",
		"SWEEP_LOG_FORMAT":       "json",
		"SWEEP_SHUTDOWN_TIMEOUT": "2m",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got.ChunkSize != 5000 || got.Concurrency != 16 || got.MaxUploadBytes != 1<<20 || got.MaxRows != 1000 ||
		got.LogLevel != slog.LevelDebug || got.LogFormat != "json" || got.ShutdownTimeout != 2*time.Minute ||
		got.HTTPAddr != "127.0.0.1:9000" {
		t.Errorf("LoadConfig = %+v", got)
	}
}

func TestLoadErrorsNameTheVariable(t *testing.T) {
	tests := []struct {
		name, value, want string
	}{
		{"SWEEP_CHUNK_SIZE", "abc", `SWEEP_CHUNK_SIZE: must be a whole number from 1 to 100000; found "abc"`},
		{"SWEEP_CHUNK_SIZE", "0", `SWEEP_CHUNK_SIZE: must be a whole number from 1 to 100000; found "0"`},
		{"SWEEP_CONCURRENCY", "-3", `SWEEP_CONCURRENCY: must be a whole number from 1 to 1000; found "-3"`},
		{"SWEEP_MAX_UPLOAD_BYTES", "10MB", `SWEEP_MAX_UPLOAD_BYTES: must be a whole number`},
		{"SWEEP_DATABASE_URL", "mysql://u:secret@h/db", `SWEEP_DATABASE_URL: must be a URL such as postgres://`},
		{"SWEEP_REDIS_URL", "http://h:6379", `SWEEP_REDIS_URL: must be a URL such as redis://host:6379/0`},
		{"SWEEP_HTTP_ADDR", "8080", `SWEEP_HTTP_ADDR: must be host:port or :port, such as :8080; found "8080"`},
		{"SWEEP_LOG_LEVEL", "loud", `SWEEP_LOG_LEVEL: must be debug, info, warn or error; found "loud"`},
		{"SWEEP_LOG_FORMAT", "xml", `SWEEP_LOG_FORMAT: must be json or text; found "xml"`},
		{"SWEEP_SHUTDOWN_TIMEOUT", "30", `SWEEP_SHUTDOWN_TIMEOUT: must be a positive duration such as 30s or 2m; found "30"`},
		{"SWEEP_SCHEMA", "Sweep", `SWEEP_SCHEMA: must be a plain lower-case SQL identifier such as sweep (letters a to z, digits and _, not starting with a digit or pg_, at most 63 characters); found "Sweep"`},
		{"SWEEP_SCHEMA", "sweep,public", `SWEEP_SCHEMA: must be a plain lower-case SQL identifier such as sweep`},
		{"SWEEP_SCHEMA", "pg_sweep", `SWEEP_SCHEMA: must be a plain lower-case SQL identifier such as sweep`},
		{"SWEEP_SCHEMA", `x"; DROP SCHEMA public; --`, `SWEEP_SCHEMA: must be a plain lower-case SQL identifier such as sweep`},
	}
	for _, tt := range tests {
		_, err := Load(env(map[string]string{tt.name: tt.value}))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s=%q: error = %v, want it to contain %q", tt.name, tt.value, err, tt.want)
		}
	}
	// A password never appears in an error message.
	_, err := Load(env(map[string]string{"SWEEP_DATABASE_URL": "mysql://u:secret@h/db"}))
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("error %v shows the password", err)
	}
	// Several bad values are all reported at once.
	_, err = Load(env(map[string]string{"SWEEP_CHUNK_SIZE": "x", "SWEEP_LOG_LEVEL": "y"}))
	if err == nil || !strings.Contains(err.Error(), "SWEEP_CHUNK_SIZE") || !strings.Contains(err.Error(), "SWEEP_LOG_LEVEL") {
		t.Errorf("error = %v, want both variables named", err)
	}
}

func TestLoadConfigWebhooks(t *testing.T) {
	def, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if def.Webhooks.Targets.AllowHTTP || len(def.Webhooks.Targets.Allow) != 0 || def.Webhooks.DisableAfter != 72*time.Hour ||
		def.Webhooks.Backoff != (sweep.WebhookBackoff{Base: 5 * time.Second, Max: time.Hour}) {
		t.Errorf("webhook defaults = %+v; want https only, no network allowed, 5 s to 1 h, disabled after 72 h", def.Webhooks)
	}
	got, err := Load(env(map[string]string{
		"SWEEP_WEBHOOK_ALLOW_HTTP": "true", "SWEEP_WEBHOOK_ALLOW_NETWORKS": "127.0.0.1, 10.20.0.0/16",
		"SWEEP_WEBHOOK_RETRY_BASE": "1s", "SWEEP_WEBHOOK_RETRY_MAX": "10m", "SWEEP_WEBHOOK_DISABLE_AFTER": "24h",
		"SWEEP_WEBHOOK_CONCURRENCY": "64",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Webhooks.Targets.AllowHTTP || len(got.Webhooks.Targets.Allow) != 2 || got.Webhooks.Targets.Allow[1].String() != "10.20.0.0/16" ||
		got.Webhooks.Backoff.Base != time.Second || got.Webhooks.Backoff.Max != 10*time.Minute || got.Webhooks.DisableAfter != 24*time.Hour || got.Webhooks.Concurrency != 64 {
		t.Errorf("webhook settings = %+v", got.Webhooks)
	}
	for name, value := range map[string]string{"SWEEP_WEBHOOK_ALLOW_HTTP": "sometimes", "SWEEP_WEBHOOK_ALLOW_NETWORKS": "10.0.0.0/33",
		"SWEEP_WEBHOOK_RETRY_BASE": "5", "SWEEP_WEBHOOK_DISABLE_AFTER": "-1h", "SWEEP_WEBHOOK_CONCURRENCY": "0"} {
		if _, err := Load(env(map[string]string{name: value})); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: %v; want an error naming it", name, value, err)
		}
	}
	if _, err := Load(env(map[string]string{"SWEEP_WEBHOOK_RETRY_BASE": "2m", "SWEEP_WEBHOOK_RETRY_MAX": "1m"})); err == nil ||
		!strings.Contains(err.Error(), "SWEEP_WEBHOOK_RETRY_MAX") {
		t.Errorf("a maximum below the base: %v", err)
	}
}
