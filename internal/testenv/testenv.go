// Package testenv gives each test its own PostgreSQL database and Redis DB, so
// tests run in parallel against the real services and leave nothing behind.
//
// A test whose service is unreachable is skipped with the reason, unless
// SWEEP_TEST_REQUIRE_SERVICES=1 (CI sets it), where it fails.
package testenv

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/lib/pq" // the postgres driver
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"github.com/sweephq/sweep/examples"
	"github.com/sweephq/sweep/store"
)

// DefaultDatabaseURL and DefaultRedisURL are the services the README's scripts
// bring up; SWEEP_TEST_DATABASE_URL and SWEEP_TEST_REDIS_URL override them.
const (
	DefaultDatabaseURL = "postgres://sweep:sweep@127.0.0.1:5432/sweep?sslmode=disable"
	DefaultRedisURL    = "redis://127.0.0.1:6379/0"
)

func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("SWEEP_TEST_REQUIRE_SERVICES") == "1" {
		t.Fatalf("%s (SWEEP_TEST_REQUIRE_SERVICES=1; run `make services` to start them)", msg)
	}
	t.Skipf("%s; run `make services` to start it, or set SWEEP_TEST_REQUIRE_SERVICES=1 to fail instead", msg)
}

func adminURL() string {
	if u := os.Getenv("SWEEP_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultDatabaseURL
}

// withDatabase returns base with its database name replaced by name, for
// sweep's sessions: search_path puts sweep's schema first, as sweep's own
// configuration does (store.WithSchema).
func withDatabase(base, name string) string {
	u, err := url.Parse(base)
	if err != nil {
		panic(fmt.Sprintf("testenv: bad database URL: %v", err))
	}
	u.Path = "/" + name
	s, err := store.WithSchema(u.String(), store.DefaultSchema)
	if err != nil {
		panic(fmt.Sprintf("testenv: %v", err))
	}
	return s
}

// DatabaseURL creates an empty, migrated database for this test, with the demo
// platform's tables, and returns its URL, whose sessions find sweep's tables
// in its schema and the platform's in public. The database is dropped when
// the test ends.
func DatabaseURL(t testing.TB) string {
	t.Helper()
	return newDatabase(t, true)
}

// EmptyDatabaseURL is DatabaseURL without the migrations and the demo
// platform, for migration tests.
func EmptyDatabaseURL(t testing.TB) string {
	t.Helper()
	return newDatabase(t, false)
}

// DB opens DatabaseURL(t) and closes it when the test ends.
func DB(t testing.TB) *store.DB {
	t.Helper()
	return OpenDB(t, DatabaseURL(t))
}

func newDatabase(t testing.TB, migrated bool) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin, err := sql.Open("postgres", adminURL())
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	defer admin.Close()
	if err := admin.PingContext(ctx); err != nil {
		unavailable(t, "PostgreSQL is not reachable at %s: %v", redact(adminURL()), err)
	}
	template := "template0"
	if migrated {
		template = ensureTemplate(t, ctx, admin)
	}
	name := "sweep_test_" + randomHex(6)
	if _, err := admin.ExecContext(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, template)); err != nil {
		t.Fatalf("testenv: create database: %v", err)
	}
	return ownDatabase(t, name)
}

// ownDatabase returns the URL of the test's database name, which is dropped
// when the test ends.
func ownDatabase(t testing.TB, name string) string {
	t.Cleanup(func() {
		admin, err := sql.Open("postgres", adminURL())
		if err != nil {
			return
		}
		defer admin.Close()
		if _, err := admin.Exec(fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name)); err != nil {
			t.Errorf("testenv: drop database %s: %v", name, err)
		}
	})
	return withDatabase(adminURL(), name)
}

