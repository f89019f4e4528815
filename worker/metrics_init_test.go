package worker_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/worker"
)

// A worker that has run nothing yet exports its rows counter, at 0 for every
// outcome: an alert on its rate sees a quiet fleet, and one that exports no
// such series is down (deploy/prometheus/alerts.yml, SweepImportStuck).
func TestRowsCounterIsExportedBeforeAnyRun(t *testing.T) {
	rdb, err := jobs.OpenRedis(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	reg := prometheus.NewRegistry()
	worker.NewServer(rdb, testenv.DB(t), worker.Config{Concurrency: 1, Registry: reg})
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "sweep_rows_processed_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			got[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
		}
	}
	if len(got) != 3 {
		t.Errorf("sweep_rows_processed_total before any run: %v; want the three outcomes at 0", got)
	}
	for o, v := range got {
		if v != 0 {
			t.Errorf("outcome %s = %v before any run", o, v)
		}
	}
}
