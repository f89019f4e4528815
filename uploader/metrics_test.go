package uploader_test

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sweephq/sweep/uploader"
)

// metric reads one sample from /metrics; a series that is not there fails
// the test, so a check for 0 cannot pass on a metric that vanished.
func (a *api) metric(name string) float64 {
	a.t.Helper()
	v, found := a.sample(name)
	if !found {
		a.t.Fatalf("/metrics has no series %s", name)
	}
	return v
}

// settledMetric reads a series until ok holds of it, for up to 20 s, and
// returns the last value read. A task's counters are recorded when its
// handler returns, which can be a moment after the import it worked on is
// visibly finished: a single read races with that.
func (a *api) settledMetric(name string, ok func(float64) bool) (float64, bool) {
	a.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		v, found := a.sample(name)
		if found && ok(v) {
			return v, true
		}
		if time.Now().After(deadline) {
			return v, found
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (a *api) sample(name string) (float64, bool) {
	a.t.Helper()
	resp, err := http.Get(a.url + "/metrics")
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` ([0-9.e+-]+)$`).FindStringSubmatch(string(b))
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		a.t.Fatalf("%s: %v", name, err)
	}
	return v, true
}

// /metrics follows an import: imports by state, rows validated and run by
// outcome, customers deleted, chunk durations, tasks by type and the queues;
// /v1/queues shows the queues to admins.
func TestMetricsFollowAnImport(t *testing.T) {
	t.Parallel()
	a := newAPIWith(t, uploader.Limits{}, prometheus.NewRegistry())
	if v := a.metric(`sweep_customers_deleted_total`); v != 0 {
		t.Fatalf("deleted before any import = %v", v)
	}
	_, imp := a.upload("action,customerId\nremove,1\nremove,2\nremove,7\nremove,x\n", "auto_start", "false")
	a.waitStatus(imp["id"])
	code, _, body := a.request("POST", "/v1/imports/1/start", nil)
	if code != http.StatusAccepted {
		t.Fatalf("start = %d %s", code, body)
	}
	a.waitFinal(imp["id"])
	for name, want := range map[string]float64{
		`sweep_imports{state="completed_with_errors"}`:                              1,
		`sweep_imports{state="running"}`:                                            0,
		`sweep_rows_validated_total{result="valid"}`:                                2,
		`sweep_rows_validated_total{result="error"}`:                                2,
		`sweep_rows_processed_total{outcome="deleted"}`:                             2,
		`sweep_customers_deleted_total`:                                             2,
		`sweep_tasks_processed_total{type="import:validate"}`:                       1,
		`sweep_queue_size{queue="default",state="pending"}`:                         0,
		`sweep_http_requests_total{code="202",route="POST /v1/imports/{id}/start"}`: 1,
	} {
		if got, found := a.settledMetric(name, func(v float64) bool { return v == want }); !found || got != want {
			t.Errorf("%s = %v (present: %v), want %v", name, got, found, want)
		}
	}
	for _, name := range []string{`sweep_chunk_duration_seconds_count`, `sweep_tasks_processed_total{type="import:run"}`,
		`sweep_queue_size{queue="default",state="completed"}`, `sweep_validation_rows_per_second`} {
		if got, found := a.settledMetric(name, func(v float64) bool { return v > 0 }); !found || got <= 0 {
			t.Errorf("%s = %v (present: %v), want more than 0", name, got, found)
		}
	}

	admin := a.asAdmin()
	code, q := admin.json("GET", "/v1/queues", "")
	if code != http.StatusOK || len(q["queues"].([]any)) != 4 { // critical, default, webhooks, low
		t.Errorf("/v1/queues = %d %v", code, q)
	}
	if code, _ := a.json("GET", "/v1/queues", ""); code != http.StatusForbidden {
		t.Errorf("/v1/queues without admin = %d, want 403", code)
	}
}
