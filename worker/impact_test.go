package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/devdata"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/worker"
)

// The impact the worker keeps when an import validates is what its run then
// deletes, table by table; its skipped rows are the import's row errors by
// code; and another tenant's customers with the same ids are never counted.
func TestImpactIsWhatTheRunDeletes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, 400, 0.1)
	const other = tenant + 1
	if _, err := devdata.Seed(ctx, f.db, devdata.SeedOptions{Tenant: other, Customers: 400, Seed: 4}); err != nil {
		t.Fatal(err)
	}
	f.configure(worker.Config{Concurrency: 1, ChunkSize: 50, TimeSlice: time.Hour})
	lines := append(ids(1, 300), "remove,5", "remove,999999", "remove,abc", "remove,17")
	imp := f.validate(t, f.upload(t, csvOf(lines...), sweep.PolicyLine))
	if imp.Status != sweep.StatusValidated {
		t.Fatalf("import is %s: %s", imp.Status, imp.Error)
	}
	m, err := f.db.Impact(ctx, tenant, imp.ID) // kept by the validate task
	if err != nil {
		t.Fatalf("no impact kept after validation: %v", err)
	}

	// Rows of each table that belong to customers 1-300 of either tenant.
	counts := func(tn int64) map[string]int64 {
		out := map[string]int64{"customers": f.count(t, `SELECT count(*) FROM customers WHERE tenant_id = $1 AND id BETWEEN 1 AND 300`, tn)}
		for _, table := range devdata.RelatedTables {
			out["public."+table] = f.count(t, `SELECT count(*) FROM `+table+` WHERE tenant_id = $1 AND customer_id BETWEEN 1 AND 300`, tn)
		}
		return out
	}
	before, otherBefore := counts(tenant), counts(other)
	f.start(t, imp)
	task, _ := jobs.NewImportRunTask(imp, 0, "start", time.Time{})
	if err := f.srv.Handler().ProcessTask(ctx, task); err != nil {
		t.Fatal(err)
	}
	got, err := f.db.GetImport(ctx, tenant, imp.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Status.Terminal() || got.ProcessedRows != got.ValidRows {
		t.Fatalf("run ended %s with %d of %d rows", got.Status, got.ProcessedRows, got.ValidRows)
	}
	after := counts(tenant)
	deleted := map[string]int64{}
	for k := range before {
		deleted[k] = before[k] - after[k]
	}
	previewed := map[string]int64{"customers": m.Customers}
	for _, r := range m.Related {
		previewed[r.Kind] = r.Rows
	}
	if diff := cmp.Diff(deleted, previewed); diff != "" {
		t.Errorf("rows the run deleted (-) and the impact said (+):\n%s", diff)
	}
	if m.Customers != got.DeletedRows || m.Customers == 0 {
		t.Errorf("impact says %d customers, the run deleted %d", m.Customers, got.DeletedRows)
	}
	if diff := cmp.Diff(otherBefore, counts(other)); diff != "" {
		t.Errorf("another tenant's rows changed:\n%s", diff)
	}

	var errs []sweep.SkipCount
	for _, code := range sweep.SkipReasons {
		if n := f.count(t, `SELECT count(*) FROM import_errors WHERE tenant_id = $1 AND import_id = $2 AND code = $3`, tenant, imp.ID, code); n > 0 {
			errs = append(errs, sweep.SkipCount{Reason: code, Rows: n})
		}
	}
	if diff := cmp.Diff(errs, m.Skipped); diff != "" || m.SkippedRows() != imp.ErrorRows || len(errs) != 4 {
		t.Errorf("skipped rows (-row errors +impact), %d error rows:\n%s", imp.ErrorRows, diff)
	}
	if m.Rows != imp.ValidRows || m.Customers+m.SkippedRows() != imp.TotalRows {
		t.Errorf("impact: %d rows, %d customers, %d skipped; import: %d valid of %d", m.Rows, m.Customers, m.SkippedRows(), imp.ValidRows, imp.TotalRows)
	}
	if len(m.Sample) != 10 {
		t.Errorf("sample %v, want 10 ids", m.Sample)
	}
	for _, id := range m.Sample {
		if f.count(t, `SELECT count(*) FROM deletion_audit WHERE tenant_id = $1 AND import_id = $2 AND customer_id = $3`, tenant, imp.ID, id) != 1 {
			t.Errorf("sample id %d was not deleted by the run", id)
		}
	}
}
