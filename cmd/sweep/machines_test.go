package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/client"
	"github.com/sweephq/sweep/internal/devdata"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/store"
)

// fleet is sweep as on several machines: processes of each role, started and
// killed by the test.
type fleet struct {
	t        *testing.T
	bin      string
	env      []string
	mu       sync.Mutex
	procs    map[string]*exec.Cmd
	addrs    map[string]string
	apiAddrs []string
}

func (f *fleet) start(name, roles string) *exec.Cmd {
	f.t.Helper()
	cmd := exec.Command(f.bin, "serve", "--roles", roles)
	cmd.Env = append(append(os.Environ(), f.env...), "SWEEP_HTTP_ADDR=127.0.0.1:0", "SWEEP_LOG_FORMAT=json", "SWEEP_LOG_LEVEL=info")
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	f.t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGCONT)
		cmd.Process.Signal(syscall.SIGKILL)
		<-exited
	})
	addr := listeningAddr(f.t, logs, func() bool {
		select {
		case <-exited:
			return true
		default:
			return false
		}
	})
	f.mu.Lock()
	f.procs[name] = cmd
	f.addrs[name] = addr
	if strings.Contains(roles, "api") {
		f.apiAddrs = append(f.apiAddrs, addr)
	}
	f.mu.Unlock()
	return cmd
}

