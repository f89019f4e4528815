// Package store keeps sweep's state in PostgreSQL: the schema (embedded goose
// migrations), tenants and tokens, demo data, and the import history.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/plan"
)

// DB is a connection pool to sweep's database.
type DB struct {
	db *sqlx.DB
	// AuditRelatedCounts makes import deletions record, in each audit row, how
	// many related rows of each kind went with the customer. It reads every
	// related table once more per chunk (about a quarter of the throughput), so
	// it is off unless SWEEP_AUDIT_RELATED_COUNTS asks for it; single-customer
	// deletes always count. Set it before use.
	AuditRelatedCounts bool
	// ValidationTimeout is the statement_timeout of a validation's
	// transactions, which carry a whole file's rows and checks (0 leaves the
	// session's). They wait for no platform lock either: lock_timeout is off
	// in them. Set it before use.
	ValidationTimeout time.Duration

	plan    *plan.Compiled // what to erase and how; UsePlan sets it
	hashKey []byte
	// The last check of the plan against the catalog (PlanStanding).
	planMu      sync.Mutex // plan, hashKey
	checkMu     sync.Mutex // planChecked, planProblem
	planChecked time.Time
	planProblem string

	stmtsMu sync.Mutex
	stmts   map[string]*sql.Stmt // the run loop's statements, prepared once
}

// Open connects to the database at url and checks that it answers. It does not
// migrate; see Migrate.
func Open(ctx context.Context, url string) (*DB, error) {
	db, err := sqlx.Open("postgres", url)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return &DB{db: db}, nil
}

// SetMaxConns bounds how many connections the pool opens (32 unless set).
func (db *DB) SetMaxConns(n int) {
	db.db.SetMaxOpenConns(n)
	db.db.SetMaxIdleConns(min(n, 8))
}

// Close closes every connection of the pool.
func (db *DB) Close() error {
	db.stmtsMu.Lock()
	for _, s := range db.stmts {
		s.Close()
	}
	db.stmts = nil
	db.stmtsMu.Unlock()
	return db.db.Close()
}

// stmt returns query as a prepared statement bound to tx. It is prepared once
// per connection of the pool and kept, so PostgreSQL plans the statements a
// run repeats for every chunk once rather than every time.
func (db *DB) stmt(ctx context.Context, tx *sqlx.Tx, query string) (*sql.Stmt, error) {
	db.stmtsMu.Lock()
	s, ok := db.stmts[query]
	if !ok {
		var err error
		if s, err = db.db.PrepareContext(ctx, query); err != nil {
			db.stmtsMu.Unlock()
			return nil, err
		}
		if db.stmts == nil {
			db.stmts = map[string]*sql.Stmt{}
		}
		db.stmts[query] = s
	}
	db.stmtsMu.Unlock()
	return tx.StmtContext(ctx, s), nil
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	return db.db.PingContext(ctx)
}

// SQL returns the underlying pool, for commands and tests that read the database
// directly.
func (db *DB) SQL() *sqlx.DB {
	return db.db
}

// withTx runs fn in one transaction, committing when fn returns nil and rolling
// back otherwise (a panic included).
func (db *DB) withTx(ctx context.Context, fn func(tx *sqlx.Tx) error) (err error) {
	tx, err := db.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// SQLSTATE codes the store reacts to.
const (
	sqlstateForeignKeyViolation = "23503"
	sqlstateUniqueViolation     = "23505"
	sqlstateLockNotAvailable    = "55P03"
)

func isSQLState(err error, code string) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && string(pqErr.Code) == code
}

// notFound turns sql.ErrNoRows into an ENOTFOUND domain error naming what was
// looked for; other errors pass through.
func notFound(err error, format string, args ...any) error {
	if errors.Is(err, sql.ErrNoRows) {
		return sweep.Errorf(sweep.ENOTFOUND, format, args...)
	}
	return err
}
