package store

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// SessionLimits bound what one of sweep's database sessions may do to the
// platform's database: how long a statement may run, how long it may wait for
// a lock, how long a transaction may sit idle, and how soon the server
// notices a client that vanished without closing its connection (a host
// that lost power, a network that drops packets silently). Zero leaves a
// setting as the server has it.
type SessionLimits struct {
	// StatementTimeout ends a statement that runs longer (statement_timeout).
	StatementTimeout time.Duration
	// LockTimeout ends a statement that waits longer for a lock
	// (lock_timeout): a chunk meeting a platform transaction's row lock gives
	// up quickly and tries again later, instead of queueing behind it and
	// making the platform's next transactions queue behind sweep.
	LockTimeout time.Duration
	// IdleInTransaction ends a session whose transaction sits idle longer
	// (idle_in_transaction_session_timeout), releasing its locks: sweep never
	// idles inside a transaction, so only a client that vanished mid-chunk does.
	IdleInTransaction time.Duration
	// Keepalive is how long an idle connection waits before the server probes
	// the client (tcp_keepalives_idle; then a probe every Keepalive/2, three
	// unanswered probes end the session), and how often a running statement
	// checks that its client is still connected
	// (client_connection_check_interval, PostgreSQL 14 and later).
	Keepalive time.Duration
}

// SessionURL returns url with the limits as run-time parameters of every
// session opened through it. Parameters the URL already sets are kept: the
// operator's URL wins.
func SessionURL(raw string, l SessionLimits) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("session limits need a postgres:// URL")
	}
	q := u.Query()
	set := func(name string, d time.Duration) {
		if d > 0 && q.Get(name) == "" {
			q.Set(name, strconv.FormatInt(d.Milliseconds(), 10))
		}
	}
	set("statement_timeout", l.StatementTimeout)
	set("lock_timeout", l.LockTimeout)
	set("idle_in_transaction_session_timeout", l.IdleInTransaction)
	if l.Keepalive > 0 {
		secs := func(d time.Duration) string { return strconv.Itoa(max(1, int(d.Seconds()))) }
		for name, v := range map[string]string{
			"tcp_keepalives_idle": secs(l.Keepalive), "tcp_keepalives_interval": secs(l.Keepalive / 2),
			"tcp_keepalives_count": "3",
		} {
			if q.Get(name) == "" {
				q.Set(name, v)
			}
		}
		set("client_connection_check_interval", l.Keepalive)
	}
	// The load signal (ActiveBackends) counts the platform's sessions, not
	// sweep's own: they are told apart by this name.
	if q.Get("application_name") == "" {
		q.Set("application_name", ApplicationName)
	}
	u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	return u.String(), nil
}

// longWork gives tx the statement_timeout of a validation and no
// lock_timeout (see DB.ValidationTimeout), for the rest of tx only.
func (db *DB) longWork(ctx context.Context, tx *sqlx.Tx) error {
	timeout := ""
	if db.ValidationTimeout > 0 {
		timeout = strconv.FormatInt(db.ValidationTimeout.Milliseconds(), 10)
	}
	_, err := tx.ExecContext(ctx, `SELECT set_config('statement_timeout', coalesce(nullif($1, ''), current_setting('statement_timeout')), true),
		set_config('lock_timeout', '0', true)`, timeout)
	return err
}
