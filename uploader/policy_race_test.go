package uploader_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/sweephq/sweep/uploader"
)

// Two changes of a policy at once never lose one: a disable racing a rename
// stays a disable, and the rename is kept too. Read, change, write again
// had re-enabled a policy 4 times in 30.
func TestConcurrentPolicyChangesLoseNothing(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{}).asAdmin()
	code, p := a.json("POST", "/v1/cleanup-policies",
		`{"name": "nightly", "kind": "inactive", "params": {"days": 365}, "cron_spec": "0 2 * * *", "max_batch": 15}`)
	if code != http.StatusCreated {
		t.Fatalf("create = %d %v", code, p)
	}
	path := fmt.Sprintf("/v1/cleanup-policies/%v", p["id"])
	for round := range 15 {
		if code, got := a.json("PATCH", path, `{"enabled": true}`); code != http.StatusOK {
			t.Fatalf("enable = %d %v", code, got)
		}
		var wg sync.WaitGroup
		codes := make([]int, 2)
		for i, body := range []string{`{"enabled": false}`, fmt.Sprintf(`{"name": "nightly %d"}`, round)} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i], _ = a.json("PATCH", path, body)
			}()
		}
		wg.Wait()
		_, got := a.json("GET", path, "")
		if codes[0] != http.StatusOK || codes[1] != http.StatusOK || got["enabled"] != false || got["name"] != fmt.Sprintf("nightly %d", round) {
			t.Fatalf("round %d: answers %v; policy enabled %v, name %v; want both changes kept (disabled, renamed)", round, codes, got["enabled"], got["name"])
		}
	}
}
