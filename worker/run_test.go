package worker_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/devdata"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/store"
	"github.com/sweephq/sweep/worker"
)

// start queues a validated import; the tests then process its tasks directly.
func (f *fixture) start(t *testing.T, imp sweep.Import) {
	t.Helper()
	started, err := f.db.StartImport(context.Background(), tenant, imp.ID, sweep.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if started.Status != sweep.StatusQueued {
		t.Fatalf("started import is %s", started.Status)
	}
}

func ids(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("remove,%d", i))
	}
	return out
}

// The same run task delivered twice, even at the same time, deletes each
// customer once and counts each row once.
func TestRunDuplicateDelivery(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3000, 0)
	f.configure(worker.Config{Concurrency: 1, ChunkSize: 100, TimeSlice: time.Hour})
	imp := f.validate(t, f.upload(t, csvOf(ids(1, 2500)...), sweep.PolicyLine))
	f.start(t, imp)
	task, _ := jobs.NewImportRunTask(imp, 0, "start", time.Time{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f.srv.Handler().ProcessTask(context.Background(), task); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// And once more after the end.
	if err := f.srv.Handler().ProcessTask(context.Background(), task); err != nil {
		t.Fatal(err)
	}
	got, _ := f.db.GetImport(context.Background(), tenant, imp.ID)
	if got.Status != sweep.StatusCompleted || got.ProcessedRows != 2500 || got.DeletedRows != 2500 || got.SkippedRows != 0 {
		t.Errorf("import %s processed %d deleted %d skipped %d; want completed 2500/2500/0", got.Status, got.ProcessedRows, got.DeletedRows, got.SkippedRows)
	}
	if n := f.count(t, `SELECT count(*) FROM deletion_audit WHERE tenant_id = $1`, tenant); n != 2500 {
		t.Errorf("audit rows = %d, want 2500", n)
	}
	if n := f.count(t, `SELECT count(*) FROM customers WHERE tenant_id = $1`, tenant); n != 500 {
		t.Errorf("customers left = %d, want 500", n)
	}
}

// An import run in three parts: each part starts on its own third of the
// blocks, all three work at once, and every row is processed exactly once.
func TestRunInParallelParts(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3000, 0)
	f.configure(worker.Config{Concurrency: 1, ChunkSize: 100, TimeSlice: time.Hour})
	imp := f.validate(t, f.upload(t, csvOf(ids(1, 3000)...), sweep.PolicyLine))
	ctx := context.Background()
	if _, err := f.db.StartImport(ctx, tenant, imp.ID, sweep.StartOptions{Parallelism: 3}); err != nil {
		t.Fatal(err)
	}
	for part, want := range []int{0, 10, 20} {
		if from, err := f.db.PartStart(ctx, tenant, imp.ID, part, 3); err != nil || from != want {
			t.Errorf("part %d starts at block %d (%v), want %d", part, from, err, want)
		}
	}
	imp, _ = f.db.GetImport(ctx, tenant, imp.ID)
	tasks, err := jobs.StartTasks(imp)
	if err != nil || len(tasks) != 3 {
		t.Fatalf("start tasks: %d, %v", len(tasks), err)
	}
	var wg sync.WaitGroup
	for _, task := range tasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f.srv.Handler().ProcessTask(ctx, task); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, _ := f.db.GetImport(ctx, tenant, imp.ID)
	if got.Status != sweep.StatusCompleted || got.ProcessedRows != 3000 || got.DeletedRows != 3000 {
		t.Errorf("import %s processed %d deleted %d; want completed 3000/3000", got.Status, got.ProcessedRows, got.DeletedRows)
	}
	if n := f.count(t, `SELECT count(DISTINCT customer_id) FROM deletion_audit WHERE tenant_id = $1 AND import_id = $2`, tenant, imp.ID); n != 3000 {
		t.Errorf("audited customers = %d, want 3000", n)
	}
	if n := f.count(t, `SELECT count(*) FROM customers WHERE tenant_id = $1`, tenant); n != 0 {
		t.Errorf("customers left = %d, want 0", n)
	}
}

