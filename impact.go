package sweep

import (
	"fmt"
	"math"
	"time"
)

// Impact is what starting a validated import will do, for whoever presses
// Start (or approves it) to read first: how many customers go, how many rows
// of each related kind go with them, how many rows of the file are skipped
// and why, about how long it takes, and a few of the customers' ids. It is
// computed when the import validates and kept with the import; it is
// counted again when an approval is asked, and when it is read (or
// approved) while the import is validated or awaits approval and the kept
// one is older than ImpactFreshFor, so an approver never reads, or confirms,
// figures older than that. ComputedAt says when it was counted.
type Impact struct {
	ImportID int64
	// Customers is how many customers the run will delete: the import's ids
	// that still exist and no loan links.
	Customers int64
	// Related counts the rows of the platform's other tables that the run
	// touches, by table and action (deleted, anonymized, detached, kept),
	// in the plan's order, zeros included.
	Related []RelatedCount
	// Skipped counts the rows of the file that delete nothing, by reason
	// (the row error codes: SkipFormat, SkipDuplicate, SkipNotFound,
	// SkipLinked), only the reasons that occur. A valid row whose customer
	// has gone or been linked to a loan since validation counts as
	// not_found or linked_to_loan: the run will skip it.
	Skipped []SkipCount
	// FileError is the import's file-level error. An import with one is
	// rejected and has no impact, so it is empty; it is there so a reader of
	// the figures never has to look elsewhere for why a file went nowhere.
	FileError string
	// Rows is how many rows the run will work through (Customers plus the
	// valid rows it will skip), which EstimatedSeconds is based on.
	Rows int64
	// EstimatedSeconds is Rows at RowsPerSecond, rounded up; Basis says
	// where that speed came from.
	EstimatedSeconds int64
	RowsPerSecond    float64
	Basis            string
	// Sample holds up to ImpactSampleSize of the customers that will go,
	// spread evenly over their ids in increasing order (the first and the
	// last included), so a file that names the wrong range shows it.
	Sample []int64
	// SampleKeys holds the same customers' keys when the platform's key is
	// a uuid or text (Sample is then empty: sweep's numbers for them mean
	// nothing to anyone).
	SampleKeys []string
	ComputedAt time.Time
}

// RelatedCount is how many rows of one related kind ("addresses",
// "phones", …: the table's name without "customer_") go with the customers.
type RelatedCount struct {
	Kind   string // the table, schema.table
	Action string // deleted, anonymized, detached (a kept customer's link to an erased one) or kept
	Rows   int64
}

// SkipCount is how many rows of the file are skipped for one reason.
type SkipCount struct {
	Reason string
	Rows   int64
}

// The reasons a row is skipped: the codes of its row error.
const (
	SkipFormat    = "format"         // the row broke the file format
	SkipDuplicate = "duplicate"      // the id appears on an earlier line
	SkipNotFound  = "not_found"      // no such customer (or no longer)
	SkipLinked    = "linked_to_loan" // a loan links the customer
)

// SkipReasons lists the reasons in the order an Impact shows them.
var SkipReasons = []string{SkipFormat, SkipDuplicate, SkipNotFound, SkipLinked}

// ImpactFreshFor is how old an import's impact may be when someone reads it
// before its run is decided (validated, awaiting approval): an older one is
// counted again. Counting costs about 5 s per million rows, so a reader who
// keeps the page open costs at most that once per this period.
const ImpactFreshFor = 30 * time.Second

// ImpactSampleSize is the most customer ids an Impact shows.
const ImpactSampleSize = 10

// RelatedRows is the total of Related that the run changes (kept rows
// left out).
func (m Impact) RelatedRows() int64 {
	var n int64
	for _, r := range m.Related {
		if r.Action != "kept" {
			n += r.Rows
		}
	}
	return n
}

// SkippedRows is the total of Skipped.
func (m Impact) SkippedRows() int64 {
	var n int64
	for _, s := range m.Skipped {
		n += s.Rows
	}
	return n
}

// ImpactSpeed holds what an estimate of a run's duration is based on.
type ImpactSpeed struct {
	// Measured is the median rows per second of the last Runs completed
	// imports on the database (0 and 0: none completed yet).
	Measured float64
	Runs     int
	// GlobalCap is the cap all runs share (SWEEP_MAX_ROWS_PER_SECOND) and
	// ImportCap the import's own, 0 for none.
	GlobalCap, ImportCap int
}

// DefaultImpactRowsPerSecond is the speed an estimate assumes before any
// import has completed on the database: below the 13,000 to 16,000 rows/s
// that sweep-dev bench measures for a run on two cores, so a first estimate errs
// on the long side.
const DefaultImpactRowsPerSecond = 10_000

// Rate returns the speed to estimate with, the slowest of the measured (or
// default) speed and the caps, and a sentence saying where it came from.
func (s ImpactSpeed) Rate() (float64, string) {
	rate := float64(DefaultImpactRowsPerSecond)
	basis := fmt.Sprintf("a default of %s rows/s: no import has completed here yet", thousands(DefaultImpactRowsPerSecond))
	if s.Runs > 0 && s.Measured > 0 {
		rate = s.Measured
		runs := "the last completed import"
		if s.Runs > 1 {
			runs = fmt.Sprintf("median of the last %d completed imports", s.Runs)
		}
		basis = fmt.Sprintf("%s on this database (%s rows/s)", runs, thousands(int64(math.Round(s.Measured))))
	}
	if s.GlobalCap > 0 && float64(s.GlobalCap) < rate && (s.ImportCap <= 0 || s.GlobalCap <= s.ImportCap) {
		rate = float64(s.GlobalCap)
		basis += fmt.Sprintf(", capped at %s rows/s for all runs (SWEEP_MAX_ROWS_PER_SECOND)", thousands(int64(s.GlobalCap)))
	} else if s.ImportCap > 0 && float64(s.ImportCap) < rate {
		rate = float64(s.ImportCap)
		basis += fmt.Sprintf(", capped at %s rows/s by the import's own max_rows_per_second", thousands(int64(s.ImportCap)))
	}
	return rate, basis
}

// EstimateSeconds is how long rows take at rate rows per second, rounded up
// to a whole second (0 for no rows).
func EstimateSeconds(rows int64, rate float64) int64 {
	if rows <= 0 || rate <= 0 {
		return 0
	}
	return int64(math.Ceil(float64(rows) / rate))
}

// thousands writes n with commas between groups of three digits.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
