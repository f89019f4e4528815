package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/store"
)

// Every session opened through SessionURL carries the limits; a setting the
// operator's URL already makes is kept.
func TestSessionLimits(t *testing.T) {
	t.Parallel()
	base := testenv.DatabaseURL(t)
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	url, err := store.SessionURL(base+sep+"lock_timeout=750", store.SessionLimits{
		StatementTimeout: time.Minute, LockTimeout: 2 * time.Second, IdleInTransaction: 30 * time.Second, Keepalive: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	db := testenv.OpenDB(t, url)
	got := map[string]string{}
	for _, name := range []string{"statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout",
		"tcp_keepalives_idle", "tcp_keepalives_interval", "tcp_keepalives_count", "client_connection_check_interval"} {
		var v string
		if err := db.SQL().QueryRowContext(context.Background(), `SELECT current_setting($1)`, name).Scan(&v); err != nil {
			t.Fatal(err)
		}
		got[name] = v
	}
	want := map[string]string{"statement_timeout": "1min", "lock_timeout": "750ms", "idle_in_transaction_session_timeout": "30s",
		"tcp_keepalives_idle": "10", "tcp_keepalives_interval": "5", "tcp_keepalives_count": "3", "client_connection_check_interval": "10s"}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s = %q, want %q", name, got[name], w)
		}
	}
	if _, err := store.SessionURL("host=localhost dbname=sweep", store.SessionLimits{}); err == nil {
		t.Error("a key=value connection string should be refused with a message")
	}
}