// Cancelling a running import stops it after the chunk in flight; what was
// deleted stays deleted and the import says how many rows were left.
func TestCancelWhileRunning(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3000, 0)
	f.configure(worker.Config{Concurrency: 1, ChunkSize: 10, TimeSlice: time.Hour})
	imp := f.validate(t, f.upload(t, csvOf(ids(1, 3000)...), sweep.PolicyLine))
	f.start(t, imp)
	task, _ := jobs.NewImportRunTask(imp, 0, "start", time.Time{})
	done := make(chan error, 1)
	go func() { done <- f.srv.Handler().ProcessTask(context.Background(), task) }()
	// Cancel once 200 rows are gone, while the task still runs: the task must
	// not have ended by itself before the cancel, or the test proves nothing.
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-done:
			t.Fatalf("the run task ended (%v) before the cancel; want it still running", err)
		default:
		}
		got, err := f.db.GetImport(context.Background(), tenant, imp.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ProcessedRows >= 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("import %s with %d rows processed after 30s; want 200", got.Status, got.ProcessedRows)
		}
		time.Sleep(time.Millisecond)
	}
	cancelled, err := f.db.CancelImport(context.Background(), tenant, imp.ID, "ops")
	if err != nil {
		t.Fatal(err)
	}
	atCancel := cancelled.ProcessedRows
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the run task did not return within 30s of the cancel")
	}
	got, err := f.db.GetImport(context.Background(), tenant, imp.ID)
	if err != nil {
		t.Fatal(err)
	}
	left := got.ValidRows - got.ProcessedRows
	if got.Status != sweep.StatusCancelled || left <= 0 || got.DeletedRows != got.ProcessedRows ||
		!strings.Contains(got.Error, fmt.Sprintf("%d rows were left", left)) {
		t.Fatalf("after cancel: %s, processed %d of %d, %q", got.Status, got.ProcessedRows, got.ValidRows, got.Error)
	}
	// It stops after the chunk in flight: at most one chunk (10 rows) more.
	if got.ProcessedRows > atCancel+10 {
		t.Errorf("processed %d rows after a cancel at %d; want at most one chunk (10) more", got.ProcessedRows, atCancel)
	}
	if n := f.count(t, `SELECT count(*) FROM customers WHERE tenant_id = $1`, tenant); n != 3000-got.DeletedRows {
		t.Errorf("customers left = %d, want %d", n, 3000-got.DeletedRows)
	}
	// The task delivered again does nothing more.
	if err := f.srv.Handler().ProcessTask(context.Background(), task); err != nil {
		t.Errorf("the task delivered again after the cancel: %v", err)
	}
	again, err := f.db.GetImport(context.Background(), tenant, imp.ID)
	if err != nil {
		t.Fatal(err)
	}
	if again.ProcessedRows != got.ProcessedRows {
		t.Errorf("a cancelled import went on: %d rows, then %d", got.ProcessedRows, again.ProcessedRows)
	}
}

// Redis flushed in the middle of an import: the reconciler finds the running
// import without a task and enqueues it again; a real worker completes it.
func TestReconcilerAfterRedisFlush(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2000, 0)
	redisURL := testenv.RedisURL(t)
	rdb, _ := jobs.OpenRedis(redisURL)
	defer rdb.Close()
	imp := f.validate(t, f.upload(t, csvOf(ids(1, 2000)...), sweep.PolicyLine))
	f.start(t, imp)
	// A worker deletes part of the import, then "crashes"; Redis is flushed.
	w := worker.NewServer(rdb, f.db, worker.Config{Concurrency: 1, ChunkSize: 10, TimeSlice: 50 * time.Millisecond})
	task, _ := jobs.NewImportRunTask(imp, 0, "start", time.Time{})
	if err := w.Handler().ProcessTask(context.Background(), task); err != nil {
		t.Fatal(err)
	}
	mid, _ := f.db.GetImport(context.Background(), tenant, imp.ID)
	if mid.Status != sweep.StatusRunning || mid.ProcessedRows == 0 || mid.ProcessedRows == 2000 {
		t.Fatalf("after one slice: %s with %d rows processed", mid.Status, mid.ProcessedRows)
	}
	if err := rdb.FlushDB(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}

	rec := worker.NewReconciler(f.db, rdb, nil, nil)
	rec.Stale = 0
	if err := rec.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Shutdown()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, _ := f.db.GetImport(context.Background(), tenant, imp.ID)
		if got.Status == sweep.StatusCompleted {
			if got.DeletedRows != 2000 {
				t.Errorf("deleted %d, want 2000", got.DeletedRows)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("import still %s with %d rows after the reconciler", got.Status, got.ProcessedRows)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := f.count(t, `SELECT count(*) FROM deletion_audit WHERE tenant_id = $1`, tenant); n != 2000 {
		t.Errorf("audit rows = %d, want 2000", n)
	}
}

// Two tenants with the same customer ids: an import of one never touches the
// other's customers.
func TestRunStaysInItsTenant(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 100, 0)
	if _, err := devdata.Seed(context.Background(), f.db, storeSeed(tenant+1, 100)); err != nil {
		t.Fatal(err)
	}
	f.configure(worker.Config{Concurrency: 1})
	imp := f.validate(t, f.upload(t, csvOf(ids(1, 100)...), sweep.PolicyLine))
	f.start(t, imp)
	task, _ := jobs.NewImportRunTask(imp, 0, "start", time.Time{})
	if err := f.srv.Handler().ProcessTask(context.Background(), task); err != nil {
		t.Fatal(err)
	}
	if n := f.count(t, `SELECT count(*) FROM customers WHERE tenant_id = $1`, tenant); n != 0 {
		t.Errorf("tenant's customers left: %d, want 0", n)
	}
	if n := f.count(t, `SELECT count(*) FROM customers WHERE tenant_id = $1`, tenant+1); n != 100 {
		t.Errorf("other tenant's customers: %d, want 100", n)
	}
	if n := f.count(t, `SELECT count(*) FROM customer_phones WHERE tenant_id = $1`, tenant+1); n != 200 {
		t.Errorf("other tenant's phones: %d, want 200", n)
	}
}

