package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/devdata"
	"github.com/sweephq/sweep/internal/testenv"
)

// startScheduler runs `sweep serve --roles scheduler,worker` as a process that
// looks for due cleanup policies every 100 ms, and returns it with the
// address it serves /metrics on.
func startScheduler(t *testing.T, bin, dbURL, redisURL string) (*workerProcess, string) {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--roles", "scheduler,worker")
	cmd.Env = append(os.Environ(), "SWEEP_DATABASE_URL="+dbURL, "SWEEP_REDIS_URL="+redisURL,
		"SWEEP_HTTP_ADDR=127.0.0.1:0", "SWEEP_LOG_FORMAT=json", "SWEEP_LOG_LEVEL=info", "SWEEP_CLEANUP_INTERVAL=100ms")
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &workerProcess{cmd: cmd}
	t.Cleanup(func() {
		w.kill()
		if t.Failed() {
			t.Logf("scheduler process output:\n%s", logs.String())
		}
	})
	// A process that dies early shows in its logs once the wait times out.
	return w, listeningAddr(t, logs, func() bool { return false })
}

// Two scheduler processes (two replicas) with three due policies make exactly
// one batch per policy and due time; when the leader dies, the other one takes
// over and the next due time again makes exactly one batch.
func TestTwoSchedulerProcessesMakeOneBatchPerDueTime(t *testing.T) {
	t.Parallel()
	bin := buildSweep(t)
	dbURL, redisURL := testenv.DatabaseURL(t), testenv.RedisURL(t)
	db := testenv.OpenDB(t, dbURL)
	ctx := context.Background()
	const tn = 5200243
	if _, err := devdata.Seed(ctx, db, devdata.SeedOptions{Tenant: tn, Customers: 300, Seed: 4}); err != nil {
		t.Fatal(err)
	}
	db.SQL().MustExec(`DELETE FROM loan_customers WHERE tenant_id = $1`, tn)
	db.SQL().MustExec(`UPDATE customers SET erasure_requested_at = NULL, last_activity_at = now(), source = CASE WHEN id <= 20 THEN 'trial' ELSE 'web' END WHERE tenant_id = $1`, tn)
	db.SQL().MustExec(`UPDATE customers SET erasure_requested_at = now() WHERE tenant_id = $1 AND id BETWEEN 21 AND 30`, tn)
	db.SQL().MustExec(`UPDATE customers SET last_activity_at = now() - interval '100 days' WHERE tenant_id = $1 AND id BETWEEN 31 AND 45`, tn)
	var policies []sweep.CleanupPolicy
	for _, p := range []sweep.CleanupPolicy{
		{Name: "trial signups", Kind: sweep.CleanupCreatedBy, Params: sweep.CleanupParams{Source: "trial"}},
		{Name: "erasure", Kind: sweep.CleanupErasureRequested},
		{Name: "inactive", Kind: sweep.CleanupInactive, Params: sweep.CleanupParams{Days: 90}},
	} {
		p.TenantID, p.CronSpec, p.MaxBatch, p.Enabled = tn, "0 * * * *", 1000, true
		created, err := db.CreatePolicy(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		policies = append(policies, created)
	}
	due := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	db.SQL().MustExec(`UPDATE cleanup_policies SET next_run_at = $1`, due)

	procs := make([]*workerProcess, 2)
	addrs := make([]string, 2)
	for i := range procs {
		procs[i], addrs[i] = startScheduler(t, bin, dbURL, redisURL)
	}
	// leaders returns the processes that say they hold the scheduler lease,
	// from their metrics. Two at once is a broken lease, whatever the
	// database's de-duplication of batches hides.
	leaders := func() []int {
		t.Helper()
		var out []int
		for i, a := range addrs {
			if procs[i].cmd.ProcessState != nil {
				continue
			}
			resp, err := http.Get("http://" + a + "/metrics")
			if err != nil {
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(b), "\nsweep_scheduler_leader 1") {
				out = append(out, i)
			}
		}
		if len(out) > 1 {
			t.Fatalf("processes %v all hold the scheduler lease at once", out)
		}
		return out
	}
	// leader returns which process holds the scheduler lease.
	leader := func() int {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			if l := leaders(); len(l) == 1 {
				return l[0]
			}
			if time.Now().After(deadline) {
				t.Fatal("no scheduler process holds the lease after 30s")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitBatches := func(want int) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			var n int
			if err := db.SQL().Get(&n, `SELECT count(*) FROM imports WHERE tenant_id = $1 AND status = 'completed'`, tn); err != nil {
				t.Fatal(err)
			}
			if n >= want {
				return
			}
			leaders()
			if time.Now().After(deadline) {
				t.Fatalf("%d completed batches after 60s, want %d", n, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := db.SQL().Get(&n, q, args...); err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitBatches(3)
	// Both processes look ten more times; one leads all along.
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		leaders()
	}
	if n := count(`SELECT count(*) FROM imports WHERE tenant_id = $1`, tn); n != 3 {
		t.Fatalf("imports = %d, want one batch per policy", n)
	}
	if n := count(`SELECT count(DISTINCT cleanup_policy_id) FROM imports WHERE tenant_id = $1 AND source = 'schedule'`, tn); n != 3 {
		t.Errorf("policies with a batch = %d, want 3", n)
	}
	if n := count(`SELECT count(*) FROM deletion_audit WHERE tenant_id = $1`, tn); n != 45 {
		t.Errorf("deleted = %d, want 20 trial + 10 erasure + 15 inactive", n)
	}

	// The leader dies; the other replica takes the lease and runs the next due time.
	dead := leader()
	procs[dead].kill()
	if now := leader(); now == dead {
		t.Fatal("the killed process still leads")
	}
	db.SQL().MustExec(`UPDATE customers SET source = 'trial' WHERE tenant_id = $1 AND id BETWEEN 100 AND 104`, tn)
	next := due.Add(30 * time.Second)
	db.SQL().MustExec(`UPDATE cleanup_policies SET next_run_at = $2 WHERE tenant_id = $1 AND id = $3`, tn, next, policies[0].ID)
	waitBatches(4)
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		leaders()
	}
	if n := count(`SELECT count(*) FROM imports WHERE tenant_id = $1 AND cleanup_policy_id = $2`, tn, policies[0].ID); n != 2 {
		t.Errorf("batches of the trial policy = %d, want 2 (one per due time)", n)
	}
	if n := count(`SELECT count(*) FROM deletion_audit WHERE tenant_id = $1`, tn); n != 50 {
		t.Errorf("deleted = %d, want 50", n)
	}
}
