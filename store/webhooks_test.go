package store_test

import (
	"database/sql"
	"testing"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/testenv"
)

// The database's trigger and the root package name the same event for every
// status an import can enter.
func TestImportWebhookTypesAgree(t *testing.T) {
	db := testenv.DB(t)
	for _, s := range sweep.Statuses {
		var got sql.NullString
		if err := db.SQL().Get(&got, `SELECT sweep_import_webhook_type($1)`, s); err != nil {
			t.Fatal(err)
		}
		want, ok := sweep.ImportEventType(s)
		if got.Valid != ok || got.String != string(want) {
			t.Errorf("status %s: database sends %q (%v), the root package %q (%v)", s, got.String, got.Valid, want, ok)
		}
	}
}