// Customers linked to a loan after validation are passed over with the
// outcome skipped_linked_to_loan; the rest of their block is deleted, and the
// loan and its links are untouched.
func TestRunPassesOverCustomersLinkedSinceValidation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 300, 0)
	f.configure(worker.Config{Concurrency: 1, ChunkSize: 100, TimeSlice: time.Hour})
	imp := f.validate(t, f.upload(t, csvOf(ids(1, 250)...), sweep.PolicyLine))
	if imp.Status != sweep.StatusValidated || imp.ValidRows != 250 {
		t.Fatalf("import %s with %d valid rows, want validated with 250", imp.Status, imp.ValidRows)
	}
	// Customers 50 and 150, in two different blocks, get a loan now.
	f.db.SQL().MustExec(`INSERT INTO loans (tenant_id, id, principal_cents) VALUES ($1, 901, 100000)`, tenant)
	f.db.SQL().MustExec(`INSERT INTO loan_customers (tenant_id, loan_id, customer_id) VALUES ($1, 901, 50), ($1, 901, 150)`, tenant)
	f.start(t, imp)
	task, _ := jobs.NewImportRunTask(imp, 0, "start", time.Time{})
	if err := f.srv.Handler().ProcessTask(context.Background(), task); err != nil {
		t.Fatal(err)
	}
	got, _ := f.db.GetImport(context.Background(), tenant, imp.ID)
	if got.Status != sweep.StatusCompletedWithErrors || got.DeletedRows != 248 || got.SkippedRows != 2 {
		t.Errorf("import %s deleted %d skipped %d; want completed_with_errors 248/2", got.Status, got.DeletedRows, got.SkippedRows)
	}
	linked := map[string]string{}
	err := f.db.EachOutcome(context.Background(), tenant, imp.ID, func(o store.Outcome) error {
		if o.Outcome != store.OutcomeDeleted {
			linked[o.CustomerID] = o.Outcome
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"50": store.OutcomeLinked, "150": store.OutcomeLinked}
	if fmt.Sprint(linked) != fmt.Sprint(want) {
		t.Errorf("rows not deleted: %v, want %v", linked, want)
	}
	if n := f.count(t, `SELECT count(*) FROM customers WHERE tenant_id = $1 AND id <= 250`, tenant); n != 2 {
		t.Errorf("customers left of the file's 250 = %d, want 2", n)
	}
	if n := f.count(t, `SELECT count(*) FROM loan_customers WHERE tenant_id = $1 AND loan_id = 901`, tenant); n != 2 {
		t.Errorf("links of loan 901 = %d, want 2", n)
	}
	if n := f.count(t, `SELECT count(*) FROM deletion_audit WHERE tenant_id = $1 AND import_id = $2`, tenant, imp.ID); n != 248 {
		t.Errorf("audit rows = %d, want 248", n)
	}
}
