package wire

import (
	"math"

	"github.com/sweephq/sweep"
)

// QueueStat is one task queue as GET /v1/queues shows it.
type QueueStat struct {
	Queue     string `json:"queue"`
	Size      int    `json:"size"` // pending + active + scheduled + retry + archived
	Pending   int    `json:"pending"`
	Active    int    `json:"active"`
	Scheduled int    `json:"scheduled"`
	Retry     int    `json:"retry"`
	Archived  int    `json:"archived"`
	Completed int    `json:"completed"` // retained after success
	Paused    bool   `json:"paused"`
	// ProcessedToday and FailedToday count tasks since midnight UTC.
	ProcessedToday int `json:"processed_today"`
	FailedToday    int `json:"failed_today"`
	// LatencySeconds is the age of the oldest pending task.
	LatencySeconds float64 `json:"latency_seconds"`
}

// Queues is GET /v1/queues.
type Queues struct {
	Queues []QueueStat `json:"queues"`
}

// FromQueueStat returns the wire format of q.
func FromQueueStat(q sweep.QueueStat) QueueStat {
	return QueueStat{Queue: q.Queue, Size: q.Size, Pending: q.Pending, Active: q.Active, Scheduled: q.Scheduled, Retry: q.Retry,
		Archived: q.Archived, Completed: q.Completed, Paused: q.Paused, ProcessedToday: q.ProcessedToday, FailedToday: q.FailedToday,
		LatencySeconds: math.Round(q.Latency.Seconds()*1000) / 1000}
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
