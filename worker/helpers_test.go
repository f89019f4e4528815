package worker_test

import (
	"github.com/hibiken/asynq"
	"github.com/sweephq/sweep/store"
)

func asynqTask(typ, payload string) *asynq.Task { return asynq.NewTask(typ, []byte(payload)) }

func storeSeed(t int64, n int) store.SeedOptions {
	return store.SeedOptions{Tenant: t, Customers: n, Seed: 9}
}
