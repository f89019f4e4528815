package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sweephq/sweep/internal/testenv"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// `sweep serve` with every role answers /readyz and stops cleanly on a signal.
func TestServeAllRolesAndShutdown(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	vars := map[string]string{
		"SWEEP_DATABASE_URL": testenv.DatabaseURL(t),
		"SWEEP_REDIS_URL":    testenv.RedisURL(t),
		"SWEEP_HTTP_ADDR":    addr,
		"SWEEP_LOG_FORMAT":   "json",
	}
	ctx, stop := context.WithCancel(context.Background())
	var logs bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--roles", "api,worker,scheduler"}, env(vars), io.Discard, &logs)
	}()

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
		"SWEEP_HTTP_ADDR":    freeAddr(t),
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
	if err := run(ctx, []string{"seed", "--tenant", "77", "--customers", "3"}, env(vars), &out, io.Discard); err != nil {
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
	err = run(ctx, []string{"token", "create", "--tenant", "999", "--scopes", "admin"}, env(vars), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "tenant 999 does not exist") {
		t.Errorf("unknown tenant: %v", err)
	}
}
