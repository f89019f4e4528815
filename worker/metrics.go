package worker

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sweephq/sweep/store"
)

// metrics are the worker's Prometheus figures.
type metrics struct {
	customersDeleted prometheus.Counter
	rowsProcessed    *prometheus.CounterVec
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		customersDeleted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sweep_customers_deleted_total", Help: "Customers deleted by imports.",
		}),
		rowsProcessed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sweep_rows_processed_total", Help: "Import rows run, by outcome.",
		}, []string{"outcome"}),
	}
	if reg != nil {
		reg.MustRegister(m.customersDeleted, m.rowsProcessed)
	}
	return m
}

func (m *metrics) chunk(res store.ChunkResult) {
	m.customersDeleted.Add(float64(res.Deleted))
	m.rowsProcessed.WithLabelValues(store.OutcomeDeleted).Add(float64(res.Deleted))
	m.rowsProcessed.WithLabelValues("skipped").Add(float64(res.Skipped))
}
