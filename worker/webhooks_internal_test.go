package worker

import (
	"testing"
	"time"

	"github.com/sweephq/sweep"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for h, want := range map[string]time.Duration{
		"":                              0,
		"0":                             0,
		"120":                           2 * time.Minute,
		"99999999999999999999":          sweep.MaxRetryAfter, // more than int64: capped, not ignored
		"86401":                         sweep.MaxRetryAfter,
		"Thu, 26 Nov 2026 12:05:00 GMT": 5 * time.Minute,
		"Thu, 26 Nov 2026 11:00:00 GMT": 0, // past
		"-5":                            0,
		"soon":                          0,
	} {
		if got := retryAfter(h, now); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", h, got, want)
		}
	}
}
