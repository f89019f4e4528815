package uploader_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/lifecycle"
	"github.com/sweephq/sweep/uploader"
)

func get(t *testing.T, srv *httptest.Server, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func newServer(t *testing.T, redisURL string) *httptest.Server {
	t.Helper()
	rdb, err := jobs.OpenRedis(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	db := testenv.DB(t)
	life := lifecycle.New(db, rdb, nil)
	srv := httptest.NewServer(testenv.Contract(t, uploader.NewServer(uploader.Options{DB: db, Redis: rdb, Registry: prometheus.NewRegistry(), API: true,
		Lifecycle: life, Queues: life})))
	t.Cleanup(srv.Close)
	return srv
}

func TestReadyzWhenEverythingAnswers(t *testing.T) {
	t.Parallel()
	srv := newServer(t, testenv.RedisURL(t))
	code, body := get(t, srv, "/readyz")
	if code != http.StatusOK {
		t.Fatalf("GET /readyz = %d %s, want 200", code, body)
	}
	var got map[string]any
	json.Unmarshal([]byte(body), &got)
	want := map[string]any{"status": "ok", "checks": map[string]any{"postgres": "ok", "redis": "ok"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

func TestReadyzWhenRedisIsUnreachable(t *testing.T) {
	t.Parallel()
	// Nothing listens on port 1.
	srv := newServer(t, "redis://127.0.0.1:1/0")
	code, body := get(t, srv, "/readyz")
	if code != http.StatusServiceUnavailable {
		t.Fatalf("GET /readyz = %d, want 503", code)
	}
	var got map[string]any
	json.Unmarshal([]byte(body), &got)
	want := map[string]any{"status": "unavailable", "checks": map[string]any{"postgres": "ok", "redis": "unreachable"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
	// Liveness does not depend on Redis: restarting the process would not help.
	if code, _ := get(t, srv, "/healthz"); code != http.StatusOK {
		t.Errorf("GET /healthz = %d with Redis down, want 200", code)
	}
}

func TestMetricsCountRequests(t *testing.T) {
	t.Parallel()
	srv := newServer(t, testenv.RedisURL(t))
	get(t, srv, "/healthz")
	get(t, srv, "/healthz")
	code, body := get(t, srv, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics = %d", code)
	}
	if want := `sweep_http_requests_total{code="200",route="GET /healthz"} 2`; !strings.Contains(body, want) {
		t.Errorf("/metrics lacks %q:\n%s", want, body)
	}
	if code, body := get(t, srv, "/no/such/page"); code != http.StatusNotFound {
		t.Errorf("GET /no/such/page = %d %s, want 404", code, body)
	}
}
