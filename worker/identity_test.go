package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/devdata"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/store"
	"github.com/sweephq/sweep/wire"
	"github.com/sweephq/sweep/worker"
)

// instance is one deployment of sweep for the tests of this file: its own
// database, and a Redis that the test may share with another instance.
type instance struct {
	db  *store.DB
	rdb redis.UniversalClient
}

func sharedRedis(t *testing.T) redis.UniversalClient {
	t.Helper()
	rdb, err := jobs.OpenRedis(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

func newInstance(t *testing.T, rdb redis.UniversalClient, customers int) *instance {
	t.Helper()
	return seededInstance(t, testenv.DB(t), rdb, customers)
}

func seededInstance(t *testing.T, db *store.DB, rdb redis.UniversalClient, customers int) *instance {
	t.Helper()
	if _, err := devdata.Seed(context.Background(), db, storeSeed(tenant, customers)); err != nil {
		t.Fatal(err)
	}
	return &instance{db: db, rdb: rdb}
}

func (in *instance) upload(t *testing.T, from, to int) sweep.Import {
	t.Helper()
	imp, _, err := in.db.CreateImport(context.Background(), store.NewImport{
		TenantID: tenant, Source: sweep.SourceUpload, Policy: sweep.PolicyLine, FileName: "ids.csv",
	}, bytes.NewReader(csvOf(ids(from, to)...)))
	if err != nil {
		t.Fatal(err)
	}
	return imp
}

// validated uploads ids from..to and validates them with a worker that takes
// no tasks from Redis.
func (in *instance) validated(t *testing.T, from, to int) sweep.Import {
	t.Helper()
	imp := in.upload(t, from, to)
	task, _ := jobs.NewImportValidateTask(imp)
	w := worker.NewServer(in.rdb, in.db, worker.Config{Concurrency: 1, Logger: quiet()})
	if err := w.Handler().ProcessTask(context.Background(), task); err != nil {
		t.Fatal(err)
	}
	return in.get(t, imp.ID)
}

// queue starts a validated import at runAt (now when zero) as the API does:
// its tasks go to Redis and the first one is recorded for the reconciler.
func (in *instance) queue(t *testing.T, imp sweep.Import, runAt time.Time) sweep.Import {
	t.Helper()
	ctx := context.Background()
	var at *time.Time
	if !runAt.IsZero() {
		at = &runAt
	}
	imp, err := in.db.StartImport(ctx, tenant, imp.ID, sweep.StartOptions{RunAt: at})
	if err != nil {
		t.Fatal(err)
	}
	tasks, _ := jobs.StartTasks(imp)
	info, err := asynq.NewClientFromRedisClient(in.rdb).EnqueueContext(ctx, tasks[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := in.db.SetTaskID(ctx, tenant, imp.ID, info.ID); err != nil {
		t.Fatal(err)
	}
	return imp
}

func (in *instance) get(t *testing.T, id int64) sweep.Import {
	t.Helper()
	imp, err := in.db.GetImport(context.Background(), tenant, id)
	if err != nil {
		t.Fatal(err)
	}
	return imp
}

func (in *instance) count(t *testing.T, q string, args ...any) int64 {
	t.Helper()
	return (&fixture{db: in.db}).count(t, q, args...)
}

// present counts the tenant's customers with ids from..to.
func (in *instance) present(t *testing.T, from, to int) int64 {
	t.Helper()
	return in.count(t, `SELECT count(*) FROM customers WHERE tenant_id = $1 AND id BETWEEN $2 AND $3`, tenant, from, to)
}

// work starts a worker of the instance on its Redis, stopped when the test
// ends (or by the returned function).
func (in *instance) work(t *testing.T, reg *prometheus.Registry, log *slog.Logger) (stop func()) {
	t.Helper()
	w := worker.NewServer(in.rdb, in.db, worker.Config{Concurrency: 2, ShutdownTimeout: 5 * time.Second, Registry: reg, Logger: log})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() { once.Do(w.Shutdown) }
	t.Cleanup(stop)
	return stop
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// logBuffer collects a worker's log lines; the worker writes from its own
// goroutines while the test reads.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// foreign reads sweep_tasks_foreign_total{type, reason} from reg.
func foreign(t *testing.T, reg *prometheus.Registry, typ, reason string) float64 {
	t.Helper()
	return counter(t, reg, "sweep_tasks_foreign_total", "type", typ, "reason", reason)
}

// counter reads the counter or gauge name{labels...} (name, value pairs)
// from reg; 0 when it was never counted.
func counter(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue metrics
				}
			}
			if g := m.GetGauge(); g != nil {
				return g.GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// eventually polls cond every 20 ms until it holds, failing the test at the
// deadline with what.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// archived waits for a task to be archived and returns its last error.
func archived(t *testing.T, rdb redis.UniversalClient, queue, id string) string {
	t.Helper()
	inspector := asynq.NewInspectorFromRedisClient(rdb)
	var info *asynq.TaskInfo
	eventually(t, 15*time.Second, "task "+id+" is not archived", func() bool {
		i, err := inspector.GetTaskInfo(queue, id)
		info = i
		return err == nil && i.State == asynq.TaskStateArchived
	})
	return info.LastErr
}

// Two deployments on one Redis DB, each with its own database holding an
// import 1 of the same tenant: X's run task, when due, reaches Y's worker,
// which drops it. Y's customers stay until Y's own run_at, and Y's import
// then completes.
func TestRunTaskOfAnotherDeploymentIsDropped(t *testing.T) {
	t.Parallel()
	rdb := sharedRedis(t)
	x, y := newInstance(t, rdb, 100), newInstance(t, rdb, 100)
	xImp, yImp := x.validated(t, 1, 100), y.validated(t, 1, 100)
	if xImp.ID != 1 || yImp.ID != 1 || xImp.CreatedAt.Equal(yImp.CreatedAt) {
		t.Fatalf("imports %d (%s) and %d (%s); want both 1, created at different times", xImp.ID, xImp.CreatedAt, yImp.ID, yImp.CreatedAt)
	}
	xAt, yAt := time.Now().Add(2500*time.Millisecond), time.Now().Add(8*time.Second)
	xImp = x.queue(t, xImp, xAt)
	y.queue(t, yImp, yAt)
	reg, logs := prometheus.NewRegistry(), &logBuffer{}
	y.work(t, reg, logs.logger()) // X's worker is stopped: only Y's takes tasks

	for time.Now().Before(yAt.Add(-300 * time.Millisecond)) {
		if n := y.present(t, 1, 100); n != 100 {
			t.Fatalf("%s before Y's run_at: %d of Y's 100 customers left", time.Until(yAt), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := foreign(t, reg, jobs.TypeImportRun, "mismatch"); n != 1 {
		t.Errorf("sweep_tasks_foreign_total{type=import:run,reason=mismatch} = %v, want 1", n)
	}
	lastErr := archived(t, rdb, jobs.QueueDefault, jobs.RunTaskID(xImp, 0, "start"))
	if !strings.Contains(lastErr, "another deployment") || !strings.Contains(lastErr, "Nothing was done") {
		t.Errorf("X's task archived with %q; want it to say why nothing was done", lastErr)
	}
	line := ""
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "task dropped") {
			line = l
		}
	}
	for _, want := range []string{"level=WARN", "import_id=1", "tenant_id=5200243", "task_import_created=" + xImp.CreatedAt.UTC().Format(time.RFC3339Nano),
		"db_import_created=" + yImp.CreatedAt.UTC().Format(time.RFC3339Nano)} {
		if !strings.Contains(line, want) {
			t.Errorf("log line %q lacks %s", line, want)
		}
	}
	if strings.Contains(logs.String(), "task failed") {
		t.Errorf("the dropped task is also logged as failed:\n%s", logs.String())
	}

	eventually(t, 15*time.Second, "Y's import did not complete", func() bool { return y.get(t, 1).Status == sweep.StatusCompleted })
	got := y.get(t, 1)
	if got.StartedAt.Before(yAt) || got.DeletedRows != 100 || y.present(t, 1, 100) != 0 {
		t.Errorf("Y's import started %s (run_at %s), deleted %d, %d customers left; want started at its time, all 100 deleted",
			got.StartedAt, yAt, got.DeletedRows, y.present(t, 1, 100))
	}
	if got := x.get(t, 1); got.Status != sweep.StatusQueued || x.present(t, 1, 100) != 100 {
		t.Errorf("X's import is %s with %d customers; want it untouched", got.Status, x.present(t, 1, 100))
	}
	var st wire.Import
	if b, err := rdb.Get(context.Background(), jobs.StatusKey(tenant, 1)).Bytes(); err != nil || json.Unmarshal(b, &st) != nil ||
		st.Status != sweep.StatusCompleted || st.DeletedRows != 100 {
		t.Errorf("published status %+v (%v); want Y's completed import", st, err)
	}
}

// X's validation task reaches Y's worker: Y's import with the same id is not
// validated, not changed, and its status is not published under X's key.
func TestValidateTaskOfAnotherDeploymentIsDropped(t *testing.T) {
	t.Parallel()
	rdb := sharedRedis(t)
	x, y := newInstance(t, rdb, 100), newInstance(t, rdb, 100)
	xImp, yImp := x.upload(t, 1, 100), y.upload(t, 1, 50)
	if xImp.ID != yImp.ID {
		t.Fatalf("import ids %d and %d; want the same", xImp.ID, yImp.ID)
	}
	reg := prometheus.NewRegistry()
	y.work(t, reg, quiet())
	task, _ := jobs.NewImportValidateTask(xImp)
	if _, err := asynq.NewClientFromRedisClient(rdb).Enqueue(task); err != nil {
		t.Fatal(err)
	}
	lastErr := archived(t, rdb, jobs.QueueDefault, jobs.ValidateTaskID(xImp))
	if !strings.Contains(lastErr, "another deployment") {
		t.Errorf("X's task archived with %q", lastErr)
	}
	if n := foreign(t, reg, jobs.TypeImportValidate, "mismatch"); n != 1 {
		t.Errorf("sweep_tasks_foreign_total{type=import:validate,reason=mismatch} = %v, want 1", n)
	}
	got := y.get(t, yImp.ID)
	if got.Status != sweep.StatusUploaded || got.Validations != yImp.Validations || !got.UpdatedAt.Equal(yImp.UpdatedAt) ||
		y.count(t, `SELECT count(*) FROM import_blocks`)+y.count(t, `SELECT count(*) FROM import_errors`) != 0 {
		t.Errorf("Y's import after X's task: %s, round %d, updated %s; want it as uploaded", got.Status, got.Validations, got.UpdatedAt)
	}
	if n, _ := rdb.Exists(context.Background(), jobs.StatusKey(tenant, yImp.ID)).Result(); n != 0 {
		t.Errorf("Y's import status was published for X's task")
	}

	// Y's own task validates it.
	task, _ = jobs.NewImportValidateTask(yImp)
	if _, err := asynq.NewClientFromRedisClient(rdb).Enqueue(task); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "Y's import was not validated", func() bool { return y.get(t, yImp.ID).Status == sweep.StatusValidated })
	if got := y.get(t, yImp.ID); got.ValidRows != 50 {
		t.Errorf("Y's import validated %d rows, want its 50", got.ValidRows)
	}
	if got := x.get(t, xImp.ID); got.Status != sweep.StatusUploaded {
		t.Errorf("X's import is %s, want uploaded", got.Status)
	}
}

// X's cleanup batch task reaches Y's worker: Y's policy with the same id
// makes no batch. Y's own run, due at the same time, gets a task of its own
// (task ids name the policy's creation time) and makes its batch.
func TestCleanupTaskOfAnotherDeploymentIsDropped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := sharedRedis(t)
	x, y := newInstance(t, rdb, 100), newInstance(t, rdb, 100)
	due := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	var policies []sweep.CleanupPolicy
	for _, in := range []*instance{x, y} {
		in.db.SQL().MustExec(`UPDATE customers SET erasure_requested_at = CASE WHEN id <= 30 THEN now() END WHERE tenant_id = $1`, tenant)
		p, err := in.db.CreatePolicy(ctx, sweep.CleanupPolicy{TenantID: tenant, Name: "erasure", Kind: sweep.CleanupErasureRequested,
			CronSpec: "0 * * * *", MaxBatch: 1000, Enabled: true})
		if err != nil {
			t.Fatal(err)
		}
		in.db.SQL().MustExec(`UPDATE cleanup_policies SET next_run_at = $1`, due)
		policies = append(policies, p)
	}
	if policies[0].ID != policies[1].ID {
		t.Fatalf("policy ids %d and %d; want the same", policies[0].ID, policies[1].ID)
	}
	reg := prometheus.NewRegistry()
	y.work(t, reg, quiet())
	if err := worker.NewCleanupTrigger(x.db, rdb, quiet()).Run(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "X's cleanup task was not dropped", func() bool {
		return foreign(t, reg, jobs.TypeCleanupRun, "mismatch") == 1
	})
	if n := y.count(t, `SELECT count(*) FROM imports`); n != 0 || y.present(t, 1, 100) != 100 {
		t.Errorf("Y after X's cleanup task: %d imports, %d customers; want none and 100", n, y.present(t, 1, 100))
	}
	if p, _ := y.db.GetPolicy(ctx, tenant, policies[1].ID); p.LastRunAt != nil {
		t.Errorf("Y's policy ran at %s for X's task", p.LastRunAt)
	}

	if err := worker.NewCleanupTrigger(y.db, rdb, quiet()).Run(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "Y's batch did not complete", func() bool {
		return y.count(t, `SELECT count(*) FROM imports WHERE status = 'completed'`) == 1
	})
	if y.present(t, 1, 30) != 0 || y.present(t, 31, 100) != 70 {
		t.Errorf("Y's batch left %d of the 30 flagged and %d of the 70 others; want 0 and 70", y.present(t, 1, 30), y.present(t, 31, 100))
	}
	if n := x.count(t, `SELECT count(*) FROM imports`); n != 0 || x.present(t, 1, 100) != 100 {
		t.Errorf("X: %d imports, %d customers; want none and 100 (its worker is stopped)", n, x.present(t, 1, 100))
	}
}

// Tasks of version 1 carry no stamp in their payload: the worker reads it in
// the task id. A matching id runs; another import's stamp in the id is
// dropped; an id without one is refused. None of them is retried.
func TestVersion1ImportTasks(t *testing.T) {
	t.Parallel()
	rdb := sharedRedis(t)
	in := newInstance(t, rdb, 100)
	// Queued without a task of its own: the v1 tasks are the only ones.
	toRun, err := in.db.StartImport(context.Background(), tenant, in.validated(t, 1, 60).ID, sweep.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	toValidate := in.upload(t, 61, 100)
	reg := prometheus.NewRegistry()
	in.work(t, reg, quiet())
	client := asynq.NewClientFromRedisClient(rdb)
	enqueue := func(typ string, imp sweep.Import, id string) {
		t.Helper()
		b, _ := json.Marshal(jobs.ImportPayload{Version: jobs.ImportPayloadV1, TenantID: tenant, ImportID: imp.ID})
		if strings.Contains(string(b), "import_created_us") {
			t.Fatalf("not a version 1 payload: %s", b)
		}
		if _, err := client.Enqueue(asynq.NewTask(typ, b), asynq.TaskID(id), asynq.Queue(jobs.QueueDefault), asynq.Retention(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	other := toRun
	other.CreatedAt = toRun.CreatedAt.Add(-time.Hour)
	enqueue(jobs.TypeImportRun, toRun, jobs.RunTaskID(other, 0, "start"))
	enqueue(jobs.TypeImportRun, toRun, "by-hand-run-1")
	if msg := archived(t, rdb, jobs.QueueDefault, jobs.RunTaskID(other, 0, "start")); !strings.Contains(msg, "another deployment") {
		t.Errorf("v1 task of another import archived with %q", msg)
	}
	if msg := archived(t, rdb, jobs.QueueDefault, "by-hand-run-1"); !strings.Contains(msg, "cannot tell which import") || !strings.Contains(msg, "reconciler") {
		t.Errorf("v1 task without a stamp archived with %q; want a refusal that says what happens next", msg)
	}
	if got := in.get(t, toRun.ID); got.Status != sweep.StatusQueued || in.present(t, 1, 60) != 60 {
		t.Fatalf("import is %s with %d customers after the refused tasks; want queued, 60", got.Status, in.present(t, 1, 60))
	}
	if a, b := foreign(t, reg, jobs.TypeImportRun, "mismatch"), foreign(t, reg, jobs.TypeImportRun, "unproven"); a != 1 || b != 1 {
		t.Errorf("foreign run tasks: mismatch %v, unproven %v; want 1 and 1", a, b)
	}

	enqueue(jobs.TypeImportRun, toRun, jobs.RunTaskID(toRun, 0, "v1"))
	enqueue(jobs.TypeImportValidate, toValidate, jobs.ValidateTaskID(toValidate))
	eventually(t, 15*time.Second, "the v1 run task did not complete its import", func() bool { return in.get(t, toRun.ID).Status == sweep.StatusCompleted })
	eventually(t, 15*time.Second, "the v1 validate task did not validate its import", func() bool {
		return in.get(t, toValidate.ID).Status == sweep.StatusValidated
	})
	if in.present(t, 1, 60) != 0 || in.get(t, toValidate.ID).ValidRows != 40 {
		t.Errorf("after the v1 tasks: %d of 60 customers left, %d rows validated; want 0 and 40", in.present(t, 1, 60), in.get(t, toValidate.ID).ValidRows)
	}
}

// A restore drill: the database is copied (as a backup would be) while import
// 1 waits for its run_at; the original goes on, its imports coming and going
// through the same Redis; then its worker stops and one over the copy starts
// with Redis kept. The copy's imports run at their time, once each: import 1
// through its task still in Redis, import 2 (which ran in the original's lost
// future) through the reconciler; the original's later task under an id the
// copy hands out again is dropped.
func TestRestoreDrillWithRedisKept(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := sharedRedis(t)
	origURL := testenv.DatabaseURL(t)
	origDB, err := store.Open(ctx, origURL)
	if err != nil {
		t.Fatal(err)
	}
	orig := seededInstance(t, origDB, rdb, 300)
	t0 := time.Now()
	a1 := orig.queue(t, orig.validated(t, 1, 50), t0.Add(9*time.Second))
	a2 := orig.queue(t, orig.validated(t, 51, 100), t0.Add(1500*time.Millisecond))
	origDB.Close()
	copyURL := testenv.CopyDatabaseURL(t, origURL) // the backup
	orig.db = testenv.OpenDB(t, origURL)

	// The original's future: import 2 runs, import 3 is scheduled, import 4
	// runs at once.
	stopOrig := orig.work(t, nil, quiet())
	b := orig.queue(t, orig.validated(t, 101, 150), t0.Add(6*time.Second))
	c := orig.queue(t, orig.validated(t, 151, 200), time.Time{})
	if a1.ID != 1 || a2.ID != 2 || b.ID != 3 || c.ID != 4 {
		t.Fatalf("original's imports %d %d %d %d; want 1 to 4", a1.ID, a2.ID, b.ID, c.ID)
	}
	eventually(t, 10*time.Second, "the original's imports 2 and 4 did not complete", func() bool {
		return orig.get(t, a2.ID).Status == sweep.StatusCompleted && orig.get(t, c.ID).Status == sweep.StatusCompleted
	})
	stopOrig()
	if time.Until(t0.Add(6*time.Second)) < 500*time.Millisecond {
		t.Fatalf("the drill's set-up took %s, too long for its schedule", time.Since(t0))
	}

	// The restore: a worker and the reconciler over the copy, Redis kept.
	restored := &instance{db: testenv.OpenDB(t, copyURL), rdb: rdb}
	reg := prometheus.NewRegistry()
	restored.work(t, reg, quiet())
	rec := worker.NewReconciler(restored.db, rdb, quiet(), reg)
	rec.Stale = 0
	if err := rec.Run(ctx); err != nil {
		t.Fatal(err)
	}
	d := restored.queue(t, restored.validated(t, 201, 250), t0.Add(11*time.Second))
	if d.ID != b.ID {
		t.Fatalf("the copy's new import is %d; want %d, the id the original gave its scheduled import", d.ID, b.ID)
	}

	for restored.get(t, a1.ID).Status != sweep.StatusCompleted || restored.get(t, d.ID).Status != sweep.StatusCompleted {
		now := time.Now()
		if now.After(t0.Add(30 * time.Second)) {
			t.Fatalf("the copy's imports 1 and 3 are %s and %s after 30s", restored.get(t, a1.ID).Status, restored.get(t, d.ID).Status)
		}
		if now.Before(a1.RunAt.Add(-100*time.Millisecond)) && restored.present(t, 1, 50) != 50 {
			t.Fatalf("%s before its run_at, import 1 deleted customers in the copy", a1.RunAt.Sub(now))
		}
		if now.Before(d.RunAt.Add(-100*time.Millisecond)) && restored.present(t, 201, 250) != 50 {
			t.Fatalf("%s before its run_at, the copy's import 3 deleted customers (the original's import 3 was due at %s)", d.RunAt.Sub(now), b.RunAt)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, imp := range []sweep.Import{a1, a2, d} {
		got := restored.get(t, imp.ID)
		if got.Status != sweep.StatusCompleted || got.DeletedRows != 50 || got.StartedAt.Before(*imp.RunAt) {
			t.Errorf("copy's import %d: %s, deleted %d, started %s (run_at %s); want completed, 50, at or after its time",
				imp.ID, got.Status, got.DeletedRows, got.StartedAt, imp.RunAt)
		}
	}
	if n := restored.count(t, `SELECT count(*) FROM deletion_audit`); n != 150 {
		t.Errorf("copy's audit rows = %d, want 150 (each customer once)", n)
	}
	if n := restored.count(t, `SELECT count(*) - count(DISTINCT customer_id) FROM deletion_audit`); n != 0 {
		t.Errorf("%d customers deleted twice in the copy", n)
	}
	if restored.present(t, 101, 200) != 100 || restored.present(t, 251, 300) != 50 {
		t.Errorf("the copy lost customers no import of its own named: %d of 101-200, %d of 251-300 left",
			restored.present(t, 101, 200), restored.present(t, 251, 300))
	}
	if n := foreign(t, reg, jobs.TypeImportRun, "mismatch"); n != 1 {
		t.Errorf("dropped run tasks = %v, want 1 (the original's import 3)", n)
	}
	// The reconciler re-enqueued only import 2, whose task had run in the
	// original; with everything done it finds nothing more.
	if err := rec.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if n := restored.count(t, `SELECT count(*) FROM imports WHERE status NOT IN ('completed')`); n != 0 {
		t.Errorf("%d of the copy's imports did not complete", n)
	}
	if n := counter(t, reg, "sweep_reconciler_reenqueued_total"); n != 1 {
		t.Errorf("reconciler re-enqueued %v imports; want 1", n)
	}
	// The original, its worker stopped, is as it was left.
	if orig.get(t, a1.ID).Status != sweep.StatusQueued || orig.get(t, b.ID).Status != sweep.StatusQueued || orig.present(t, 1, 50) != 50 || orig.present(t, 101, 150) != 50 {
		t.Errorf("the original changed after its worker stopped")
	}
}
