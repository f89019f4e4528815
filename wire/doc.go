// Package wire holds every type that crosses the wire: the HTTP API's
// answers and bodies (imports, impact, events, holds, approvals, cleanup
// policies, webhooks and their deliveries, queues, errors and the table of
// error codes to HTTP statuses), the import status the workers publish to
// Redis (the same Import) and the bodies of webhooks. The API (package
// uploader), package jobs, the workers and the Go client (package client)
// import it; it imports nothing of sweep's but the domain package, so a
// program that only reads sweep's JSON needs nothing else.
//
// The OpenAPI document (uploader/openapi.json) describes these types; a test
// (TestOpenAPISchemasAreTheWireTypes) fails when a schema and its type
// disagree on a member, its JSON type or whether it is always sent.
package wire