// leader returns the scheduler that holds the lease, as its /metrics say.
func (f *fleet) leader(names ...string) string {
	f.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, name := range names {
			f.mu.Lock()
			addr := f.addrs[name]
			f.mu.Unlock()
			resp, err := http.Get("http://" + addr + "/metrics")
			if err != nil {
				continue
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(body), "\nsweep_scheduler_leader 1\n") {
				return name
			}
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("no scheduler of %v says it leads within 30 s", names)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (f *fleet) signal(name string, sig syscall.Signal) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.procs[name].Process.Signal(sig)
}

// Sweep on several machines: three workers, two schedulers and two API
// processes against one PostgreSQL and a Sentinel-managed Redis. During one
// import a worker is killed with -9, another is frozen with SIGSTOP for longer
// than its task lease and its database session's limits and then woken (a
// host that comes back), the Redis master is killed, and a scheduler is
// killed. The end is identical to an uninterrupted run.
func TestSeveralMachines(t *testing.T) {
	if testing.Short() {
		t.Skip("the several-machines drill runs nine processes for a few minutes; skipped with -short")
	}
	t.Parallel()
	const n = 100_000
	bin := buildSweep(t)
	ctx := context.Background()
	urls, dbs, file := twinDatabases(t, n, 79)
	idB, _ := runImport(t, bin, dbs[1], urls[1], testenv.RedisURL(t), file, 0)

	group := testenv.StartSentinel(t)
	f := &fleet{t: t, bin: bin, procs: map[string]*exec.Cmd{}, addrs: map[string]string{}, env: []string{
		"SWEEP_DATABASE_URL=" + urls[0], "SWEEP_REDIS_URL=" + group.URL, "SWEEP_CHUNK_SIZE=500", "SWEEP_TIME_SLICE=1s", "SWEEP_MAX_ROWS_PER_SECOND=0",
		"SWEEP_CONCURRENCY=2", "SWEEP_RECONCILE_INTERVAL=2s", "SWEEP_RECONCILE_AFTER=20s",
		"SWEEP_IDLE_IN_TRANSACTION_TIMEOUT=10s",
	}}
	for i := 1; i <= 3; i++ {
		f.start(fmt.Sprintf("worker-%d", i), "worker")
	}
	f.start("scheduler-1", "scheduler")
	f.start("scheduler-2", "scheduler")
	f.start("api-1", "api")
	f.start("api-2", "api")
	db := dbs[0]
	token, _, err := db.CreateToken(ctx, crashTenant, "fleet", []sweep.Scope{sweep.ScopeImportsRead, sweep.ScopeImportsWrite})
	if err != nil {
		t.Fatal(err)
	}
	api1, api2 := client.New("http://"+f.apiAddrs[0], token), client.New("http://"+f.apiAddrs[1], token)
	imp, err := api1.Upload(ctx, "fleet.csv", bytes.NewReader(file), client.UploadOptions{Policy: sweep.PolicyLine})
	if err != nil {
		t.Fatal(err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if imp, err = api2.Wait(waitCtx, imp.ID, 50*time.Millisecond); err != nil || imp.Status != sweep.StatusValidated {
		t.Fatalf("validation: %+v (%v)", imp, err)
	}
	if _, err := api2.Start(ctx, imp.ID, client.StartOptions{Parallelism: 3}); err != nil {
		t.Fatal(err)
	}
	processed := func() int64 {
		got, err := db.GetImport(ctx, crashTenant, imp.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.ProcessedRows
	}
	at := func(share float64, what string) {
		t.Helper()
		deadline := time.Now().Add(3 * time.Minute)
		for processed() < int64(share*n) {
			if time.Now().After(deadline) {
				t.Fatalf("the import did not reach %.0f%% for %s within 3 minutes", 100*share, what)
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("%s at %d rows processed", what, processed())
	}
	at(0.05, "kill -9 worker-1")
	f.signal("worker-1", syscall.SIGKILL)
	at(0.10, "SIGSTOP worker-2")
	f.signal("worker-2", syscall.SIGSTOP)
	stopped := time.Now()
	at(0.20, "kill the Redis master")
	group.KillMaster()
	at(0.30, "kill the leading scheduler")
	leader := f.leader("scheduler-1", "scheduler-2")
	f.signal(leader, syscall.SIGKILL)
	other := map[string]string{"scheduler-1": "scheduler-2", "scheduler-2": "scheduler-1"}[leader]
	if next := f.leader(other); next != other {
		t.Errorf("after %s was killed, %s did not take the lease", leader, other)
	}
	t.Logf("killed %s, the leader; %s took over", leader, other)
	// worker-2 stays frozen past its asynq lease (30 s) and its session's
	// idle-in-transaction limit, then comes back.
	time.Sleep(max(0, 35*time.Second-time.Since(stopped)))
	f.signal("worker-2", syscall.SIGCONT)
	t.Logf("SIGCONT worker-2 at %d rows processed", processed())
	f.start("worker-4", "worker")

	got, err := api2.Wait(waitCtx, imp.ID, 100*time.Millisecond)
	if err != nil {
		t.Fatalf("waiting for the end: %v", err)
	}
	// Let the woken worker act on whatever it still held: it must change
	// nothing.
	time.Sleep(5 * time.Second)
	want, have := takeSnapshot(t, dbs[1], idB), takeSnapshot(t, db, imp.ID)
	if diff := cmp.Diff(want, have); diff != "" {
		b, _ := json.Marshal(got)
		t.Errorf("the run on several machines differs from the uninterrupted one (-want +got):\n%s\nimport: %s", diff, b)
	}
	if have.Audit != have.AuditCustomers {
		t.Errorf("%d audit rows for %d customers: some customer was audited twice", have.Audit, have.AuditCustomers)
	}
}

// twinDatabases makes two databases seeded alike with n customers (a tenth
// linked to a loan) and a file deleting all of them in a shuffled order plus
// one bad row: a drill runs on the first, the uninterrupted reference on the
// second.
func twinDatabases(t *testing.T, n int, seed uint64) ([]string, []*store.DB, []byte) {
	t.Helper()
	ctx := context.Background()
	urls := []string{testenv.DatabaseURL(t), testenv.DatabaseURL(t)}
	dbs := make([]*store.DB, 2)
	var wg sync.WaitGroup
	for i := range dbs {
		dbs[i] = testenv.OpenDB(t, urls[i])
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := devdata.Seed(ctx, dbs[i], devdata.SeedOptions{Tenant: crashTenant, Customers: n, LinkedFraction: 0.1, Seed: seed, Workers: 1}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	var file bytes.Buffer
	file.WriteString("action,customerId\n")
	for _, p := range rand.New(rand.NewPCG(seed, seed)).Perm(n) {
		fmt.Fprintf(&file, "remove,%d\n", p+1)
	}
	file.WriteString("remove,not-an-id\n")
	return urls, dbs, file.Bytes()
}

// waitImport polls import id until until says so, and returns it then; it
// fails the test when the import failed or was rejected, or after limit.
func waitImport(t *testing.T, db *store.DB, id int64, what string, limit time.Duration, until func(sweep.Import) bool) sweep.Import {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		got, err := db.GetImport(context.Background(), crashTenant, id)
		if err != nil {
			t.Fatal(err)
		}
		if until(got) {
			return got
		}
		if got.Status == sweep.StatusFailed || got.Status == sweep.StatusRejected || time.Now().After(deadline) {
			t.Fatalf("waiting %s for %s: import %d is %s with %d of %d processed (%s)", limit, what, id, got.Status, got.ProcessedRows, got.ValidRows, got.Error)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
