package jobs

import (
	"slices"
	"time"

	"github.com/hibiken/asynq"
)

// QueueStat is the state of one of sweep's queues in Redis.
type QueueStat struct {
	Queue     string        `json:"queue"`
	Size      int           `json:"size"` // pending + active + scheduled + retry + archived
	Pending   int           `json:"pending"`
	Active    int           `json:"active"`
	Scheduled int           `json:"scheduled"`
	Retry     int           `json:"retry"`
	Archived  int           `json:"archived"`
	Completed int           `json:"completed"` // retained after success
	Latency   time.Duration `json:"-"`         // age of the oldest pending task
	Paused    bool          `json:"paused"`
	// ProcessedToday and FailedToday count tasks since midnight UTC.
	ProcessedToday int `json:"processed_today"`
	FailedToday    int `json:"failed_today"`
}

// QueueStats reads the three queues through inspector; a queue that has
// never held a task reads as empty.
func QueueStats(inspector *asynq.Inspector) ([]QueueStat, error) {
	known, err := inspector.Queues()
	if err != nil {
		return nil, err
	}
	var out []QueueStat
	for _, q := range []string{QueueCritical, QueueDefault, QueueLow} {
		if !slices.Contains(known, q) {
			out = append(out, QueueStat{Queue: q})
			continue
		}
		info, err := inspector.GetQueueInfo(q)
		if err != nil {
			return nil, err
		}
		out = append(out, QueueStat{
			Queue: q, Size: info.Size, Pending: info.Pending, Active: info.Active, Scheduled: info.Scheduled,
			Retry: info.Retry, Archived: info.Archived, Completed: info.Completed, Latency: info.Latency,
			Paused: info.Paused, ProcessedToday: info.Processed, FailedToday: info.Failed,
		})
	}
	return out, nil
}
