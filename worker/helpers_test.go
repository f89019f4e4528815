package worker_test

import "github.com/hibiken/asynq"

func asynqTask(typ, payload string) *asynq.Task { return asynq.NewTask(typ, []byte(payload)) }
