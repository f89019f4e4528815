package store_test

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/devdata"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/store"
)

// validatedIDs makes a validated import of tenant's customers first..last,
// as the validate task would from a file that lists them.
func validatedIDs(tb testing.TB, db *store.DB, tenant, first, last int64) sweep.Import {
	tb.Helper()
	ctx := context.Background()
	imp, _, _, err := db.CreateImportFromIDs(ctx, store.NewImport{TenantID: tenant, Source: sweep.SourceUpload, Policy: sweep.PolicyLine},
		func(add func(int64) error) error { return nil })
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := db.BeginValidating(ctx, tenant, imp.ID); err != nil {
		tb.Fatal(err)
	}
	v, err := db.BeginValidation(ctx, tenant, imp.ID, 1000)
	if err != nil {
		tb.Fatal(err)
	}
	for id := first; id <= last; id++ {
		if err := v.AddRow(ctx, id-first+2, id); err != nil {
			tb.Fatal(err)
		}
	}
	res, err := v.Finish(ctx, sweep.PolicyLine, last-first+1, "")
	if err != nil {
		tb.Fatal(err)
	}
	if res.Import.Status != sweep.StatusValidated {
		tb.Fatalf("import %d is %s: %s", imp.ID, res.Import.Status, res.Import.Error)
	}
	return res.Import
}

// An impact exists only for an import that passed validation, for its own
// tenant; it counts a customer deleted or linked to a loan since validation
// as skipped, as the run will; it is kept as first computed; and it goes
// with its import.
func TestImpactStatesTenantsAndChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testenv.DB(t)
	const tenant, other = 5200243, 5200244
	for _, tn := range []int64{tenant, other} {
		if _, err := devdata.Seed(ctx, db, devdata.SeedOptions{Tenant: tn, Customers: 60, Seed: 3}); err != nil {
			t.Fatal(err)
		}
	}

	uploaded, _, err := db.CreateImport(ctx, sweep.NewImport{TenantID: tenant, Source: sweep.SourceUpload, Policy: sweep.PolicyLine},
		strings.NewReader("action,customerId\nremove,1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ComputeImpact(ctx, tenant, uploaded.ID, 0); sweep.ErrorCode(err) != sweep.ECONFLICT || !strings.Contains(sweep.ErrorMessage(err), "uploaded") {
		t.Errorf("impact of an uploaded import: %v; want a conflict naming its state", err)
	}
	if _, err := db.Impact(ctx, tenant, uploaded.ID); sweep.ErrorCode(err) != sweep.ENOTFOUND {
		t.Errorf("kept impact of an uploaded import: %v; want not found", err)
	}

	imp := validatedIDs(t, db, tenant, 1, 40)
	for _, call := range []func() error{
		func() error { _, err := db.ComputeImpact(ctx, other, imp.ID, 0); return err },
		func() error { _, err := db.Impact(ctx, other, imp.ID); return err },
	} {
		if err := call(); sweep.ErrorCode(err) != sweep.ENOTFOUND {
			t.Errorf("another tenant's import: %v; want not found", err)
		}
	}
	// Since validation, customer 3 was deleted and customer 4 linked to a loan.
	db.SQL().MustExec(`DELETE FROM customers WHERE tenant_id = $1 AND id = 3`, tenant)
	db.SQL().MustExec(`INSERT INTO loans (tenant_id, id, principal_cents) VALUES ($1, 9000, 1000)`, tenant)
	db.SQL().MustExec(`INSERT INTO loan_customers (tenant_id, loan_id, customer_id) VALUES ($1, 9000, 4)`, tenant)

	m, err := db.ComputeImpact(ctx, tenant, imp.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	var related []sweep.RelatedCount
	for _, table := range devdata.RelatedTables {
		n := int64(38)
		if table == "customer_phones" || table == "customer_references" {
			n = 76
		}
		related = append(related, sweep.RelatedCount{Kind: "public." + table, Action: "deleted", Rows: n})
	}
	want := sweep.Impact{
		ImportID: imp.ID, Customers: 38, Rows: 40, Related: related,
		Skipped:          []sweep.SkipCount{{Reason: sweep.SkipNotFound, Rows: 1}, {Reason: sweep.SkipLinked, Rows: 1}},
		EstimatedSeconds: 4, RowsPerSecond: 10,
		Basis:  "a default of 10,000 rows/s: no import has completed here yet, capped at 10 rows/s for all runs (SWEEP_MAX_ROWS_PER_SECOND)",
		Sample: []int64{2, 8, 12, 16, 20, 23, 27, 31, 35, 39}, // of 1, 2, 5, 6, …, 40
	}
	if diff := cmp.Diff(want, m, cmpIgnoreComputedAt); diff != "" {
		t.Errorf("impact (-want +got):\n%s", diff)
	}
	if time.Since(m.ComputedAt) > time.Minute {
		t.Errorf("computed at %v", m.ComputedAt)
	}

	// Kept: read back, or computed again after more changes, it is the same.
	db.SQL().MustExec(`DELETE FROM customers WHERE tenant_id = $1 AND id = 5`, tenant)
	for name, get := range map[string]func() (sweep.Impact, error){
		"Impact":        func() (sweep.Impact, error) { return db.Impact(ctx, tenant, imp.ID) },
		"ComputeImpact": func() (sweep.Impact, error) { return db.ComputeImpact(ctx, tenant, imp.ID, 0) },
	} {
		got, err := get()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(m, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
			t.Errorf("%s after a change (-first +now):\n%s", name, diff)
		}
	}

	// The impact goes with its import.
	if err := db.DeleteImport(ctx, tenant, imp.ID); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := db.SQL().Get(&left, `SELECT count(*) FROM import_impacts WHERE import_id = $1`, imp.ID); err != nil || left != 0 {
		t.Errorf("impacts left of a deleted import: %d (%v)", left, err)
	}
}

var cmpIgnoreComputedAt = cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".ComputedAt" }, cmp.Ignore())

