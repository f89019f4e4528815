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
	n := func(key string) string {
		v, _ := e.Detail[key].(float64)
		return Commas(int64(v))
	}
	s := func(key string) string {
		v, _ := e.Detail[key].(string)
		return v
	}
	// The customers the preview counted when the step was taken, else the
	// valid rows; a token id, when the step names one.
	customers := func() string {
		if _, ok := e.Detail["customers"]; ok {
			return n("customers")
		}
		return n("valid_rows")
	}
	token := func(key, format string) string {
		if _, ok := e.Detail[key].(float64); !ok {
			return ""
		}
		return fmt.Sprintf(format, strconv.FormatInt(int64(num(e.Detail[key])), 10))
	}
	switch e.Kind {
	case "uploaded":
		return fmt.Sprintf("uploaded (%s, policy %s)", s("source"), s("policy"))
	case "validating":
		return "validation started"
	case "validated":
		return fmt.Sprintf("validated: %s rows, %s valid, %s with errors", n("total_rows"), n("valid_rows"), n("error_rows"))
	case "rejected":
		return "rejected: " + s("error")
	case "impact_computed":
		return fmt.Sprintf("impact worked out: %s customers with %s related rows, about %s s", n("customers"), n("related_rows"), n("estimated_seconds"))
	case "awaiting_approval":
		return fmt.Sprintf("approval asked for %s customers, until %s%s", customers(), s("expires_at"), token("requested_by_token_id", " (token %s)"))
	case "approved":
		by := token("approved_by_token_id", "token %s")
		if asked := token("requested_by_token_id", "asked by token %s"); by != "" && asked != "" {
			by += "; " + asked
		}
		if by != "" {
			by = " (" + by + ")"
		}
		return fmt.Sprintf("approved: %s customers%s", customers(), by)
	case "approval_rejected":
		return "approval refused: " + s("error")
	case "failed":
		return "failed: " + s("error")
	case "started":
		if at := s("run_at"); at != "" {
			return "started, to run at " + at
		}
		return "started"
	case "queued":
		return "queued again"
	case "running":
		return "deletion running"
	case "held":
		return "held: " + s("message")
	case "hold_ended":
		return fmt.Sprintf("went on after a hold of %s s (%s)", n("held_seconds"), strings.ReplaceAll(s("reason"), "_", " "))
	case "paused":
		return fmt.Sprintf("paused after %s of %s rows", n("processed_rows"), n("valid_rows"))
	case "resumed":
		return "resumed"
	case "cancel_requested":
		return fmt.Sprintf("cancel asked after %s of %s rows", n("processed_rows"), n("valid_rows"))
	case "cancelled":
		return fmt.Sprintf("cancelled: %s deleted, %s rows not processed", n("deleted_rows"), Commas(int64(num(e.Detail["valid_rows"])-num(e.Detail["processed_rows"]))))
	case "completed", "completed_with_errors":
		return fmt.Sprintf("%s: %s deleted, %s skipped, %s with errors", strings.ReplaceAll(e.Kind, "_", " "), n("deleted_rows"), n("skipped_rows"), n("error_rows"))
	case "run_changed":
		w := s("run_window")
		if w == "" {
			w = "any time"
		}
		rate := "no cap of its own"
		if r := num(e.Detail["max_rows_per_second"]); r > 0 {
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
