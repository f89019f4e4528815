package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/devdata"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/lifecycle"
	"github.com/sweephq/sweep/store"
	"github.com/sweephq/sweep/uploader"
)

const crashTenant = 5200243

// buildSweep builds this command into a temporary directory, to run workers as
// real processes that can be killed.
func buildSweep(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sweep")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// sweepDev runs the development tools' command (cmd/sweep-dev), built for
// the test, with vars as its environment, and returns what it printed.
func sweepDev(t *testing.T, vars map[string]string, args ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sweep-dev")
	if out, err := exec.Command("go", "build", "-o", bin, "../sweep-dev").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = os.Environ()
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if x, ok := err.(*exec.ExitError); ok {
			stderr = x.Stderr
		}
		t.Fatalf("sweep-dev %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
	}
	return string(out)
}

type workerProcess struct {
	cmd *exec.Cmd
}

// startWorker runs a worker and scheduler process of bin, with env (NAME=value)
// on top of the drills' settings; it is killed when the test ends.
func startWorker(t *testing.T, bin, dbURL, redisURL string, env ...string) *workerProcess {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--roles", "worker,scheduler")
	cmd.Env = append(os.Environ(), "SWEEP_DATABASE_URL="+dbURL, "SWEEP_REDIS_URL="+redisURL,
		"SWEEP_HTTP_ADDR=127.0.0.1:0", "SWEEP_LOG_LEVEL=warn", "SWEEP_TIME_SLICE=1s", "SWEEP_MAX_ROWS_PER_SECOND=0",
		"SWEEP_RECONCILE_INTERVAL=500ms", "SWEEP_RECONCILE_AFTER=2s")
	cmd.Env = append(cmd.Env, env...)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &workerProcess{cmd: cmd}
	t.Cleanup(func() { w.kill() })
	return w
}

func (w *workerProcess) kill() {
	if w.cmd.ProcessState == nil {
		w.cmd.Process.Signal(syscall.SIGKILL)
		w.cmd.Wait()
	}
}

// snapshot is everything a user would compare after an import: what is left,
// what was audited, and what the import says.
type snapshot struct {
	Customers, CustomersDigest string
	Related                    map[string]int
	Loans, LoanLinks           int
	Audit, AuditCustomers      int
	AuditDigest                string
	Import                     string
	Outcomes                   string
}

func takeSnapshot(t *testing.T, db *store.DB, importID int64) snapshot {
	t.Helper()
	q := func(dst any, query string, args ...any) {
		t.Helper()
		if err := db.SQL().Get(dst, query, args...); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	s := snapshot{Related: map[string]int{}}
	q(&s.Customers, `SELECT count(*)::text FROM customers WHERE tenant_id = $1`, crashTenant)
	q(&s.CustomersDigest, `SELECT md5(string_agg(id::text, ',' ORDER BY id)) FROM customers WHERE tenant_id = $1`, crashTenant)
	for _, table := range devdata.RelatedTables {
		var n int
		q(&n, fmt.Sprintf(`SELECT count(*) FROM %s WHERE tenant_id = $1`, table), crashTenant)
		s.Related[table] = n
	}
	q(&s.Loans, `SELECT count(*) FROM loans`)
	q(&s.LoanLinks, `SELECT count(*) FROM loan_customers`)
	q(&s.Audit, `SELECT count(*) FROM deletion_audit WHERE tenant_id = $1`, crashTenant)
	q(&s.AuditCustomers, `SELECT count(DISTINCT customer_id) FROM deletion_audit WHERE tenant_id = $1`, crashTenant)
	q(&s.AuditDigest, `SELECT md5(string_agg(customer_id::text || related_rows::text, ',' ORDER BY customer_id)) FROM deletion_audit WHERE tenant_id = $1`, crashTenant)
	q(&s.Import, `SELECT concat_ws(' ', status, total_rows, valid_rows, error_rows, processed_rows, deleted_rows, skipped_rows) FROM imports WHERE id = $1`, importID)
	q(&s.Outcomes, `SELECT md5(string_agg(r.line || ':' || r.id || ':' || r.outcome, ',' ORDER BY r.line))
		FROM import_blocks b, unnest(b.lines, b.customer_ids, b.outcomes) AS r(line, id, outcome) WHERE b.import_id = $1`, importID)
	return s
}

// crashRun says how runImport drives an import.
type crashRun struct {
	kills       int            // SIGKILLs of the worker while the deletion runs
	flush       bool           // also empty Redis at each kill
	parallelism int            // parts of the run; 0 is one
	api         bool           // upload and start through the HTTP API, not the store
	rng         *rand.Rand     // when the kills land
	env         []string       // the workers' extra environment (SWEEP_PLAN)
	validated   func(id int64) // called once the import is validated, before its start
}

// runImport is runImportWith for an import of one part, uploaded and started
// through the store, its worker killed kills times.
func runImport(t *testing.T, bin string, db *store.DB, dbURL, redisURL string, file []byte, kills int) (int64, int) {
	t.Helper()
	r := crashRun{kills: kills}
	if kills > 0 {
		r.rng = crashRNG(t)
	}
	return runImportWith(t, bin, db, dbURL, redisURL, file, r)
}

// runImportWith uploads the file, validates and runs it with worker processes.
// With kills > 0 it kills the worker with SIGKILL that many times while the
// deletion runs (and with flush empties Redis each time, as a Redis failover
// without persistence would), restarting it each time, and returns how many
// kills landed in the middle of the run.
func runImportWith(t *testing.T, bin string, db *store.DB, dbURL, redisURL string, file []byte, r crashRun) (int64, int) {
	t.Helper()
	ctx := context.Background()
	rdb, err := jobs.OpenRedis(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	client := asynq.NewClientFromRedisClient(rdb)
	w := startWorker(t, bin, dbURL, redisURL, r.env...)

	var imp sweep.Import
	var api *httptest.Server
	var token string
	if r.api {
		life := lifecycle.New(db, rdb, slog.New(slog.DiscardHandler))
		api = httptest.NewServer(testenv.Contract(t, uploader.NewServer(uploader.Options{DB: db, Redis: rdb, API: true, Lifecycle: life, Queues: life,
			Logger: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry()})))
		defer api.Close()
		if token, _, err = db.CreateToken(ctx, crashTenant, "crash", []sweep.Scope{sweep.ScopeImportsRead, sweep.ScopeImportsWrite}); err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, _ := mw.CreateFormFile("file", "crash.csv")
		fw.Write(file)
		mw.Close()
		ans := apiCall(t, api.URL+"/v1/imports", token, mw.FormDataContentType(), &body)
		imp.ID = int64(ans["id"].(float64))
	} else {
		imp, _, err = db.CreateImport(ctx, store.NewImport{TenantID: crashTenant, Source: sweep.SourceUpload, Policy: sweep.PolicyLine, FileName: "crash.csv"}, bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		task, _ := jobs.NewImportValidateTask(imp)
		if _, err := client.Enqueue(task); err != nil {
			t.Fatal(err)
		}
	}
	wait := func(until func(sweep.Import) bool, what string) sweep.Import {
		t.Helper()
		deadline := time.Now().Add(5 * time.Minute)
		for {
			got, err := db.GetImport(ctx, crashTenant, imp.ID)
			if err != nil {
				t.Fatal(err)
			}
			if until(got) {
				return got
			}
			if got.Status == sweep.StatusFailed || got.Status == sweep.StatusRejected || time.Now().After(deadline) {
				t.Fatalf("waiting for %s: import is %s (%s)", what, got.Status, got.Error)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	wait(func(i sweep.Import) bool { return i.Status == sweep.StatusValidated }, "validated")
	if r.validated != nil {
		r.validated(imp.ID)
	}
	if r.api {
		ans := apiCall(t, fmt.Sprintf("%s/v1/imports/%d/start", api.URL, imp.ID), token, "application/json",
			strings.NewReader(fmt.Sprintf(`{"parallelism":%d}`, max(r.parallelism, 1))))
		if ans["status"] != "queued" || ans["parallelism"] != float64(max(r.parallelism, 1)) {
			t.Fatalf("start answered %v", ans)
		}
	} else {
		started, err := db.StartImport(ctx, crashTenant, imp.ID, sweep.StartOptions{Parallelism: r.parallelism})
		if err != nil {
			t.Fatal(err)
		}
		tasks, _ := jobs.StartTasks(started)
		for _, task := range tasks {
			if _, err := client.Enqueue(task); err != nil {
				t.Fatal(err)
			}
		}
	}
	landed := 0
	for range r.kills {
		time.Sleep(time.Duration(300+r.rng.IntN(1200)) * time.Millisecond)
		w.kill()
		got, _ := db.GetImport(ctx, crashTenant, imp.ID)
		if got.Status == sweep.StatusRunning && got.ProcessedRows > 0 && got.ProcessedRows < got.ValidRows {
			landed++
		}
		if r.flush {
			if err := rdb.FlushDB(ctx).Err(); err != nil {
				t.Fatal(err)
			}
		}
		w = startWorker(t, bin, dbURL, redisURL, r.env...)
		// Let the reconciler notice and the new worker make progress before the
		// next kill.
		before := got.ProcessedRows
		wait(func(i sweep.Import) bool { return i.ProcessedRows > before || i.Status.Terminal() }, "progress after a restart")
	}
	wait(func(i sweep.Import) bool { return i.Status.Terminal() }, "the end")
	w.kill()
	return imp.ID, landed
}

// apiCall posts body to url with the token and returns the JSON answer,
// which must be 202.
func apiCall(t *testing.T, url, token, contentType string, body io.Reader) map[string]any {
	t.Helper()
	req, err := http.NewRequest("POST", url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var ans map[string]any
	if resp.StatusCode != http.StatusAccepted || json.Unmarshal(b, &ans) != nil {
		t.Fatalf("POST %s = %d %s", url, resp.StatusCode, b)
	}
	return ans
}

// crashRNG returns the random source of the kills' timing, from
// SWEEP_CRASH_SEED when set, and logs its seed so a failure can be replayed.
func crashRNG(t *testing.T) *rand.Rand {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("SWEEP_CRASH_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("SWEEP_CRASH_SEED: %v", err)
		}
	}
	t.Logf("kill timing seed %d (SWEEP_CRASH_SEED=%d replays it)", seed, seed)
	return rand.New(rand.NewPCG(seed, 1))
}

// seedTwins seeds two databases with the same n customers and returns them.
func seedTwins(t *testing.T, n int) ([]string, []*store.DB) {
	t.Helper()
	urls := []string{testenv.DatabaseURL(t), testenv.DatabaseURL(t)}
	dbs := make([]*store.DB, 2)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range dbs {
		dbs[i] = testenv.OpenDB(t, urls[i])
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = devdata.Seed(context.Background(), dbs[i], devdata.SeedOptions{Tenant: crashTenant, Customers: n, LinkedFraction: 0.1, Seed: 77, Workers: 1})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return urls, dbs
}

// crashFile lists customers 1..n in a shuffled order, then two bad rows.
func crashFile(n int) []byte {
	var file bytes.Buffer
	file.WriteString("action,customerId\n")
	for _, p := range rand.New(rand.NewPCG(5, 5)).Perm(n) {
		fmt.Fprintf(&file, "remove,%d\n", p+1)
	}
	file.WriteString("remove,not-an-id\nremove,999999999\n")
	return file.Bytes()
}

// A worker killed with -9 at random points of an import of 200,000 customers,
// several times, and restarted each time, ends with the same database and the
// same counts as an uninterrupted run on identical data.
func TestKilledWorkerResumesToTheSameState(t *testing.T) {
	if testing.Short() {
		t.Skip("the crash test seeds 400,000 customers; skipped with -short")
	}
	t.Parallel()
	n := 200_000
	if s := os.Getenv("SWEEP_CRASH_CUSTOMERS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	bin := buildSweep(t)
	urls, dbs := seedTwins(t, n)
	redis := []string{testenv.RedisURL(t), testenv.RedisURL(t)}
	file := crashFile(n)
	idB, _ := runImport(t, bin, dbs[1], urls[1], redis[1], file, 0)
	idA, landed := runImport(t, bin, dbs[0], urls[0], redis[0], file, 5)
	if landed < 3 {
		t.Errorf("only %d of 5 kills landed while the deletion ran; the test proves little", landed)
	}
	want, got := takeSnapshot(t, dbs[1], idB), takeSnapshot(t, dbs[0], idA)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("killed run differs from the uninterrupted one (-want +got):\n%s", diff)
	}
	if got.Audit != got.AuditCustomers {
		t.Errorf("%d audit rows for %d customers: some customer was audited twice", got.Audit, got.AuditCustomers)
	}
	t.Logf("kills during the run: %d; import: %s", landed, got.Import)
}

// An import of parallelism 3 started through the API, whose worker is killed
// with -9 and whose Redis is emptied three times while it runs: the
// reconciler enqueues every part again, and it ends with the same database,
// the same audit rows (count(*), so a customer audited twice shows) and the
// same outcome of every row as an uninterrupted run of parallelism 3.
func TestKilledParallelImportWithRedisLostResumesToTheSameState(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 120,000 customers and kills worker processes; skipped with -short")
	}
	t.Parallel()
	n := 60_000
	if s := os.Getenv("SWEEP_CRASH_CUSTOMERS"); s != "" {
		n, _ = strconv.Atoi(s)
		n /= 3
	}
	bin := buildSweep(t)
	urls, dbs := seedTwins(t, n)
	redis := []string{testenv.RedisURL(t), testenv.RedisURL(t)}
	file := crashFile(n)
	idB, _ := runImportWith(t, bin, dbs[1], urls[1], redis[1], file, crashRun{parallelism: 3, api: true})
	idA, landed := runImportWith(t, bin, dbs[0], urls[0], redis[0], file, crashRun{parallelism: 3, api: true, kills: 3, flush: true, rng: crashRNG(t)})
	if landed < 2 {
		t.Errorf("only %d of 3 kills landed while the deletion ran; the test proves little", landed)
	}
	want, got := takeSnapshot(t, dbs[1], idB), takeSnapshot(t, dbs[0], idA)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("killed run with Redis lost differs from the uninterrupted one (-want +got):\n%s", diff)
	}
	if got.Audit != got.AuditCustomers {
		t.Errorf("%d audit rows for %d customers: some customer was audited twice", got.Audit, got.AuditCustomers)
	}
	t.Logf("kills during the run: %d; import: %s", landed, got.Import)
}
