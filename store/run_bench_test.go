package store_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/devdata"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/store"
)

// BenchmarkRunChunks deletes the same seeded customers (default 30,000;
// SWEEP_BENCH_CUSTOMERS overrides; 10 % linked to a loan) two ways on one
// or two connections: raw, plain DELETEs of 1,000 sorted free ids (the
// reference of `sweep-dev bench`), and import, RunChunk over a validated import
// of every id. It reports customers deleted per second for each, so the
// run loop's overhead is read off one run, without a worker or Redis:
//
//	go test ./store -run '^$' -bench RunChunks -benchtime 1x
func BenchmarkRunChunks(b *testing.B) {
	n := 30_000
	if s := os.Getenv("SWEEP_BENCH_CUSTOMERS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	ctx := context.Background()
	db := testenv.DB(b)
	next := int64(700_000)
	seed := func(b *testing.B) int64 {
		next++
		if _, err := devdata.Seed(ctx, db, devdata.SeedOptions{Tenant: next, Customers: n, LinkedFraction: 0.1, Seed: 2026}); err != nil {
			b.Fatal(err)
		}
		for _, t := range append([]string{"customers", "loan_customers", "deletion_audit", "import_blocks"}, devdata.RelatedTables...) {
			db.SQL().MustExec("VACUUM (ANALYZE) " + t)
		}
		return next
	}
	for _, conns := range []int{1, 2} {
		b.Run(fmt.Sprintf("raw/conns=%d", conns), func(b *testing.B) {
			var deleted, took float64
			for range b.N {
				b.StopTimer()
				tenant := seed(b)
				var free []int64
				if err := db.SQL().SelectContext(ctx, &free, `SELECT id FROM customers c WHERE tenant_id = $1 AND NOT EXISTS
					(SELECT 1 FROM loan_customers l WHERE l.tenant_id = c.tenant_id AND l.customer_id = c.id) ORDER BY id`, tenant); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				parallel(b, conns, func(k int) error {
					for i := k * 1000; i < len(free); i += conns * 1000 {
						if _, err := db.SQL().ExecContext(ctx, `DELETE FROM customers WHERE tenant_id = $1 AND id = ANY($2)`,
							tenant, pq.Array(free[i:min(i+1000, len(free))])); err != nil {
							return err
						}
					}
					return nil
				})
				took += time.Since(start).Seconds()
				deleted += float64(len(free))
			}
			b.ReportMetric(deleted/took, "cust/s")
		})
		b.Run(fmt.Sprintf("import/conns=%d", conns), func(b *testing.B) {
			var deleted, took float64
			for range b.N {
				b.StopTimer()
				tenant := seed(b)
				imp := validated(b, db, tenant, n)
				if _, err := db.StartImport(ctx, tenant, imp.ID, sweep.StartOptions{Parallelism: conns}); err != nil {
					b.Fatal(err)
				}
				if _, err := db.BeginRunning(ctx, tenant, imp.ID); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				parallel(b, conns, func(k int) error {
					from, err := db.PartStart(ctx, tenant, imp.ID, k, conns)
					if err != nil {
						return err
					}
					for {
						res, err := db.RunChunk(ctx, tenant, imp.ID, sweep.SourceUpload, from)
						if err != nil || res.Done {
							return err
						}
					}
				})
				took += time.Since(start).Seconds()
				got, err := db.GetImport(ctx, tenant, imp.ID)
				if err != nil {
					b.Fatal(err)
				}
				if got.ProcessedRows != got.ValidRows {
					b.Fatalf("processed %d of %d rows", got.ProcessedRows, got.ValidRows)
				}
				deleted += float64(got.DeletedRows)
			}
			b.ReportMetric(deleted/took, "cust/s")
		})
	}
}

// parallel runs fn(0) … fn(k-1) at once and fails b on the first error.
func parallel(b *testing.B, k int, fn func(int) error) {
	errs := make([]error, k)
	var wg sync.WaitGroup
	for i := range k {
		wg.Go(func() { errs[i] = fn(i) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
}

// validated makes a validated import of tenant's ids 1..n, as the validate
// task would from a file listing them.
func validated(b *testing.B, db *store.DB, tenant int64, n int) sweep.Import {
	ctx := context.Background()
	imp, _, _, err := db.CreateImportFromIDs(ctx, store.NewImport{TenantID: tenant, Source: sweep.SourceUpload, Policy: sweep.PolicyLine},
		func(add func(int64) error) error { return nil })
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.BeginValidating(ctx, tenant, imp.ID); err != nil {
		b.Fatal(err)
	}
	v, err := db.BeginValidation(ctx, tenant, imp.ID, 1000)
	if err != nil {
		b.Fatal(err)
	}
	for id := range int64(n) {
		if err := v.AddRow(ctx, id+2, id+1); err != nil {
			b.Fatal(err)
		}
	}
	res, err := v.Finish(ctx, sweep.PolicyLine, int64(n), "")
	if err != nil {
		b.Fatal(err)
	}
	if res.Import.Status != sweep.StatusValidated {
		b.Fatalf("import %d is %s: %s", imp.ID, res.Import.Status, res.Import.Error)
	}
	return res.Import
}
