package sweep

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Event is one step of an import's timeline: what happened, when, and who
// did it (a token's name, or "sweep" for its own workers). Detail holds
// counts, states and sweep's own sentences, never a customer's data.
type Event struct {
	At     time.Time
	Kind   string // uploaded, validating, validated, impact_computed, rejected, awaiting_approval, approved, approval_rejected, started, running, held, hold_ended, paused, resumed, cancel_requested, cancelled, completed, completed_with_errors, failed, run_changed
	Actor  string
	Detail map[string]any
}

// Text is the event as a sentence for the timeline, e.g. "validated: 2,003
// rows, 1,800 valid, 203 with errors".
func (e Event) Text() string {
	n := func(key DetailKey) string {
		v, _ := e.Detail[string(key)].(float64)
		return Commas(int64(v))
	}
	s := func(key DetailKey) string {
		v, _ := e.Detail[string(key)].(string)
		return v
	}
	// The customers the preview counted when the step was taken, else the
	// valid rows; a token id, when the step names one.
	customers := func() string {
		if _, ok := e.Detail[string(DetailCustomers)]; ok {
			return n(DetailCustomers)
		}
		return n(DetailValidRows)
	}
	token := func(key DetailKey, format string) string {
		if _, ok := e.Detail[string(key)].(float64); !ok {
			return ""
		}
		return fmt.Sprintf(format, strconv.FormatInt(int64(num(e.Detail[string(key)])), 10))
	}
	switch e.Kind {
	case "uploaded":
		return fmt.Sprintf("uploaded (%s, policy %s)", s(DetailSource), s(DetailPolicy))
	case "validating":
		return "validation started"
	case "validated":
		return fmt.Sprintf("validated: %s rows, %s valid, %s with errors", n(DetailTotalRows), n(DetailValidRows), n(DetailErrorRows))
	case "rejected":
		return "rejected: " + s(DetailError)
	case "impact_computed":
		return fmt.Sprintf("impact worked out: %s customers with %s related rows, about %s s", n(DetailCustomers), n(DetailRelatedRows), n(DetailEstimatedSeconds))
	case "awaiting_approval":
		return fmt.Sprintf("approval asked for %s customers, until %s%s", customers(), s(DetailExpiresAt), token(DetailRequestedByToken, " (token %s)"))
	case "approved":
		by := token(DetailApprovedByToken, "token %s")
		if asked := token(DetailRequestedByToken, "asked by token %s"); by != "" && asked != "" {
			by += "; " + asked
		}
		if by != "" {
			by = " (" + by + ")"
		}
		return fmt.Sprintf("approved: %s customers%s", customers(), by)
	case "approval_rejected":
		return "approval refused: " + s(DetailError)
	case "failed":
		return "failed: " + s(DetailError)
	case "started":
		if at := s(DetailRunAt); at != "" {
			return "started, to run at " + at
		}
		return "started"
	case "queued":
		return "queued again"
	case "running":
		return "deletion running"
	case "held":
		return "held: " + s(DetailMessage)
	case "hold_ended":
		return fmt.Sprintf("went on after a hold of %s s (%s)", n(DetailHeldSeconds), strings.ReplaceAll(s(DetailReason), "_", " "))
	case "paused":
		return fmt.Sprintf("paused after %s of %s rows", n(DetailProcessedRows), n(DetailValidRows))
	case "resumed":
		return "resumed"
	case "cancel_requested":
		return fmt.Sprintf("cancel asked after %s of %s rows", n(DetailProcessedRows), n(DetailValidRows))
	case "cancelled":
		return fmt.Sprintf("cancelled: %s deleted, %s rows not processed", n(DetailDeletedRows), Commas(int64(num(e.Detail[string(DetailValidRows)])-num(e.Detail[string(DetailProcessedRows)]))))
	case "completed", "completed_with_errors":
		return fmt.Sprintf("%s: %s deleted, %s skipped, %s with errors", strings.ReplaceAll(e.Kind, "_", " "), n(DetailDeletedRows), n(DetailSkippedRows), n(DetailErrorRows))
	case "run_changed":
		w := s(DetailRunWindow)
		if w == "" {
			w = "any time"
		}
		rate := "no cap of its own"
		if r := num(e.Detail[string(DetailMaxRowsPerSecond)]); r > 0 {
			rate = "at most " + Commas(int64(r)) + " rows/s"
		}
		return fmt.Sprintf("run changed: %s, %s", w, rate)
	}
	return strings.ReplaceAll(e.Kind, "_", " ")
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}

// Commas writes n with thousands separators, as operators read counts:
// 1,800.
func Commas(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
