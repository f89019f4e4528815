package worker

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/redis/go-redis/v9"
	"github.com/sweephq/sweep"
)

// failureReason is what an import that failed for good tells the tenant: what
// stopped and why in words, what became of their customers, what to do, and
// the id to give support. The error's own text (driver, network, Go) is for
// the log only.
func failureReason(phase string, attempts int, importID int64, err error) string {
	cause := "on an unexpected error"
	if unavailable(err) {
		cause = "because the database or Redis was unavailable"
	}
	tried := fmt.Sprintf("sweep tried %d times and gave up", attempts)
	if attempts == 1 {
		tried = "sweep tried once and gave up"
	}
	if phase == "Validation" {
		return fmt.Sprintf("Validation stopped %s; %s. Nothing was deleted. Upload the file again as a new import; if it fails again, contact support with import id %d.",
			cause, tried, importID)
	}
	return fmt.Sprintf("%s stopped %s; %s. The rows done before it stopped are in the results (GET /v1/imports/%d/results); upload the remaining rows as a new import, or contact support with import id %d.",
		phase, cause, tried, importID, importID)
}

// unavailable reports whether err says a dependency could not be reached or
// did not answer in time, rather than that something is wrong with sweep or
// the data.
func unavailable(err error) bool {
	if sweep.ErrorCode(err) == sweep.EUNAVAILABLE || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, redis.ErrClosed) {
		return true
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return true
	}
	// PostgreSQL's classes 08 (connection exception), 53 (insufficient
	// resources) and 57 (operator intervention: shutdown, statement timeout).
	if st, ok := errors.AsType[interface {
		error
		SQLState() string
	}](err); ok && len(st.SQLState()) == 5 {
		switch st.SQLState()[:2] {
		case "08", "53", "57":
			return true
		}
	}
	return false
}
