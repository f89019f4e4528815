package store

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/lib/pq"
)

func TestInt64ListScan(t *testing.T) {
	for _, want := range [][]int64{{}, {1}, {1, 2, 3}, {-5, 0, 9223372036854775807}, {-9223372036854775807}} {
		text, err := pq.Array(want).Value()
		if err != nil {
			t.Fatal(err)
		}
		var got int64List
		if err := got.Scan([]byte(text.(string))); err != nil {
			t.Fatalf("Scan(%s): %v", text, err)
		}
		if diff := cmp.Diff(want, []int64(got), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("Scan(%s) (-want +got):\n%s", text, diff)
		}
	}
	for _, bad := range []string{"", "{", "1,2", "{1,,2}", "{a}", "{1,NULL}"} {
		var got int64List
		if err := got.Scan([]byte(bad)); err == nil {
			t.Errorf("Scan(%q) = %v, want an error", bad, got)
		}
	}
}
