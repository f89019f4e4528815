package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/sweephq/sweep/wire"
)

// `sweep imports impact ID` prints what starting a validated import deletes,
// by kind, what it skips and why, how long it takes and a sample of ids; with
// --json, the API's answer.
func TestImportsImpactCommand(t *testing.T) {
	t.Parallel()
	url, token, _ := cliSweep(t)
	env := map[string]string{"SWEEP_URL": url, "SWEEP_TOKEN": token}
	file := filepath.Join(t.TempDir(), "customers.csv")
	os.WriteFile(file, []byte("action,customerId\nremove,1\nremove,2\nremove,2\nremove,x3\n"), 0o644)
	out, _, _ := runCLI(t, env, "import", file, "--wait", "--json") // exits 3: rows failed
	var imp wire.Import
	if err := json.Unmarshal([]byte(out), &imp); err != nil || imp.Status != "validated" {
		t.Fatalf("import: %v %s", err, out)
	}
	id := strconv.FormatInt(imp.ID, 10)

	out, _, err := runCLI(t, env, "imports", "impact", id)
	if err != nil {
		t.Fatalf("imports impact: %v\n%s", err, out)
	}
	for _, want := range []string{
		`^import ` + id + ` deletes 2 customers and 26 related rows:\n`,
		`\n  public.customer_addresses deleted +2\n  public.customer_phones deleted +4\n`, `\n  public.customer_social_profiles deleted +2\nand skips 2 rows:\n  format +1\n  duplicate +1\n`,
		`\ntakes about 1 s for 2 rows at 10,000 rows/s \(a default of 10,000 rows/s: no import has completed here yet\)\n`,
		`\nfor example customers 1, 2\n`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("output does not match %q:\n%s", want, out)
		}
	}
	out, _, err = runCLI(t, env, "imports", "impact", id, "--json")
	var m wire.Impact
	if err != nil || json.Unmarshal([]byte(out), &m) != nil || m.Customers != 2 || m.RelatedRows != 26 || len(m.Sample) != 2 {
		t.Errorf("imports impact --json: %v\n%s", err, out)
	}
}
