package jobs_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/jobs"
)

// The tasks of an import carry its identity (id and creation stamp) in the
// payload, and a parsed payload owns only that import.
func TestImportTasksCarryTheImportsIdentity(t *testing.T) {
	created := time.Date(2026, 11, 25, 9, 30, 0, 123456000, time.UTC)
	imp := sweep.Import{ID: 7, TenantID: tenant, CreatedAt: created, Parallelism: 2}
	validate, _ := jobs.NewImportValidateTask(imp)
	run, _ := jobs.NewImportRunTask(imp, 1, "after-3", time.Time{})
	starts, _ := jobs.StartTasks(imp)
	for _, task := range append(starts, validate, run) {
		p, err := jobs.ParseImportPayload(task.Payload())
		if err != nil {
			t.Fatalf("%s: %v", task.Payload(), err)
		}
		if p.Version != jobs.ImportPayloadVersion || p.ImportCreatedUS != created.UnixMicro() {
			t.Errorf("%s: version %d stamp %d; want version %d stamp %d", task.Payload(), p.Version, p.ImportCreatedUS, jobs.ImportPayloadVersion, created.UnixMicro())
		}
		stamp, err := jobs.ImportTaskStamp(p, task.Type(), "ignored for version 2")
		if err != nil || !p.Owns(imp, stamp) {
			t.Errorf("%s does not own its own import: %v", task.Payload(), err)
		}
		later := imp
		later.CreatedAt = created.Add(time.Microsecond)
		if p.Owns(later, stamp) {
			t.Errorf("%s owns an import with the same id created a microsecond later", task.Payload())
		}
		other := imp
		other.TenantID++
		if p.Owns(other, stamp) {
			t.Errorf("%s owns another tenant's import", task.Payload())
		}
	}
	for _, bad := range []string{
		`{"version":2,"tenant_id":5200243,"import_id":7}`,
		`{"version":2,"tenant_id":5200243,"import_id":7,"import_created_us":0}`,
	} {
		if _, err := jobs.ParseImportPayload([]byte(bad)); sweep.ErrorCode(err) != sweep.EINVALID || !strings.Contains(err.Error(), "import_created_us") {
			t.Errorf("%s: %v; want EINVALID naming import_created_us", bad, err)
		}
	}
	if _, err := jobs.ParseImportPayload([]byte(`{"version":3,"tenant_id":5200243,"import_id":7,"import_created_us":1}`)); sweep.ErrorCode(err) != sweep.EVERSION {
		t.Errorf("version 3: %v; want EVERSION", err)
	}
}

// A version 1 payload has no stamp: it is taken from the task id this
// package gave the task, and a task whose id carries none is refused.
func TestImportTaskStampOfVersion1(t *testing.T) {
	created := time.Date(2026, 11, 25, 9, 30, 0, 123456000, time.UTC)
	imp := sweep.Import{ID: 7, TenantID: tenant, CreatedAt: created, Validations: 2}
	us := created.UnixMicro()
	v1 := jobs.ImportPayload{Version: jobs.ImportPayloadV1, TenantID: tenant, ImportID: 7}
	if b, _ := json.Marshal(v1); !strings.Contains(string(b), `"version":1`) || strings.Contains(string(b), "import_created_us") {
		t.Fatalf("a version 1 payload marshals as %s", b)
	}
	if _, err := jobs.ParseImportPayload([]byte(`{"version":1,"tenant_id":5200243,"import_id":7}`)); err != nil {
		t.Fatalf("version 1 payload refused: %v", err)
	}
	for _, c := range []struct {
		typ, id string
		want    int64 // 0: refused
	}{
		{jobs.TypeImportRun, jobs.RunTaskID(imp, 0, "start"), us},
		{jobs.TypeImportRun, jobs.RunTaskID(imp, 3, "after-12"), us},
		{jobs.TypeImportValidate, jobs.ValidateTaskID(imp), us},
		{jobs.TypeImportValidate, jobs.ValidateTaskID(imp, "r1764063000"), us},
		{jobs.TypeImportRun, "import:run:7-1764063000000001:0:start", 1764063000000001},
		// Another import's id in the task id.
		{jobs.TypeImportRun, "import:run:8-" + itoa(us) + ":0:start", 0},
		// The other type's id.
		{jobs.TypeImportRun, jobs.ValidateTaskID(imp), 0},
		// Ids of builds before stamped ids, hand-made ids, none at all.
		{jobs.TypeImportRun, "import:run:7:0:start", 0},
		{jobs.TypeImportRun, "import:run:7-:0:start", 0},
		{jobs.TypeImportRun, "import:run:7-x:0:start", 0},
		{jobs.TypeImportRun, "import:run:7-0:0:start", 0},
		{jobs.TypeImportRun, "my-run-of-7", 0},
		{jobs.TypeImportRun, "", 0},
	} {
		got, err := jobs.ImportTaskStamp(v1, c.typ, c.id)
		if c.want == 0 {
			if sweep.ErrorCode(err) != sweep.EVERSION || !strings.Contains(err.Error(), "cannot tell which import") {
				t.Errorf("%s %q: stamp %d, %v; want it refused", c.typ, c.id, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s %q: stamp %d, %v; want %d", c.typ, c.id, got, err, c.want)
		}
	}
}

// A cleanup:run task carries its policy's identity, and a parsed payload owns
// only that policy; a version 1 payload is refused.
func TestCleanupTaskCarriesThePolicysIdentity(t *testing.T) {
	due := time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC)
	a := sweep.CleanupPolicy{ID: 1, TenantID: tenant, CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 1000, time.UTC)}
	b := a
	b.CreatedAt = a.CreatedAt.Add(time.Microsecond)
	ta, _ := jobs.NewCleanupRunTask(a.TenantID, a.ID, a.CreatedAt, due, 1)
	tb, _ := jobs.NewCleanupRunTask(b.TenantID, b.ID, b.CreatedAt, due, 1)
	if string(ta.Payload()) == string(tb.Payload()) {
		t.Fatalf("same payload for two policies: %s", ta.Payload())
	}
	p, err := jobs.ParseCleanupPayload(ta.Payload())
	if err != nil {
		t.Fatal(err)
	}
	if p.Version != jobs.CleanupPayloadVersion || !p.Owns(a) || p.Owns(b) {
		t.Errorf("payload %s: version %d, owns its policy %v, owns the other %v", ta.Payload(), p.Version, p.Owns(a), p.Owns(b))
	}
	if _, err := jobs.ParseCleanupPayload([]byte(`{"version":1,"tenant_id":5200243,"policy_id":1,"due":"2026-11-25T02:00:00Z"}`)); sweep.ErrorCode(err) != sweep.EVERSION || !strings.Contains(err.Error(), "run-now") {
		t.Errorf("version 1 cleanup payload: %v; want EVERSION saying how to run the policy now", err)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }
