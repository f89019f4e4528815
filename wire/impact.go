package wire

import (
	"time"

	"github.com/sweephq/sweep"
)

// Impact is the wire format of an import's impact preview (GET
// /v1/imports/{id}/impact, sweep.Impact): what starting it will delete, what
// it skips and why, and about how long it takes. It is computed when the
// import validates and kept, so everyone who reads it sees the same figures.
type Impact struct {
	ImportID int64 `json:"import_id"`
	// Customers the run will delete, and the related rows that go with them
	// by kind (addresses, phones, …), with their total.
	Customers   int64          `json:"customers"`
	Related     []RelatedCount `json:"related"`
	RelatedRows int64          `json:"related_rows"`
	// Skipped rows of the file by reason (format, duplicate, not_found,
	// linked_to_loan), with their total.
	Skipped     []SkipCount `json:"skipped"`
	SkippedRows int64       `json:"skipped_rows"`
	FileError   string      `json:"file_error,omitempty"`
	// Rows the run works through; EstimatedSeconds is them at
	// RowsPerSecond, whose origin Basis gives in words.
	Rows             int64   `json:"rows"`
	EstimatedSeconds int64   `json:"estimated_seconds"`
	RowsPerSecond    float64 `json:"rows_per_second"`
	Basis            string  `json:"basis"`
	// Sample holds up to ten of the customers' ids, spread over their range.
	Sample []int64 `json:"sample"`
	// SampleKeys holds them by key instead when the platform's customer
	// key is a uuid or text (Sample is then empty).
	SampleKeys []string  `json:"sample_keys,omitempty"`
	ComputedAt time.Time `json:"computed_at"`
}

// RelatedCount is how many rows of one table the run touches, and how.
type RelatedCount struct {
	Kind   string `json:"kind"`
	Action string `json:"action,omitempty"`
	Rows   int64  `json:"rows"`
}

// SkipCount is how many rows of the file are skipped for one reason.
type SkipCount struct {
	Reason string `json:"reason"`
	Rows   int64  `json:"rows"`
}

// FromImpact returns the wire format of m.
func FromImpact(m sweep.Impact) Impact {
	j := Impact{
		ImportID: m.ImportID, Customers: m.Customers, RelatedRows: m.RelatedRows(), SkippedRows: m.SkippedRows(),
		FileError: m.FileError, Rows: m.Rows, EstimatedSeconds: m.EstimatedSeconds, RowsPerSecond: m.RowsPerSecond,
		Basis: m.Basis, Sample: m.Sample, SampleKeys: m.SampleKeys, ComputedAt: m.ComputedAt,
		Related: make([]RelatedCount, 0, len(m.Related)), Skipped: make([]SkipCount, 0, len(m.Skipped)),
	}
	if j.Sample == nil {
		j.Sample = []int64{}
	}
	for _, r := range m.Related {
		j.Related = append(j.Related, RelatedCount{Kind: r.Kind, Action: r.Action, Rows: r.Rows})
	}
	for _, s := range m.Skipped {
		j.Skipped = append(j.Skipped, SkipCount{Reason: s.Reason, Rows: s.Rows})
	}
	return j
}
