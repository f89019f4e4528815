package wire

import (
	"math"

	"github.com/sweephq/sweep"
)

// QueueStat is one task queue as GET /v1/queues shows it: the domain's
// figures, and the age of its oldest pending task in seconds.
type QueueStat struct {
	sweep.QueueStat
	LatencySeconds float64 `json:"latency_seconds"`
}

// Queues is GET /v1/queues.
type Queues struct {
	Queues []QueueStat `json:"queues"`
}

// FromQueueStat returns the wire format of q.
func FromQueueStat(q sweep.QueueStat) QueueStat {
	return QueueStat{QueueStat: q, LatencySeconds: math.Round(q.Latency.Seconds()*1000) / 1000}
}

// Instructions are the file format's rules in plain words, for the API
// (GET /v1/instructions) and the page.
type Instructions struct {
	Summary  string            `json:"summary"`
	Columns  map[string]string `json:"columns"`
	Rules    []string          `json:"rules"`
	Policies map[string]string `json:"policies"`
	Checks   []string          `json:"checks"`
	Limits   map[string]int64  `json:"limits"`
	Sample   string            `json:"sample"`
}
