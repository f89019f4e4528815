package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/store"
)

// freezer is a TCP proxy in front of PostgreSQL that can freeze: then it
// forwards nothing in either direction and keeps every socket open, which is
// how a host that lost power, or a network that drops packets silently, looks
// from the server.
type freezer struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	frozen bool
	ports  []int // the proxy's local ports towards the server, one per session
	conns  []net.Conn
}

func newFreezer(t *testing.T, target string) *freezer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{ln: ln, target: target}
	t.Cleanup(func() {
		ln.Close()
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, c := range f.conns {
			c.Close()
		}
	})
	go f.serve()
	return f
}

func (f *freezer) serve() {
	for {
		client, err := f.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", f.target)
		if err != nil {
			client.Close()
			continue
		}
		f.mu.Lock()
		f.ports = append(f.ports, server.LocalAddr().(*net.TCPAddr).Port)
		f.conns = append(f.conns, client, server)
		f.mu.Unlock()
		go f.pipe(client, server)
		go f.pipe(server, client)
	}
}

// pipe copies until the proxy freezes; a frozen pipe drops what it reads and
// never closes the other side.
func (f *freezer) pipe(from, to net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := from.Read(buf)
		f.mu.Lock()
		frozen := f.frozen
		f.mu.Unlock()
		if frozen {
			if err != nil {
				return // the dead client's side: leave the server's socket open
			}
			continue
		}
		if n > 0 {
			if _, werr := to.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			to.(*net.TCPConn).CloseWrite()
			return
		}
	}
}

func (f *freezer) freeze() {
	f.mu.Lock()
	f.frozen = true
	f.mu.Unlock()
}

func (f *freezer) clientPorts() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.ports...)
}

// A worker's host vanishes in the middle of a chunk: its database connection
// goes silent in both directions (sockets left open) and its process dies.
// The server ends that session within SWEEP_IDLE_IN_TRANSACTION_TIMEOUT (its
// row locks go with it), another worker takes the block over, and the import
// ends exactly as an uninterrupted run does.
func TestSilentHostLossMidChunk(t *testing.T) {
	if testing.Short() {
		t.Skip("the host-loss drill waits for the server to end a dead session; skipped with -short")
	}
	t.Parallel()
	const n = 20_000
	bin := buildSweep(t)
	ctx := context.Background()
	urls, dbs, file := twinDatabases(t, n, 78)
	redis := []string{testenv.RedisURL(t), testenv.RedisURL(t)}
	// The reference: an uninterrupted run.
	idB, _ := runImport(t, bin, dbs[1], urls[1], redis[1], file, 0)

	// The drill: the run's worker reaches PostgreSQL through the proxy, with
	// the default session limits; the scheduler (reconciler) runs apart.
	u, _ := url.Parse(urls[0])
	proxy := newFreezer(t, u.Host)
	viaProxy := *u
	viaProxy.Host = proxy.ln.Addr().String()
	db := dbs[0]
	rdb, err := jobs.OpenRedis(redis[0])
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	spawn := func(dbURL, roles string) *workerProcess {
		cmd := exec.Command(bin, "serve", "--roles", roles)
		cmd.Env = append(os.Environ(), "SWEEP_DATABASE_URL="+dbURL, "SWEEP_REDIS_URL="+redis[0],
			"SWEEP_HTTP_ADDR=127.0.0.1:0", "SWEEP_LOG_LEVEL=warn", "SWEEP_CHUNK_SIZE=2000", "SWEEP_MAX_ROWS_PER_SECOND=0",
			"SWEEP_RECONCILE_INTERVAL=1s", "SWEEP_RECONCILE_AFTER=1m")
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		w := &workerProcess{cmd: cmd}
		t.Cleanup(w.kill)
		return w
	}
	spawn(urls[0], "scheduler")
	doomed := spawn(viaProxy.String(), "worker")

	imp, _, err := db.CreateImport(ctx, store.NewImport{TenantID: crashTenant, Source: sweep.SourceUpload, Policy: sweep.PolicyLine, FileName: "loss.csv"}, bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClientFromRedisClient(rdb)
	task, _ := jobs.NewImportValidateTask(imp)
	if _, err := client.Enqueue(task); err != nil {
		t.Fatal(err)
	}
	waitFor := func(what string, limit time.Duration, until func(sweep.Import) bool) sweep.Import {
		t.Helper()
		return waitImport(t, db, imp.ID, what, limit, until)
	}
	waitFor("validation", time.Minute, func(i sweep.Import) bool { return i.Status == sweep.StatusValidated })
	started, err := db.StartImport(ctx, crashTenant, imp.ID, sweep.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tasks, _ := jobs.StartTasks(started)
	for _, task := range tasks {
		if _, err := client.Enqueue(task); err != nil {
			t.Fatal(err)
		}
	}
	waitFor("the first chunk", time.Minute, func(i sweep.Import) bool { return i.ProcessedRows > 0 })

	// Freeze when one of the proxied sessions is inside a chunk that has
	// written (it holds row locks), then kill the worker.
	var pid int
	deadline := time.Now().Add(time.Minute)
	for pid == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no proxied session was caught inside a chunk within a minute")
		}
		err := db.SQL().Get(&pid, `SELECT coalesce(max(pid), 0) FROM pg_stat_activity
			WHERE datname = current_database() AND client_port = ANY($1) AND backend_xid IS NOT NULL`, intArray(proxy.clientPorts()))
		if err != nil {
			t.Fatal(err)
		}
		if pid != 0 {
			proxy.freeze()
			doomed.cmd.Process.Signal(syscall.SIGKILL)
			doomed.cmd.Wait()
		}
	}
	lost := time.Now()
	var state string
	db.SQL().Get(&state, `SELECT coalesce(state, '') || ' / ' || coalesce(left(query, 60), '') FROM pg_stat_activity WHERE pid = $1`, pid)
	t.Logf("froze session %d (%s), killed its worker", pid, state)
	spawn(urls[0], "worker")

	var released time.Duration
	for released == 0 {
		var alive bool
		if err := db.SQL().Get(&alive, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)`, pid); err != nil {
			t.Fatal(err)
		}
		if !alive {
			released = time.Since(lost)
		} else if time.Since(lost) > 90*time.Second {
			t.Fatalf("the dead host's session %d still exists %s after the loss", pid, time.Since(lost))
		}
		time.Sleep(100 * time.Millisecond)
	}
	done := waitFor("the end", 3*time.Minute, func(i sweep.Import) bool { return i.Status.Terminal() })
	completed := time.Since(lost)
	t.Logf("after the silent loss: session and its locks gone in %s, import %s in %s", released.Round(time.Second), done.Status, completed.Round(time.Second))
	if released > 60*time.Second {
		t.Errorf("locks released %s after the loss; the target is within 60 s", released.Round(time.Second))
	}
	if completed > 2*time.Minute {
		t.Errorf("import completed %s after the loss; the target is within 2 minutes", completed.Round(time.Second))
	}
	want, got := takeSnapshot(t, dbs[1], idB), takeSnapshot(t, db, imp.ID)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the run after a silent host loss differs from the uninterrupted one (-want +got):\n%s", diff)
	}
}

// intArray is a PostgreSQL int[] literal of ports.
func intArray(ports []int) string {
	b := []byte("{")
	for i, p := range ports {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(p), 10)
	}
	return string(append(b, '}'))
}
