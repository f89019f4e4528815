package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"time"

	"github.com/lib/pq"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the embedded migration files, for tools that fingerprint the
// schema (the test template database does).
func Migrations() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the embed pattern above guarantees the directory exists
	}
	return sub
}

// MigrationState is one migration and whether it has been applied.
type MigrationState struct {
	Version   int64
	Name      string
	Applied   bool
	AppliedAt time.Time
}

// Migrator applies the embedded migrations with goose, in sweep's own schema.
// It takes a PostgreSQL advisory lock while it works, so replicas started
// together migrate once.
type Migrator struct {
	db       *sql.DB
	schema   string
	provider *goose.Provider
}

// NewMigrator returns a Migrator that keeps sweep's objects, and goose's
// history of them, in schema. db's sessions must put schema first in their
// search_path (a URL made by WithSchema does): the migrations name their
// objects unqualified, so they are made in the first schema of the path.
func NewMigrator(db *sql.DB, schema string) (*Migrator, error) {
	if err := CheckSchema(schema); err != nil {
		return nil, err
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, fmt.Errorf("migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, Migrations(),
		goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	return &Migrator{db: db, schema: schema, provider: p}, nil
}

// prepare runs before goose, which finds and makes its version table in the
// first schema of the search_path that exists: it makes sweep's schema when
// missing, so nothing falls through to public, and checks that the sessions
// put it first. An install from before migration 00016 keeps goose's history
// in public with sweep's tables; that history moves into the schema here, and
// 00016 moves the tables after it.
func (m *Migrator) prepare(ctx context.Context) error {
	tx, err := m.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("prepare schema %s: %w", m.schema, err)
	}
	defer tx.Rollback()
	// Replicas started together prepare one at a time.
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('sweep schema', 0))`); err != nil {
		return fmt.Errorf("prepare schema %s: %w", m.schema, err)
	}
	// Checked first: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege on
	// the database even when the schema exists, which a role given a schema
	// made by its administrator may lack.
	var exists bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, m.schema).Scan(&exists); err != nil {
		return fmt.Errorf("prepare schema %s: %w", m.schema, err)
	}
	if !exists {
		if _, err := tx.ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS `+pq.QuoteIdentifier(m.schema)); err != nil {
			return fmt.Errorf("create schema %s: %w", m.schema, err)
		}
	}
	var first sql.NullString
	var path string
	if err := tx.QueryRowContext(ctx, `SELECT current_schema(), current_setting('search_path')`).Scan(&first, &path); err != nil {
		return fmt.Errorf("prepare schema %s: %w", m.schema, err)
	}
	if first.String != m.schema {
		return fmt.Errorf("sweep's schema %s is not the first schema of the session's search_path (%s): "+
			"remove search_path from the database URL, or make SWEEP_SCHEMA the schema it names first", m.schema, path)
	}
	if m.schema != "public" {
		// Only a history that sits with sweep's own tables is sweep's: a
		// platform migrated by goose keeps its own goose_db_version in public.
		var old bool
		err := tx.QueryRowContext(ctx, `SELECT to_regclass('public.goose_db_version') IS NOT NULL
			AND to_regclass(format('%I.goose_db_version', $1::text)) IS NULL
			AND to_regclass('public.imports') IS NOT NULL AND to_regclass('public.import_blocks') IS NOT NULL
			AND to_regclass('public.deletion_audit') IS NOT NULL`, m.schema).Scan(&old)
		if err != nil {
			return fmt.Errorf("prepare schema %s: %w", m.schema, err)
		}
		if old {
			if _, err := tx.ExecContext(ctx, `ALTER TABLE public.goose_db_version SET SCHEMA `+pq.QuoteIdentifier(m.schema)); err != nil {
				return fmt.Errorf("move the migration history into schema %s: %w", m.schema, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("prepare schema %s: %w", m.schema, err)
	}
	return nil
}

// Up applies every pending migration and returns the versions it applied,
// then the import state guard generated from status.go (guard.go).
func (m *Migrator) Up(ctx context.Context) ([]int64, error) {
	if err := m.prepare(ctx); err != nil {
		return nil, err
	}
	res, err := m.provider.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate up: %w", err)
	}
	if err := m.applyGuard(ctx); err != nil {
		return versions(res), err
	}
	return versions(res), nil
}

// Down rolls back the newest applied migration and returns its version, or 0
// when nothing was applied.
func (m *Migrator) Down(ctx context.Context) (int64, error) {
	if err := m.prepare(ctx); err != nil {
		return 0, err
	}
	res, err := m.provider.Down(ctx)
	if err != nil {
		if res == nil && isNoMigrations(ctx, m) {
			return 0, nil
		}
		return 0, fmt.Errorf("migrate down: %w", err)
	}
	return res.Source.Version, nil
}

// Reset rolls back every applied migration.
func (m *Migrator) Reset(ctx context.Context) ([]int64, error) {
	if err := m.prepare(ctx); err != nil {
		return nil, err
	}
	res, err := m.provider.DownTo(ctx, 0)
	if err != nil {
		return nil, fmt.Errorf("migrate down to 0: %w", err)
	}
	return versions(res), nil
}

// Status lists every known migration with its state.
func (m *Migrator) Status(ctx context.Context) ([]MigrationState, error) {
	if err := m.prepare(ctx); err != nil {
		return nil, err
	}
	st, err := m.provider.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	out := make([]MigrationState, len(st))
	for i, s := range st {
		out[i] = MigrationState{
			Version:   s.Source.Version,
			Name:      s.Source.Path,
			Applied:   s.State == goose.StateApplied,
			AppliedAt: s.AppliedAt,
		}
	}
	return out, nil
}

func isNoMigrations(ctx context.Context, m *Migrator) bool {
	v, err := m.provider.GetDBVersion(ctx)
	return err == nil && v == 0
}

func versions(res []*goose.MigrationResult) []int64 {
	out := make([]int64, len(res))
	for i, r := range res {
		out[i] = r.Source.Version
	}
	return out
}

// Pending reports whether some embedded migration is not applied yet.
func (m *Migrator) Pending(ctx context.Context) (bool, error) {
	if err := m.prepare(ctx); err != nil {
		return false, err
	}
	p, err := m.provider.HasPending(ctx)
	if err != nil {
		return false, fmt.Errorf("migration status: %w", err)
	}
	return p, nil
}

// Migrator returns the migrator of sweep's objects in schema of this
// database, whose URL must put schema first in the search_path (WithSchema).
func (db *DB) Migrator(schema string) (*Migrator, error) {
	return NewMigrator(db.db.DB, schema)
}