// CopyDatabaseURL copies the database at dbURL with CREATE DATABASE ... TEMPLATE,
// as a backup restored next to it would be, and returns the copy's URL; the
// copy is dropped when the test ends. Close every connection to the original
// first: PostgreSQL copies only a database nobody is connected to.
func CopyDatabaseURL(t testing.TB, dbURL string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatalf("testenv: bad database URL: %v", err)
	}
	orig := u.Path[1:]
	admin, err := sql.Open("postgres", adminURL())
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	defer admin.Close()
	name := "sweep_test_" + randomHex(6)
	// The original's last sessions may take a moment to end after their close.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err = admin.Exec(fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, orig))
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("testenv: copy database %s: %v", orig, err)
	}
	return ownDatabase(t, name)
}

// ensureTemplate makes (once per schema version, shared by every test process) a
// migrated database to copy: CREATE DATABASE from a template is much faster than
// running the migrations for each test.
func ensureTemplate(t testing.TB, ctx context.Context, admin *sql.DB) string {
	t.Helper()
	name := "sweep_test_tmpl_" + schemaHash()
	conn, err := admin.Conn(ctx)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	defer conn.Close()
	// One process builds the template while the others wait for it.
	const lockKey = 7_351_202_611
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", lockKey); err != nil {
		t.Fatalf("testenv: lock: %v", err)
	}
	defer conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock($1)", lockKey)

	var exists bool
	if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	if exists {
		holdTemplate(t, name)
		return name
	}
	// Templates of other schemas (older ones, or another checkout's) are
	// dropped only when no test process uses them: each holds a shared lock
	// on the templates it copies until it exits (holdTemplate), and a
	// template whose exclusive lock cannot be taken is left alone.
	var stale []string
	rows, err := conn.QueryContext(ctx, `SELECT datname FROM pg_database WHERE datname LIKE 'sweep\_test\_tmpl\_%' AND datname <> $1`, name)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			t.Fatalf("testenv: %v", err)
		}
		stale = append(stale, d)
	}
	rows.Close()
	for _, d := range stale {
		var free bool
		if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", templateLockName(d)).Scan(&free); err != nil {
			t.Fatalf("testenv: %v", err)
		}
		if !free {
			continue
		}
		// Without FORCE: a session in it means someone uses it after all.
		conn.ExecContext(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s", d))
		conn.ExecContext(ctx, "SELECT pg_advisory_unlock(hashtextextended($1, 0))", templateLockName(d))
	}
	building := name + "_new"
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", building)); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE template0", building)); err != nil {
		t.Fatalf("testenv: create template: %v", err)
	}
	db, err := sql.Open("postgres", withDatabase(adminURL(), building))
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	err = setUp(ctx, db)
	db.Close()
	if err != nil {
		t.Fatalf("testenv: template: %v", err)
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("ALTER DATABASE %s RENAME TO %s", building, name)); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	holdTemplate(t, name)
	return name
}

// setUp migrates sweep's schema in db and makes the demo platform's tables
// beside it, as `sweep migrate up` and `sweep-dev seed` do.
func setUp(ctx context.Context, db *sql.DB) error {
	m, err := store.NewMigrator(db, store.DefaultSchema)
	if err == nil {
		_, err = m.Up(ctx)
	}
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return examples.CreateDemoPlatform(ctx, db)
}

func templateLockName(template string) string { return "sweep-test-template:" + template }

// templateUsers holds, per template this process copies, a session with a
// shared advisory lock on it, open until the process exits: another test
// process (of this checkout or another) then never drops the template while
// this one's tests still copy it.
var templateUsers sync.Map // template name -> *sql.Conn

func holdTemplate(t testing.TB, name string) {
	t.Helper()
	if _, ok := templateUsers.Load(name); ok {
		return
	}
	db, err := sql.Open("postgres", adminURL())
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err == nil {
		_, err = conn.ExecContext(ctx, "SELECT pg_advisory_lock_shared(hashtextextended($1, 0))", templateLockName(name))
	}
	if err != nil {
		t.Fatalf("testenv: hold template %s: %v", name, err)
	}
	if _, loaded := templateUsers.LoadOrStore(name, conn); loaded {
		conn.Close()
		db.Close()
	}
}

