package sweep_test

import (
	"testing"

	"github.com/sweephq/sweep"
)

// The speed of an estimate is the slowest of the measured (or default) speed
// and the caps, and its basis says which one it is.
func TestImpactSpeedRate(t *testing.T) {
	tests := []struct {
		name  string
		speed sweep.ImpactSpeed
		rate  float64
		basis string
	}{
		{"nothing measured, no cap", sweep.ImpactSpeed{}, sweep.DefaultImpactRowsPerSecond,
			"a default of 10,000 rows/s: no import has completed here yet"},
		{"nothing measured, the global cap", sweep.ImpactSpeed{GlobalCap: 2000}, 2000,
			"a default of 10,000 rows/s: no import has completed here yet, capped at 2,000 rows/s for all runs (SWEEP_MAX_ROWS_PER_SECOND)"},
		{"measured below the caps", sweep.ImpactSpeed{Measured: 1500.4, Runs: 5, GlobalCap: 2000, ImportCap: 3000}, 1500.4,
			"median of the last 5 completed imports on this database (1,500 rows/s)"},
		{"one run, the import's cap lowest", sweep.ImpactSpeed{Measured: 14000, Runs: 1, GlobalCap: 2000, ImportCap: 500}, 500,
			"the last completed import on this database (14,000 rows/s), capped at 500 rows/s by the import's own max_rows_per_second"},
		{"the global cap lowest", sweep.ImpactSpeed{Measured: 14000, Runs: 3, GlobalCap: 2000, ImportCap: 5000}, 2000,
			"median of the last 3 completed imports on this database (14,000 rows/s), capped at 2,000 rows/s for all runs (SWEEP_MAX_ROWS_PER_SECOND)"},
	}
	for _, tt := range tests {
		rate, basis := tt.speed.Rate()
		if rate != tt.rate || basis != tt.basis {
			t.Errorf("%s: Rate() = %v, %q; want %v, %q", tt.name, rate, basis, tt.rate, tt.basis)
		}
	}
}

func TestEstimateSeconds(t *testing.T) {
	for _, tt := range []struct {
		rows int64
		rate float64
		want int64
	}{{0, 2000, 0}, {1, 2000, 1}, {2000, 2000, 1}, {2001, 2000, 2}, {1_000_000, 2000, 500}, {10, 0, 0}} {
		if got := sweep.EstimateSeconds(tt.rows, tt.rate); got != tt.want {
			t.Errorf("EstimateSeconds(%d, %v) = %d, want %d", tt.rows, tt.rate, got, tt.want)
		}
	}
}
