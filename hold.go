package sweep

import (
	"fmt"
	"time"
)

// HoldReason says why a run waits before its next chunk.
type HoldReason string

// The reasons a run is held. The first four are the platform's signals,
// read by every worker before each chunk; any one of them is enough.
const (
	HoldReplicaLag    HoldReason = "replica_lag"    // a replica replays the platform's changes too late, or does not answer
	HoldDatabaseLoad  HoldReason = "database_load"  // too many of the platform's own sessions are busy
	HoldThrottleQuery HoldReason = "throttle_query" // the operator's throttle query returned a number above 0
	HoldHTTPCheck     HoldReason = "http_check"     // the platform's own check answered anything but 200, or nothing in time
	HoldManual        HoldReason = "manual"         // someone held every run (of the tenant, or of the platform)
	HoldWindow        HoldReason = "window"         // the import is outside its run window
	HoldPlan          HoldReason = "plan"           // the platform's schema no longer matches the erasure plan, or the import was validated under another plan
)

// HoldReasons lists every reason, for metrics and documentation.
var HoldReasons = []HoldReason{HoldReplicaLag, HoldDatabaseLoad, HoldThrottleQuery, HoldHTTPCheck, HoldManual, HoldWindow, HoldPlan}

// Hold is why a run waits, in words an operator reads at a glance, e.g.
// "replica lag 3.4 s above 2 s".
type Hold struct {
	Reason  HoldReason
	Message string
	Since   time.Time  // when the run first waited for this reason
	Until   *time.Time // when the wait ends, when it is known (a window's opening)
	Ended   *time.Time // in a hold's history: when the run went on
}

// Text is the hold as one sentence: its message and since when, e.g.
// "replica lag 3.4 s above 2 s since 14:02:10 UTC".
func (h Hold) Text() string {
	if h.Since.IsZero() {
		return h.Message
	}
	return fmt.Sprintf("%s since %s", h.Message, h.Since.UTC().Format("15:04:05 MST"))
}

// MaxRateLimit is the highest rows-per-second cap an import may carry;
// above it a cap would never hold anything back.
const MaxRateLimit = 1_000_000

// CheckRate validates a rows-per-second cap (0: none) and says what to fix.
func CheckRate(n int) error {
	if n < 0 || n > MaxRateLimit {
		return Errorf(EINVALID, "max_rows_per_second must be a whole number from 1 to %d, or 0 for no cap; found %d.", MaxRateLimit, n)
	}
	return nil
}

// RunSettings are what an operator may change about an import's run while it
// is waiting, queued, running or paused: its run window and its rows-per-second
// cap. A nil field is left as it is.
type RunSettings struct {
	RunWindow        *Window
	MaxRowsPerSecond *int // 0 removes the cap
}

// Check validates the settings and says what to fix.
func (s RunSettings) Check() error {
	if s.MaxRowsPerSecond != nil {
		return CheckRate(*s.MaxRowsPerSecond)
	}
	return nil
}

// CanChangeRun reports whether an import in state st takes RunSettings: any
// state before its run ends.
func CanChangeRun(st Status) bool {
	return !st.Terminal()
}
