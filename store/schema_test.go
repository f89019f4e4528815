package store_test

import (
	"context"
	"testing"

	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/store"
)

func TestWithSchema(t *testing.T) {
	tests := []struct {
		in, schema, want string
	}{
		{"postgres://u:p@db:5432/app?sslmode=disable", "sweep", "postgres://u:p@db:5432/app?search_path=sweep%2Cpublic&sslmode=disable"},
		{"postgresql://db/app", "lending_erasure", "postgresql://db/app?search_path=lending_erasure%2Cpublic"},
		{"postgres://db/app", "public", "postgres://db/app?search_path=public"},
		// The operator's own search_path is kept, as a parameter or in options.
		{"postgres://db/app?search_path=erasure,public", "sweep", "postgres://db/app?search_path=erasure,public"},
		{"postgres://db/app?options=-c%20search_path%3Derasure", "sweep", "postgres://db/app?options=-c%20search_path%3Derasure"},
	}
	for _, tt := range tests {
		got, err := store.WithSchema(tt.in, tt.schema)
		if err != nil || got != tt.want {
			t.Errorf("WithSchema(%q, %q) = %q, %v; want %q", tt.in, tt.schema, got, err, tt.want)
		}
	}
	for _, bad := range []struct{ url, schema string }{
		{"host=db dbname=app", "sweep"},
		{"postgres://db/app", "Sweep"},
		{"postgres://db/app", "sweep,public"},
		{"postgres://db/app", "pg_sweep"},
		{"postgres://db/app", ""},
	} {
		if got, err := store.WithSchema(bad.url, bad.schema); err == nil {
			t.Errorf("WithSchema(%q, %q) = %q; want an error", bad.url, bad.schema, got)
		}
	}
}

// lib/pq sends search_path, which it does not know itself, to the server as
// a run-time parameter: every session of a pool opened through a URL made by
// WithSchema has it, and finds sweep's tables in the schema and the
// platform's in public without naming either.
func TestSessionsFindSweepsSchemaFirst(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testenv.DB(t).SQL()
	for i := range 3 { // three sessions of the pool at once
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var path, tenants, customers string
		err = c.QueryRowContext(ctx, `SELECT current_setting('search_path'),
			(SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = 'tenants'::regclass),
			(SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = 'customers'::regclass)`).Scan(&path, &tenants, &customers)
		if err != nil {
			t.Fatal(err)
		}
		if path != "sweep,public" || tenants != "sweep" || customers != "public" {
			t.Errorf("session %d: search_path %q, tenants in %q, customers in %q; want \"sweep,public\", sweep and public",
				i, path, tenants, customers)
		}
	}
}
