package plan_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/sweephq/sweep/internal/devdata"
	"github.com/sweephq/sweep/plan"
)

// BenchmarkRestrictPlan erases examples/restrict's clients in chunks of
// 1,000, each chunk one transaction: by hand-written SQL (devdata.RestrictByHand) and
// by the plan. It reports customers per second of each, from the same run:
//
//	go test ./plan -run '^$' -bench RestrictPlan -benchtime 2x
func BenchmarkRestrictPlan(b *testing.B) {
	n := 20_000
	if s := os.Getenv("SWEEP_BENCH_CUSTOMERS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	ctx := context.Background()
	db, p := platform(b, "restrict")
	cp, err := plan.Check(ctx, db, p, plan.Options{HashKey: hashKey})
	if err != nil {
		b.Fatal(err)
	}
	tenant := 0
	run := func(b *testing.B, chunk func(tx *sql.Tx, tenant int, ids []int64) error) {
		var done, took float64
		for range b.N {
			b.StopTimer()
			tenant++
			if err := devdata.SeedRestrict(ctx, db, tenant, n); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			rate, err := devdata.EraseInChunks(ctx, db, tenant, n, 1000, func(tx *sql.Tx, ids []int64) error { return chunk(tx, tenant, ids) })
			if err != nil {
				b.Fatal(err)
			}
			took += float64(n) / rate
			done += float64(n)
		}
		b.ReportMetric(done/took, "cust/s")
	}
	for round := range 2 {
		b.Run(fmt.Sprintf("hand-written/%d", round), func(b *testing.B) {
			run(b, func(tx *sql.Tx, tenant int, ids []int64) error {
				return devdata.RestrictByHand(ctx, tx, tenant, ids, hashKey)
			})
		})
		b.Run(fmt.Sprintf("plan/%d", round), func(b *testing.B) {
			run(b, func(tx *sql.Tx, tenant int, ids []int64) error {
				_, err := cp.EraseUnlocked(ctx, tx, int64(tenant), ids, false)
				return err
			})
		})
	}
}
