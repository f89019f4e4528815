package store_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sweephq/sweep/store"
)

// The state guard the database applies is generated from status.go: the
// file in the repository is what the generator writes today.
func TestStateGuardIsGenerated(t *testing.T) {
	got, want := store.StateGuardFile(), store.StateGuardSQL()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("store/guard/import_states.sql has drifted from status.go; run go generate ./store (-want +file):\n%s", d)
	}
}