// schemaHash fingerprints what a template holds: the migrations, the import
// state guard and the demo platform's schema.
func schemaHash() string {
	h := sha256.New()
	h.Write([]byte(store.StateGuardSQL()))
	demo, err := examples.Schema(examples.Demo)
	if err != nil {
		panic(err)
	}
	h.Write([]byte(demo))
	err = fs.WalkDir(store.Migrations(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(store.Migrations(), path)
		h.Write([]byte(path))
		h.Write(b)
		return err
	})
	if err != nil {
		panic(err)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	return p.Redacted()
}

// RedisURL reserves a Redis DB number (1 to 15) for this test, empties it, and
// returns its URL. The reservation is renewed while the test runs; when the
// test ends the DB is emptied and released, if the reservation is still this
// test's.
func RedisURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("SWEEP_TEST_REDIS_URL")
	if base == "" {
		base = DefaultRedisURL
	}
	opt, err := redis.ParseURL(base)
	if err != nil {
		t.Fatalf("testenv: SWEEP_TEST_REDIS_URL: %v", err)
	}
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	ctl := redis.NewClient(opt)
	defer ctl.Close()
	ctx := context.Background()
	if err := ctl.Ping(ctx).Err(); err != nil {
		unavailable(t, "Redis is not reachable at %s: %v", redact(base), err)
	}
	owner := randomHex(8)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		for n := 1; n <= 15; n++ {
			key := "sweep:test:redis-db:" + strconv.Itoa(n)
			ok, err := ctl.SetNX(ctx, key, owner, reservationTTL).Result()
			if err != nil {
				t.Fatalf("testenv: reserve Redis DB: %v", err)
			}
			if !ok {
				continue
			}
			dbOpt := *opt
			dbOpt.DB = n
			c := redis.NewClient(&dbOpt)
			err = c.FlushDB(ctx).Err()
			c.Close()
			if err != nil {
				t.Fatalf("testenv: flush Redis DB %d: %v", n, err)
			}
			// The reservation lives as long as the test, however long that is:
			// it is renewed while the test runs, and lapses soon after a test
			// process dies without its cleanup.
			stop := make(chan struct{})
			renewed := make(chan struct{})
			go func() {
				defer close(renewed)
				ctl := redis.NewClient(opt)
				defer ctl.Close()
				tick := time.NewTicker(reservationTTL / 4)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
						renewReservation.Run(context.Background(), ctl, []string{key}, owner, reservationTTL.Milliseconds())
					}
				}
			}()
			t.Cleanup(func() {
				close(stop)
				<-renewed
				ctl := redis.NewClient(opt)
				defer ctl.Close()
				// Empty the DB only while it is still this test's, then give it up.
				if cur, err := ctl.Get(context.Background(), key).Result(); err != nil || cur != owner {
					t.Errorf("testenv: Redis DB %d is no longer this test's (owner %q, err %v); left as it is", n, cur, err)
					return
				}
				c := redis.NewClient(&dbOpt)
				c.FlushDB(context.Background())
				c.Close()
				releaseReservation.Run(context.Background(), ctl, []string{key}, owner)
			})
			u, _ := url.Parse(base)
			u.Path = "/" + strconv.Itoa(n)
			return u.String()
		}
		if time.Now().After(deadline) {
			t.Fatal("testenv: no free Redis DB (1-15) after 2 minutes")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// reservationTTL is how long a Redis DB reservation outlives its last renewal.
const reservationTTL = 2 * time.Minute

// renewReservation and releaseReservation act on a reservation only while it
// is still the owner's.
var (
	renewReservation   = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) end return 0`)
	releaseReservation = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)
)

// OpenDB opens the database at url and closes it when the test ends.
func OpenDB(t testing.TB, url string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	// A database with the demo platform erases by its plan.
	if _, err := db.LoadPlan(context.Background(), "", nil); err != nil && !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("testenv: the demo plan: %v", err)
	}
	return db
}

// Count runs a query that returns one number (a count) on db, failing the
// test on an error.
func Count(t testing.TB, db *store.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}
