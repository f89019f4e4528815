// Package jobs is sweep's task contract: the asynq task types, the queues they
// run on, their versioned JSON payloads and constructors, and how to reach the
// Redis that carries them. Upstream Go services use its Client to delete
// customers through sweep and follow the imports that do it:
//
//	client, _ := jobs.NewClient("redis://127.0.0.1:6379/0")
//	id, _ := client.DeleteCustomers(ctx, tenant, ids, jobs.Source("billing-sync"), jobs.IdempotencyKey(key))
//	status, _ := client.Wait(ctx, tenant, id)
package jobs

// Queues, from most to least urgent.
const (
	QueueCritical = "critical" // single deletes and cancellations
	QueueDefault  = "default"  // imports
	QueueLow      = "low"      // scheduled cleanup batches
	QueueWebhooks = "webhooks" // webhook deliveries, taken by slots of their own
)

// QueuePriorities are the weights asynq's weighted priority uses: out of ten
// tasks taken while all queues are busy, about six are critical, three default
// and one low, so no queue ever starves. Webhook deliveries are not among
// them: a worker takes them with slots of their own (SWEEP_WEBHOOK_CONCURRENCY),
// so a slow receiver never holds a slot a deletion needs.
var QueuePriorities = map[string]int{QueueCritical: 6, QueueDefault: 3, QueueLow: 1}

// Task types.
const (
	TypeImportValidate  = "import:validate"
	TypeImportRun       = "import:run"
	TypeCustomersDelete = "customers:delete"
	TypeCleanupRun      = "cleanup:run"
	TypeWebhookDeliver  = "webhook:deliver"
)
