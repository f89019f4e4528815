// Package sweep is the domain of sweep, the service that deletes customers,
// and everything that belongs to them, from a multi-tenant lending platform:
// imports and their states, the file format and its row errors, validation
// policies, idempotent requests, cleanup policies, error codes, scopes and
// tokens. It imports nothing but the standard library; the adapters are named
// after what they adapt: store (PostgreSQL), jobs and worker (asynq on
// Redis), lifecycle (the steps of an import, with their tasks), uploader (the
// HTTP API) and client (its Go client).
//
// Where to find what:
//
//   - status.go: the import states and the table of legal edges
//     (CanTransition); the database enforces the same table.
//   - error.go: the error codes; client/errors.go maps them to HTTP statuses
//     and worker/outcomes.go to what a task's ending means.
//   - csvfile.go: the file format and its row errors.
//   - idempotency.go: what an idempotency key binds.
//   - lifecycle.go: the Lifecycle interface the HTTP side calls for every step.
package sweep
