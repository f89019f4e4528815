package jobs

import (
	"slices"

	"github.com/hibiken/asynq"
	"github.com/sweephq/sweep"
)

// QueueStat is the state of one of sweep's queues in Redis.
type QueueStat = sweep.QueueStat

// QueueStats reads the queues through inspector; a queue that has
// never held a task reads as empty.
func QueueStats(inspector *asynq.Inspector) ([]QueueStat, error) {
	known, err := inspector.Queues()
	if err != nil {
		return nil, err
	}
	var out []QueueStat
	for _, q := range []string{QueueCritical, QueueDefault, QueueWebhooks, QueueLow} {
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
