package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/devdata"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/store"
)

// An import deleted while its validation runs leaves nothing behind, neither
// the row errors (which hold the file's raw values) written before or after
// the delete, nor blocks, nor the stage: the round, when it finishes, finds the
// import gone and keeps nothing. Each case deletes at a different point of the
// round.
func TestDeleteImportWhileValidatingLeavesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testenv.DB(t)
	const tenant = 5200244
	if _, err := devdata.Seed(ctx, db, devdata.SeedOptions{Tenant: tenant, Customers: 50, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	rowErr := func(line int64, value string) *sweep.RowError {
		return &sweep.RowError{Line: line, Column: sweep.ColumnCustomerID, Value: value, Message: "customerId must be a whole number such as 1042."}
	}
	for _, c := range []struct {
		name      string
		rows      bool   // the file has valid rows too, so the round writes blocks
		fileError string // the round ends with a whole-file rejection
	}{
		{name: "only row errors"},
		{name: "rows and errors", rows: true},
		{name: "file rejected", fileError: "The file is not valid."},
	} {
		t.Run(c.name, func(t *testing.T) {
			imp, _, err := db.CreateImport(ctx, store.NewImport{TenantID: tenant, Source: sweep.SourceUpload, Policy: sweep.PolicyLine,
				FileName: "n.csv"}, bytes.NewReader([]byte("action,customerId\nremove,secret-1\nremove,1\nremove,secret-2\n")))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.BeginValidating(ctx, tenant, imp.ID); err != nil {
				t.Fatal(err)
			}
			v, err := db.BeginValidation(ctx, tenant, imp.ID, 10)
			if err != nil {
				t.Fatal(err)
			}
			defer v.Abort()
			if err := v.AddError(ctx, rowErr(2, "secret-1")); err != nil {
				t.Fatal(err)
			}
			if c.rows {
				if err := v.AddRow(ctx, 3, 1); err != nil {
					t.Fatal(err)
				}
			}
			if err := db.DeleteImport(ctx, tenant, imp.ID); err != nil {
				t.Fatalf("delete while validating: %v", err)
			}
			if err := v.AddError(ctx, rowErr(4, "secret-2")); err != nil {
				t.Fatal(err)
			}
			_, err = v.Finish(ctx, sweep.PolicyLine, 3, c.fileError)
			if !errors.Is(err, store.ErrNotValidating) {
				t.Errorf("finish after the delete: %v, want ErrNotValidating", err)
			}
			for _, table := range []string{"imports", "import_files", "import_blocks", "import_errors"} {
				col := "import_id"
				if table == "imports" {
					col = "id"
				}
				if n := testenv.Count(t, db, fmt.Sprintf(`SELECT count(*) FROM %s WHERE tenant_id = $1 AND %s = $2`, table, col), tenant, imp.ID); n != 0 {
					t.Errorf("%s rows of the deleted import: %d, want 0", table, n)
				}
			}
			if n := testenv.Count(t, db, `SELECT count(*) FROM pg_class WHERE relname = $1`, fmt.Sprintf("import_stage_%d", imp.ID)); n != 0 {
				t.Errorf("the stage of the deleted import is still there")
			}
		})
	}
}
