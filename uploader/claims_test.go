package uploader_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/devdata"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/store"
	"github.com/sweephq/sweep/worker"
)

// liveAPI is newAPI with a larger tenant, the Redis the worker takes tasks
// from, and optionally the scheduler role running the reconciler as in
// production.
type liveAPI struct {
	*api
	rdb    redis.UniversalClient
	reg    *prometheus.Registry
	recReg *prometheus.Registry // the reconciler's, once runScheduler ran
}

// reenqueued reads sweep_reconciler_reenqueued_total of runScheduler's
// reconciler.
func (a *liveAPI) reenqueued() float64 {
	a.t.Helper()
	fams, err := a.recReg.Gather()
	if err != nil {
		a.t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == "sweep_reconciler_reenqueued_total" {
			return f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	a.t.Fatal("the reconciler has no sweep_reconciler_reenqueued_total")
	return 0
}

func newLiveAPI(t *testing.T, customers int, chunk int) *liveAPI {
	t.Helper()
	db := testenv.DB(t)
	ctx := context.Background()
	if _, err := devdata.Seed(ctx, db, devdata.SeedOptions{Tenant: tenant, Customers: customers, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	db.SQL().MustExec(`DELETE FROM loan_customers WHERE tenant_id = $1`, tenant)
	reg := prometheus.NewRegistry()
	sw := testenv.StartSweep(t, db, testenv.SweepOptions{API: true, Registry: reg, ChunkSize: chunk})
	token, _, err := db.CreateToken(ctx, tenant, "ops", []sweep.Scope{sweep.ScopeImportsRead, sweep.ScopeImportsWrite})
	if err != nil {
		t.Fatal(err)
	}
	return &liveAPI{api: &api{t: t, db: db, url: sw.URL, token: token, rdb: sw.Redis}, rdb: sw.Redis, reg: reg}
}

// runScheduler runs the scheduler role's reconciler every 100 ms, looking at
// imports unchanged for stale, until the test ends.
func (a *liveAPI) runScheduler(stale time.Duration) *worker.Reconciler {
	a.t.Helper()
	a.recReg = prometheus.NewRegistry()
	rec := worker.NewReconciler(a.db, a.rdb, nil, a.recReg)
	rec.Stale = stale
	s := worker.NewScheduler(a.db, nil, rec.Periodic(100*time.Millisecond))
	s.LeaseRetry = 50 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); s.Run(ctx) }()
	a.t.Cleanup(func() { cancel(); wg.Wait() })
	return rec
}

func (a *liveAPI) get(id int64) sweep.Import {
	a.t.Helper()
	imp, err := a.db.GetImport(context.Background(), tenant, id)
	if err != nil {
		a.t.Fatal(err)
	}
	return imp
}

// waitImport polls the import until cond holds, for at most d.
func (a *liveAPI) waitImport(id int64, d time.Duration, what string, cond func(sweep.Import) bool) sweep.Import {
	a.t.Helper()
	deadline := time.Now().Add(d)
	for {
		imp := a.get(id)
		if cond(imp) {
			return imp
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("import %d: waited %s for %s; it is %s with %d of %d rows processed (%s)", id, d, what, imp.Status, imp.ProcessedRows, imp.ValidRows, imp.Error)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// validated uploads ids from..to and waits for the import to be validated.
func (a *liveAPI) validated(from, to int) int64 {
	a.t.Helper()
	var b strings.Builder
	b.WriteString("action,customerId\n")
	for i := from; i <= to; i++ {
		fmt.Fprintf(&b, "remove,%d\n", i)
	}
	code, imp := a.upload(b.String())
	if code != http.StatusAccepted {
		a.t.Fatalf("upload = %d %v", code, imp)
	}
	id := int64(imp["id"].(float64))
	if got := a.waitImport(id, 30*time.Second, "validated", func(i sweep.Import) bool {
		return i.Status != sweep.StatusUploaded && i.Status != sweep.StatusValidating
	}); got.Status != sweep.StatusValidated {
		a.t.Fatalf("import %d is %s, want validated", id, got.Status)
	}
	return id
}

func (a *liveAPI) start(id int64, body string) map[string]any {
	a.t.Helper()
	code, _, b := a.request("POST", fmt.Sprintf("/v1/imports/%d/start", id), strings.NewReader(body), "Content-Type", "application/json")
	if code != http.StatusAccepted {
		a.t.Fatalf("start %d with %s = %d %s", id, body, code, b)
	}
	return decode(a.t, b)
}

func (a *liveAPI) left(from, to int) int {
	a.t.Helper()
	return a.count(`SELECT count(*) FROM customers WHERE tenant_id = $1 AND id BETWEEN $2 AND $3`, tenant, from, to)
}

// scheduledRunTasks lists the run tasks Redis holds for later, by the time
// they are due.
func (a *liveAPI) scheduledRunTasks() []time.Time {
	a.t.Helper()
	tasks, err := asynq.NewInspectorFromRedisClient(a.rdb).ListScheduledTasks(jobs.QueueDefault)
	if err != nil && !strings.Contains(err.Error(), "not found") {
		a.t.Fatal(err)
	}
	var out []time.Time
	for _, ti := range tasks {
		if ti.Type == jobs.TypeImportRun {
			out = append(out, ti.NextProcessAt)
		}
	}
	return out
}

// run_at through the API against a live worker: the import stays queued, with
// nothing deleted, until its time, and completes after it. With Redis flushed
// while it waits, the scheduler's reconciler enqueues it again at the same
// time, finds that task alive on its later looks (enqueues nothing more), and
// the import still waits for its time.
func TestRunAtSchedulesTheStart(t *testing.T) {
	t.Parallel()
	a := newLiveAPI(t, 200, 0)
	for _, flush := range []bool{false, true} {
		t.Run(fmt.Sprintf("flush=%v", flush), func(t *testing.T) {
			a := &liveAPI{api: &api{t: t, db: a.db, url: a.url, token: a.token}, rdb: a.rdb, reg: a.reg}
			from := 1
			if flush {
				from = 101
			}
			id := a.validated(from, from+49)
			// Whole seconds: run_at is RFC 3339 and a task comes due on the second.
			runAt := time.Now().Add(4 * time.Second).Truncate(time.Second).UTC()
			if got := a.start(id, `{"run_at":"`+runAt.Format(time.RFC3339)+`"}`); got["status"] != "queued" {
				t.Fatalf("scheduled start answered %v", got)
			}
			if tasks := a.scheduledRunTasks(); len(tasks) != 1 || !tasks[0].Equal(runAt) {
				t.Fatalf("scheduled run tasks due at %v; want one at %v", tasks, runAt)
			}
			if flush {
				if err := a.rdb.FlushDB(context.Background()).Err(); err != nil {
					t.Fatal(err)
				}
				if tasks := a.scheduledRunTasks(); len(tasks) != 0 {
					t.Fatalf("after the flush Redis still holds %v", tasks)
				}
				// Imports unchanged for a second count as possibly lost, so the
				// reconciler looks at this one again and again while it waits.
				a.runScheduler(time.Second)
				deadline := time.Now().Add(3 * time.Second)
				for len(a.scheduledRunTasks()) == 0 {
					if imp := a.get(id); imp.Status != sweep.StatusQueued {
						t.Fatalf("after the flush the import is %s, %s before its run_at", imp.Status, time.Until(runAt))
					}
					if time.Now().After(deadline) {
						t.Fatal("the reconciler did not enqueue the import again within 3s of the flush")
					}
					time.Sleep(10 * time.Millisecond)
				}
				if tasks := a.scheduledRunTasks(); len(tasks) != 1 || !tasks[0].Equal(runAt) {
					t.Fatalf("after the reconciler: run tasks due at %v; want one at %v (its run_at)", tasks, runAt)
				}
			}
			// Until its time: queued, nothing processed, every customer there.
			// The reconciler keeps looking meanwhile and must leave it alone.
			for time.Until(runAt) > 300*time.Millisecond {
				imp := a.get(id)
				if imp.Status != sweep.StatusQueued || imp.ProcessedRows != 0 || a.left(from, from+49) != 50 {
					t.Fatalf("%s before its run_at: %s with %d rows processed, %d of 50 customers left", time.Until(runAt), imp.Status, imp.ProcessedRows, a.left(from, from+49))
				}
				if flush {
					if tasks := a.scheduledRunTasks(); len(tasks) != 1 {
						t.Fatalf("the reconciler enqueued a live import again: %d scheduled run tasks", len(tasks))
					}
				}
				time.Sleep(50 * time.Millisecond)
			}
			done := a.waitImport(id, 30*time.Second, "completed", func(i sweep.Import) bool { return i.Status.Terminal() })
			if done.Status != sweep.StatusCompleted || done.DeletedRows != 50 || a.left(from, from+49) != 0 {
				t.Fatalf("after its run_at: %s, %d deleted, %d customers left; want completed, 50, 0", done.Status, done.DeletedRows, a.left(from, from+49))
			}
			if done.StartedAt == nil || done.StartedAt.Before(runAt) {
				t.Errorf("started at %v, before its run_at %v", done.StartedAt, runAt)
			}
			if n := a.count(`SELECT count(*) FROM deletion_audit WHERE tenant_id = $1 AND import_id = $2`, tenant, id); n != 50 {
				t.Errorf("audit rows = %d, want 50", n)
			}
		})
	}
}

// POST /v1/imports/{id}/cancel while a parallelism: 3 import runs: it stops
// after the chunk each part has in flight, so the final processed count
// exceeds the count at the cancel by at most one chunk per part; what was
// deleted stays deleted, audited once, and the rest is there.
func TestCancelRunningImportThroughTheAPI(t *testing.T) {
	t.Parallel()
	const n, chunk, parts = 3000, 10, 3
	a := newLiveAPI(t, n, chunk)
	id := a.validated(1, n)
	if got := a.start(id, `{"parallelism":3}`); got["status"] != "queued" {
		t.Fatalf("start answered %v", got)
	}
	a.waitImport(id, 60*time.Second, "300 rows processed", func(i sweep.Import) bool {
		if i.Status.Terminal() {
			t.Fatalf("import ended %s before the cancel", i.Status)
		}
		return i.ProcessedRows >= 300
	})
	code, _, body := a.request("POST", fmt.Sprintf("/v1/imports/%d/cancel", id), nil)
	ans := decode(t, body)
	if code != http.StatusAccepted || ans["status"] != "running" {
		t.Fatalf("cancel of a running import = %d %s; want 202 with the import still running", code, body)
	}
	atCancel := int64(ans["processed_rows"].(float64))
	got := a.waitImport(id, 60*time.Second, "cancelled", func(i sweep.Import) bool { return i.Status.Terminal() })
	if got.Status != sweep.StatusCancelled {
		t.Fatalf("after the cancel the import is %s (%s)", got.Status, got.Error)
	}
	if got.ProcessedRows < atCancel || got.ProcessedRows > atCancel+parts*chunk {
		t.Errorf("processed %d rows, %d at the cancel; want at most one chunk per part (%d) more", got.ProcessedRows, atCancel, parts*chunk)
	}
	if got.DeletedRows != got.ProcessedRows || got.ProcessedRows >= n {
		t.Errorf("cancelled import deleted %d of %d processed rows of %d", got.DeletedRows, got.ProcessedRows, n)
	}
	if want := fmt.Sprintf("%d rows were left", n-got.ProcessedRows); !strings.Contains(got.Error, want) {
		t.Errorf("the import's error %q does not say %q", got.Error, want)
	}
	if left := a.left(1, n); int64(left) != n-got.DeletedRows {
		t.Errorf("customers left = %d, want %d", left, n-got.DeletedRows)
	}
	if c := a.count(`SELECT count(*) FROM deletion_audit WHERE tenant_id = $1 AND import_id = $2`, tenant, id); int64(c) != got.DeletedRows {
		t.Errorf("audit rows = %d, want one per deleted customer (%d)", c, got.DeletedRows)
	}
	// Nothing more happens afterwards: once Redis holds no task to run
	// (none pending, scheduled, retrying or in a worker), nothing can move it.
	insp := asynq.NewInspectorFromRedisClient(a.rdb)
	a.waitImport(id, 30*time.Second, "no task left in Redis", func(sweep.Import) bool {
		qs, err := insp.Queues()
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range qs {
			if info, err := insp.GetQueueInfo(q); err != nil || info.Active+info.Pending+info.Scheduled+info.Retry > 0 {
				return false
			}
		}
		return true
	})
	if again := a.get(id); again.ProcessedRows != got.ProcessedRows || a.left(1, n) != n-int(got.DeletedRows) {
		t.Errorf("a cancelled import went on: %d rows processed, then %d", got.ProcessedRows, again.ProcessedRows)
	}
}

// Redis flushed while a chunk is in flight, with the scheduler running the
// reconciler as in production: the chunk commits, the reconciler enqueues the
// import again once it has not moved for SWEEP_RECONCILE_AFTER, and the import
// completes with every customer deleted and audited exactly once.
func TestRedisFlushedWhileAChunkIsInFlight(t *testing.T) {
	t.Parallel()
	const n, chunk = 2000, 100
	a := newLiveAPI(t, n, chunk)
	a.runScheduler(time.Second)
	id := a.validated(1, n)

	// Hold customer 1050 so that the chunk deleting it waits, in flight.
	ctx := context.Background()
	hold, err := a.db.SQL().BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback()
	hold.MustExec(`SELECT 1 FROM customers WHERE tenant_id = $1 AND id = 1050 FOR UPDATE`, tenant)
	a.start(id, `{}`)
	// The event: a session of this database waits for that lock.
	deadline := time.Now().Add(30 * time.Second)
	for a.count(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no chunk waits on customer 1050 after 30s; import: %+v", a.get(id))
		}
		time.Sleep(10 * time.Millisecond)
	}
	mid := a.get(id)
	if mid.Status != sweep.StatusRunning || mid.ProcessedRows != 1000 {
		t.Fatalf("with the chunk of customer 1050 in flight: %s, %d rows processed; want running, 1000", mid.Status, mid.ProcessedRows)
	}
	if err := a.rdb.FlushDB(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	// Let the reconciler find the import unchanged and enqueue it again while
	// the chunk still waits, then let the chunk go.
	deadline = time.Now().Add(10 * time.Second)
	for a.reenqueued() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the reconciler enqueued nothing within 10s of the flush")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := hold.Rollback(); err != nil {
		t.Fatal(err)
	}
	got := a.waitImport(id, 60*time.Second, "completed", func(i sweep.Import) bool { return i.Status.Terminal() })
	if got.Status != sweep.StatusCompleted || got.ProcessedRows != n || got.DeletedRows != n || got.SkippedRows != 0 {
		t.Fatalf("import %s, processed %d deleted %d skipped %d; want completed %d/%d/0", got.Status, got.ProcessedRows, got.DeletedRows, got.SkippedRows, n, n)
	}
	if c := a.count(`SELECT count(*) FROM deletion_audit WHERE tenant_id = $1`, tenant); c != n {
		t.Errorf("audit rows = %d, want %d (one per customer)", c, n)
	}
	if c := a.left(1, n); c != 0 {
		t.Errorf("customers left = %d, want 0", c)
	}
	outcomes := map[string]int{}
	if err := a.db.EachOutcome(ctx, tenant, id, func(o store.Outcome) error { outcomes[o.Outcome]++; return nil }); err != nil {
		t.Fatal(err)
	}
	if outcomes[store.OutcomeDeleted] != n || len(outcomes) != 1 {
		t.Errorf("outcomes %v, want %d deleted", outcomes, n)
	}
}

// otherTenantState is everything of a tenant a mistaken deletion could touch:
// its customers (count and digest of ids), every related table, its loans and
// their links, its audit rows and its imports.
func (a *liveAPI) otherTenantState(tn int64) map[string]string {
	a.t.Helper()
	st := map[string]string{}
	q := func(name, query string) {
		var v string
		if err := a.db.SQL().Get(&v, query, tn); err != nil {
			a.t.Fatalf("%s: %v", query, err)
		}
		st[name] = v
	}
	q("customers", `SELECT count(*)::text || ' ' || md5(coalesce(string_agg(id::text || source || coalesce(erasure_requested_at::text, ''), ',' ORDER BY id), '')) FROM customers WHERE tenant_id = $1`)
	for _, table := range append([]string{"loans", "loan_customers", "deletion_audit", "imports"}, devdata.RelatedTables...) {
		q(table, fmt.Sprintf(`SELECT count(*)::text FROM %s WHERE tenant_id = $1`, table))
	}
	return st
}

// Ids that exist only in another tenant, through every path a tenant has:
// an uploaded file, JSON ids, a single delete (both paths), and each kind of
// cleanup policy whose condition only the other tenant's customers meet. Each
// finds nothing (not_found row errors, 404, empty batches), and nothing of the
// other tenant changes, in any related table.
func TestIDsOfAnotherTenantAreNotFoundThroughEveryPath(t *testing.T) {
	t.Parallel()
	a := newLiveAPI(t, 100, 0) // this tenant: customers 1..100
	ctx := context.Background()
	const other = tenant + 1 // customers 1..300: 101..300 exist only there
	if _, err := devdata.Seed(ctx, a.db, devdata.SeedOptions{Tenant: other, Customers: 300, Seed: 6}); err != nil {
		t.Fatal(err)
	}
	oimp, _, err := a.db.CreateImport(ctx, store.NewImport{TenantID: other, Source: sweep.SourceUpload, Policy: sweep.PolicyLine, FileName: "other.csv"},
		strings.NewReader("action,customerId\nremove,300\n"))
	if err != nil {
		t.Fatal(err)
	}
	otherImport := oimp.ID
	// Only the other tenant's customers meet the policies' conditions.
	a.db.SQL().MustExec(`UPDATE customers SET last_activity_at = now(), erasure_requested_at = NULL, source = 'web', created_by_import_id = NULL WHERE tenant_id = $1`, tenant)
	a.db.SQL().MustExec(`UPDATE customers SET last_activity_at = now() - interval '400 days', erasure_requested_at = now() - interval '60 days',
		source = 'trial', created_by_import_id = $2 WHERE tenant_id = $1 AND id > 100`, other, otherImport)
	before := a.otherTenantState(other)

	// An uploaded file and a JSON list of ids 201..210.
	var file strings.Builder
	file.WriteString("action,customerId\n")
	var list []string
	for id := 201; id <= 210; id++ {
		fmt.Fprintf(&file, "remove,%d\n", id)
		list = append(list, fmt.Sprint(id))
	}
	code, up := a.upload(file.String(), "auto_start", "true")
	if code != http.StatusAccepted {
		t.Fatalf("upload = %d %v", code, up)
	}
	code, _, body := a.request("POST", "/v1/imports", strings.NewReader(`{"customer_ids":[`+strings.Join(list, ",")+`],"auto_start":true}`),
		"Content-Type", "application/json")
	if code != http.StatusAccepted {
		t.Fatalf("JSON ids = %d %s", code, body)
	}
	for _, id := range []int64{int64(up["id"].(float64)), int64(decode(t, body)["id"].(float64))} {
		got := a.waitImport(id, 30*time.Second, "validated", func(i sweep.Import) bool { return i.Settled() })
		if got.ValidRows != 0 || got.ErrorRows != 10 || got.ProcessedRows != 0 {
			t.Errorf("import %d of the other tenant's ids: %s, %d valid, %d errors, %d processed; want 0 valid, 10 errors, 0 processed",
				id, got.Status, got.ValidRows, got.ErrorRows, got.ProcessedRows)
		}
		if n := a.count(`SELECT count(*) FROM import_errors WHERE tenant_id = $1 AND import_id = $2 AND code <> 'not_found'`, tenant, id); n != 0 {
			t.Errorf("import %d: %d row errors other than not_found", id, n)
		}
	}

	// One customer at a time, on both paths.
	del, _, err := a.db.CreateToken(ctx, tenant, "crm", []sweep.Scope{sweep.ScopeCustomersDelete})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, instance string }{
		{"/v1/customers/221", ""},
		{"/api/public/api/1/odata.svc/Customers(222)", fmt.Sprint(tenant)},
		{"/api/public/api/1/odata.svc/Customers(223)", fmt.Sprint(other)},
	} {
		code, _, body := a.request("DELETE", c.path, nil, "Authorization", "Bearer "+del, "Autopal-Instance-Id", c.instance)
		if code == http.StatusNoContent || code < 400 {
			t.Errorf("DELETE %s (instance %q) = %d %s; want it refused", c.path, c.instance, code, body)
		}
	}

	// Cleanup policies of each kind, run now.
	admin := &liveAPI{api: a.asAdmin(), rdb: a.rdb}
	for _, p := range []string{
		`{"name": "inactive", "kind": "inactive", "params": {"days": 365}, "cron_spec": "0 2 * * *"}`,
		`{"name": "erasure", "kind": "erasure_requested", "params": {"days": 30}, "cron_spec": "0 2 * * *"}`,
		`{"name": "trial", "kind": "created_by", "params": {"source": "trial"}, "cron_spec": "0 2 * * *"}`,
		fmt.Sprintf(`{"name": "by import", "kind": "created_by", "params": {"import_id": %d}, "cron_spec": "0 2 * * *"}`, otherImport),
	} {
		code, pol := admin.json("POST", "/v1/cleanup-policies", p)
		if code != http.StatusCreated {
			t.Fatalf("create %s = %d %v", p, code, pol)
		}
		path := fmt.Sprintf("/v1/cleanup-policies/%v", pol["id"])
		if code, pv := admin.json("POST", path+"/preview", ""); code != http.StatusOK || pv["count"] != 0.0 {
			t.Errorf("preview of %s = %d %v; want 0 customers", pol["name"], code, pv)
		}
		code, imp := admin.json("POST", path+"/run-now", "")
		if code != http.StatusAccepted {
			t.Fatalf("run-now of %s = %d %v", pol["name"], code, imp)
		}
		got := admin.waitImport(int64(imp["id"].(float64)), 30*time.Second, "the batch settled", func(i sweep.Import) bool { return i.Settled() })
		if got.Status != sweep.StatusCompleted || got.TotalRows != 0 || got.DeletedRows != 0 {
			t.Errorf("batch of %s: %s with %d rows, %d deleted; want completed with 0", pol["name"], got.Status, got.TotalRows, got.DeletedRows)
		}
	}

	if diff := cmp.Diff(before, a.otherTenantState(other)); diff != "" {
		t.Errorf("the other tenant changed (-before +after):\n%s", diff)
	}
	if n := a.count(`SELECT count(*) FROM deletion_audit`); n != 0 {
		t.Errorf("%d audit rows: something was deleted", n)
	}
	if n := a.count(`SELECT count(*) FROM customers WHERE tenant_id = $1`, tenant); n != 100 {
		t.Errorf("this tenant has %d customers, want its 100", n)
	}
}

// auto_start=true: an upload whose every row is valid starts by itself and
// completes; one with a row error stays validated for a person to look at.
func TestAutoStartRunsOnlyACleanUpload(t *testing.T) {
	t.Parallel()
	a := newLiveAPI(t, 100, 0)
	code, clean := a.upload("action,customerId\nremove,20\nremove,21\n", "auto_start", "true")
	if code != http.StatusAccepted {
		t.Fatalf("upload = %d %v", code, clean)
	}
	code, mixed := a.upload("action,customerId\nremove,30\nremove,x\n", "auto_start", "true")
	if code != http.StatusAccepted {
		t.Fatalf("upload = %d %v", code, mixed)
	}
	done := a.waitImport(int64(clean["id"].(float64)), 30*time.Second, "completed", func(i sweep.Import) bool { return i.Status.Terminal() })
	if done.Status != sweep.StatusCompleted || done.DeletedRows != 2 || a.left(20, 21) != 0 {
		t.Errorf("clean upload with auto_start: %s, %d deleted, %d left; want completed, 2, 0", done.Status, done.DeletedRows, a.left(20, 21))
	}
	held := a.waitImport(int64(mixed["id"].(float64)), 30*time.Second, "validated", func(i sweep.Import) bool { return i.Settled() })
	if held.Status != sweep.StatusValidated || held.ProcessedRows != 0 || a.left(30, 30) != 1 {
		t.Errorf("upload with a row error and auto_start: %s, %d processed, customer 30 left %d; want validated, 0, 1", held.Status, held.ProcessedRows, a.left(30, 30))
	}
}
