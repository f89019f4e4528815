package worker

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/lib/pq"
	"github.com/sweephq/sweep"
)

// A failure is put in words from what kind of error it was, never with the
// error's own text.
func TestFailureReason(t *testing.T) {
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, c := range []struct {
		err         error
		unavailable bool
	}{
		{fmt.Errorf("run chunk: %w", dial), true},
		{fmt.Errorf("begin: %w", driver.ErrBadConn), true},
		{fmt.Errorf("check import 4: %w", &pq.Error{Code: "08006", Message: "connection failure"}), true},
		{fmt.Errorf("check import 4: %w", &pq.Error{Code: "57P01", Message: "terminating connection due to administrator command"}), true},
		{fmt.Errorf("check import 4: %w", &pq.Error{Code: "57014", Message: "canceling statement due to statement timeout"}), true},
		{fmt.Errorf("enqueue: %w", context.DeadlineExceeded), true},
		{sweep.Errorf(sweep.EUNAVAILABLE, "PostgreSQL is unreachable."), true},
		{fmt.Errorf("stage: %w", &pq.Error{Code: "42P01", Message: `relation "import_errors" does not exist`}), false},
		{errors.New("sql: Scan error on column index 0: converting NULL to int64 is unsupported"), false},
	} {
		if got := unavailable(c.err); got != c.unavailable {
			t.Errorf("unavailable(%v) = %v, want %v", c.err, got, c.unavailable)
		}
		for _, phase := range []string{"Validation", "Deletion"} {
			got := failureReason(phase, 11, 42, c.err)
			if strings.Contains(got, "pq:") || strings.Contains(got, "sql:") || strings.Contains(got, "dial tcp") || strings.Contains(got, c.err.Error()) {
				t.Errorf("reason shows the error's text: %s", got)
			}
			want := "an unexpected error"
			if c.unavailable {
				want = "the database or Redis was unavailable"
			}
			if !strings.Contains(got, want) || !strings.Contains(got, "tried 11 times") || !strings.Contains(got, "import id 42") {
				t.Errorf("failureReason(%s, %v) = %q; want it to say %q, the attempts and the import id", phase, c.err, got, want)
			}
		}
	}
}
