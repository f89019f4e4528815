package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sweephq/sweep/internal/devdata"
	"github.com/sweephq/sweep/internal/testenv"
)

// syncBuffer is a log destination a running sweep writes to while the test
// reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// listeningAddr waits for a sweep started with SWEEP_HTTP_ADDR=127.0.0.1:0
// and SWEEP_LOG_FORMAT=json to log the address it listens on, and returns
// it: the port is the one the process holds, never one picked before and
// taken by someone else meanwhile. exited reports whether the process ended.
func listeningAddr(t *testing.T, logs *syncBuffer, exited func() bool) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		for line := range strings.Lines(logs.String()) {
			var rec struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "http server listening" && rec.Addr != "" {
				return rec.Addr
			}
		}
		if exited() {
			t.Fatalf("sweep exited before listening:\n%s", logs.String())
		}
		if time.Now().After(deadline) {
			t.Fatalf("sweep did not log its address within 30s:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// `sweep serve` with every role answers /readyz and stops cleanly on a signal.
func TestServeAllRolesAndShutdown(t *testing.T) {
	t.Parallel()
	vars := map[string]string{
		"SWEEP_DATABASE_URL": testenv.DatabaseURL(t),
		"SWEEP_REDIS_URL":    testenv.RedisURL(t),
		"SWEEP_HTTP_ADDR":    "127.0.0.1:0",
		"SWEEP_LOG_FORMAT":   "json",
	}
	ctx, stop := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	done := make(chan error, 1)
	var exited atomic.Bool
	go func() {
		err := run(ctx, []string{"serve", "--roles", "api,worker,scheduler"}, env(vars), io.Discard, logs)
		exited.Store(true)
		done <- err
	}()
	addr := listeningAddr(t, logs, exited.Load)

	var code int
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			code = resp.StatusCode
			resp.Body.Close()
			if code == http.StatusOK {
				break
			}
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited early: %v\n%s", err, logs.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	if code != http.StatusOK {
		t.Fatalf("/readyz = %d, want 200", code)
	}

	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v after a stop", err)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("serve did not stop within 40s of a signal")
	}
	for _, want := range []string{`"msg":"http server stopped"`, `"msg":"worker stopped"`, `"msg":"scheduler stopped"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %s:\n%s", want, logs.String())
		}
	}
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Error("the HTTP port still answers after shutdown")
	}
}

func TestServeRefusesAnUnmigratedDatabase(t *testing.T) {
	t.Parallel()
	vars := map[string]string{
		"SWEEP_DATABASE_URL": testenv.EmptyDatabaseURL(t),
		"SWEEP_HTTP_ADDR":    "127.0.0.1:0",
	}
	err := run(context.Background(), []string{"serve"}, env(vars), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "run `sweep migrate up` first") {
		t.Errorf("serve on an empty database: %v, want an instruction to migrate", err)
	}
}

func TestServeRejectsBadConfigAndRoles(t *testing.T) {
	t.Parallel()
	err := run(context.Background(), []string{"serve"}, env(map[string]string{"SWEEP_CHUNK_SIZE": "lots"}), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "SWEEP_CHUNK_SIZE") {
		t.Errorf("bad SWEEP_CHUNK_SIZE: %v, want an error naming it", err)
	}
	err = run(context.Background(), []string{"serve", "--roles", "api,cron"}, env(nil), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `unknown role "cron"`) {
		t.Errorf("bad role: %v, want an error naming it", err)
	}
}

func TestTokenCreateThenAuthenticate(t *testing.T) {
	t.Parallel()
	url := testenv.DatabaseURL(t)
	vars := map[string]string{"SWEEP_DATABASE_URL": url}
	ctx := context.Background()
	var out bytes.Buffer
	if _, err := devdata.Seed(ctx, testenv.OpenDB(t, vars["SWEEP_DATABASE_URL"]), devdata.SeedOptions{Tenant: 77, Customers: 3}); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err := run(ctx, []string{"token", "create", "--tenant", "77", "--scopes", "imports:read,customers:delete", "--name", "ops"}, env(vars), &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	token, _, _ := strings.Cut(out.String(), "\n")

	db := testenv.OpenDB(t, url)
	p, err := db.Authenticate(ctx, token)
	if err != nil {
		t.Fatalf("authenticate the printed token: %v", err)
	}
	if p.TenantID != 77 || len(p.Scopes) != 2 || p.Name != "ops" {
		t.Errorf("principal = %+v", p)
	}
	var hashed, plain int
	if err := db.SQL().QueryRow("SELECT count(*) FROM api_tokens WHERE token_hash = sha256(convert_to($1, 'UTF8'))", token).Scan(&hashed); err != nil {
		t.Fatal(err)
	}
	if err := db.SQL().QueryRow("SELECT count(*) FROM api_tokens t WHERE strpos(t::text, $1) > 0", strings.TrimPrefix(token, "swp_")).Scan(&plain); err != nil {
		t.Fatal(err)
	}
	if hashed != 1 || plain != 0 {
		t.Errorf("rows holding the token's SHA-256: %d, want 1; rows holding it in the clear: %d, want 0", hashed, plain)
	}
	if _, err := db.Authenticate(ctx, token+"x"); err == nil {
		t.Error("a wrong token authenticated")
	}

	err = run(ctx, []string{"token", "create", "--tenant", "77", "--scopes", "everything"}, env(vars), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `unknown scope "everything"`) {
		t.Errorf("bad scope: %v", err)
	}
	err = run(ctx, []string{"token", "create", "--tenant", "999", "--scopes", "admin", "--name", "ops"}, env(vars), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "tenant 999 does not exist") {
		t.Errorf("unknown tenant: %v", err)
	}
}
