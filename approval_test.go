package sweep_test

import (
	"strings"
	"testing"

	"github.com/sweephq/sweep"
)

// What one person may delete alone: above the threshold, or past the daily
// limit with what ran without approval already, a second person must
// approve; a request of nothing never needs one; a limit of 0 is none.
func TestApprovalLimitsWhy(t *testing.T) {
	l := sweep.ApprovalLimits{Threshold: 100, Daily: 150}
	for _, c := range []struct {
		rows, recent int64
		want         string // a part of the reason; "" for none
	}{
		{100, 0, ""},
		{101, 0, "more than the tenant's approval threshold of 100"},
		{50, 100, ""},
		{51, 100, "that would be 151, more than the tenant's limit of 150"},
		{0, 200, ""}, // nothing to delete asks nobody, however much ran
	} {
		got := l.Why(c.rows, c.recent)
		if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
			t.Errorf("Why(%d, %d) = %q; want %q", c.rows, c.recent, got, c.want)
		}
	}
	if got := (sweep.ApprovalLimits{}).Why(1_000_000, 1_000_000); got != "" {
		t.Errorf("no limits: Why = %q; want none", got)
	}
}

// A name with no token id reads as the name alone.
func TestWho(t *testing.T) {
	if got := sweep.Who("ops", 0); got != "ops" {
		t.Errorf("Who(ops, 0) = %q", got)
	}
	if got := sweep.Who("ops", 1); got != "ops (token 1)" {
		t.Errorf("Who(ops, 1) = %q", got)
	}
}
