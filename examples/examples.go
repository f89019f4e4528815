// Package examples holds the example platforms sweep is shown and tested
// against, one directory each: the demo lending platform is examples/demo.
// A platform's schema.sql makes its tables, and its plan.yaml is the erasure
// plan its operator would write; sweep's migrations make none of its tables,
// as they make nothing of a real platform's.
package examples

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
)

//go:embed */schema.sql */plan.yaml
var files embed.FS

// Demo is the name of the demo lending platform: customers, the records that
// go with them, and the loans that keep them.
const Demo = "demo"

// Schema returns the schema.sql of the example platform name, such as Demo.
func Schema(name string) (string, error) {
	b, err := fs.ReadFile(files, name+"/schema.sql")
	if err != nil {
		return "", fmt.Errorf("no example platform named %q", name)
	}
	return string(b), nil
}

// Execer runs a statement: *sql.DB, *sql.Conn and *sql.Tx are Execers, and
// so are their sqlx wrappers.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// CreateDemoPlatform makes the demo platform's tables, in public, where they
// are missing; tables already there are left as they are. The whole schema
// goes as one statement list without parameters, which PostgreSQL runs in
// one transaction: it makes all of it or nothing.
func CreateDemoPlatform(ctx context.Context, db Execer) error {
	schema, err := Schema(Demo)
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, schema); err != nil {
		return fmt.Errorf("create the demo platform's tables: %w", err)
	}
	return nil
}