// The sample is one id from the middle of each tenth of the customers, so
// it always holds min(n, 10) distinct ids in increasing order.
func TestImpactSampleSizes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testenv.DB(t)
	const tenant = 5200243
	if _, err := devdata.SeedBare(ctx, db, tenant, 200); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int64{1, 2, 9, 10, 11, 12, 19, 20, 21, 199} {
		m, err := db.ComputeImpact(ctx, tenant, validatedIDs(t, db, tenant, 1, n).ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		distinct := len(slices.Compact(slices.Clone(m.Sample)))
		if len(m.Sample) != int(min(n, 10)) || distinct != len(m.Sample) || !slices.IsSorted(m.Sample) || m.Sample[0] < 1 || m.Sample[len(m.Sample)-1] > n {
			t.Errorf("%d customers: sample %v", n, m.Sample)
		}
	}
}

// BenchmarkComputeImpact computes the impact of a validated import of every
// one of a tenant's customers (default 30,000; SWEEP_BENCH_CUSTOMERS
// overrides; 13 related rows each, 10 % linked to a loan and so left out by
// validation) and reports the file's rows per second:
//
//	go test ./store -run '^$' -bench ComputeImpact -benchtime 3x
func BenchmarkComputeImpact(b *testing.B) {
	n := 30_000
	if s := os.Getenv("SWEEP_BENCH_CUSTOMERS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	ctx := context.Background()
	db := testenv.DB(b)
	const tenant = 5200243
	if _, err := devdata.Seed(ctx, db, devdata.SeedOptions{Tenant: tenant, Customers: n, LinkedFraction: 0.1, Seed: 2026}); err != nil {
		b.Fatal(err)
	}
	for _, t := range append([]string{"customers", "loan_customers"}, devdata.RelatedTables...) {
		db.SQL().MustExec("VACUUM (ANALYZE) " + t)
	}
	// The file lists every customer; validation leaves the linked ones out.
	imp := validated(b, db, tenant, n)
	b.ResetTimer()
	var took time.Duration
	for range b.N {
		b.StopTimer()
		db.SQL().MustExec(`DELETE FROM import_impacts WHERE tenant_id = $1 AND import_id = $2`, tenant, imp.ID)
		b.StartTimer()
		start := time.Now()
		m, err := db.ComputeImpact(ctx, tenant, imp.ID, 0)
		took += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if m.Customers+m.SkippedRows() != int64(n) {
			b.Fatalf("%d customers and %d skipped rows of %d", m.Customers, m.SkippedRows(), n)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/took.Seconds(), "rows/s")
}
