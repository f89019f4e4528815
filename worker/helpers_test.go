package worker_test

import (
	"github.com/hibiken/asynq"
	"github.com/sweephq/sweep/internal/devdata"
)

func asynqTask(typ, payload string) *asynq.Task { return asynq.NewTask(typ, []byte(payload)) }

func storeSeed(t int64, n int) devdata.SeedOptions {
	return devdata.SeedOptions{Tenant: t, Customers: n, Seed: 9}
}
