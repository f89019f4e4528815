package worker_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/examples"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/lifecycle"
	"github.com/sweephq/sweep/store"
	"github.com/sweephq/sweep/worker"
)

// person is the uuid of examples/uuidkeys' person g in these tests.
func person(g int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", g) }

// uuidFixture is a worker over examples/uuidkeys, erasing by its plan:
// people 1 to n of the tenant with a device each, person 7 holding an open
// account, person 8 invited by person 1; the same people under tenant 2.
func uuidFixture(t *testing.T, n int) *fixture {
	t.Helper()
	db := testenv.DB(t)
	testenv.ExamplePlatform(t, db, "uuidkeys")
	for _, tn := range []int{tenant, 2} {
		for _, q := range []string{
			fmt.Sprintf(`INSERT INTO tenants (id, name) VALUES (%d, 'keys') ON CONFLICT DO NOTHING`, tn),
			fmt.Sprintf(`INSERT INTO public.people (tenant_id, id, full_name) SELECT %d, ('00000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid, 'p' || g FROM generate_series(1, %d) g`, tn, n),
			fmt.Sprintf(`UPDATE public.people SET invited_by = '%s' WHERE tenant_id = %d AND id = '%s'`, person(1), tn, person(8)),
			fmt.Sprintf(`INSERT INTO public.person_devices (tenant_id, person_id, model) SELECT tenant_id, id, 'phone' FROM public.people WHERE tenant_id = %d`, tn),
			fmt.Sprintf(`INSERT INTO public.accounts VALUES (%d, 1, 'open')`, tn),
			fmt.Sprintf(`INSERT INTO public.account_holders VALUES (%d, 1, '%s')`, tn, person(7)),
		} {
			if _, err := db.SQL().Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	rdb, err := jobs.OpenRedis(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	return &fixture{db: db, rdb: rdb, srv: worker.NewServer(rdb, db, worker.Config{Concurrency: 1, ChunkSize: 4})}
}

// A platform whose customers are named by uuid, through a whole import as an
// operator runs it: the file takes uuids in any spelling PostgreSQL reads,
// its row errors name the uuid (a repeat however written, one no one has,
// one an open account blocks, a number where a uuid belongs), the preview's
// sample and the results name uuids, the run erases exactly the valid rows
// in chunks, and the other tenant's same uuids stay.
func TestUUIDCustomersGoThroughAnImport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := uuidFixture(t, 30)
	rows := []string{
		"remove," + person(1), "remove," + person(2), "remove," + person(3),
		"remove,{" + strings.ToUpper(person(4)) + "}",      // braces and capitals: person 4
		"remove," + strings.ReplaceAll(person(2), "-", ""), // person 2 again, without hyphens
		"remove,ffffffff-0000-4000-8000-000000000000",      // no one
		"remove," + person(7),                              // an open account
		"remove,12345",                                     // not a uuid
		"remove," + person(5), "remove," + person(6), "remove," + person(9), "remove," + person(10),
	}
	imp := f.validate(t, f.upload(t, csvOf(rows...), sweep.PolicyLine))
	if imp.Status != sweep.StatusValidated || imp.ValidRows != 8 || imp.ErrorRows != 4 {
		t.Fatalf("validated: status %s, %d valid, %d errors; want validated, 8 and 4", imp.Status, imp.ValidRows, imp.ErrorRows)
	}
	var errs []string
	if err := f.db.EachImportError(ctx, tenant, imp.ID, func(e store.ImportError) error {
		errs = append(errs, fmt.Sprintf("%d %s: %s", e.Line, e.Value, e.Message))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"6 " + person(2) + ": customerId " + person(2) + " already appears on line 3. Remove this repeated row.",
		"7 ffffffff-0000-4000-8000-000000000000: No customer with id ffffffff-0000-4000-8000-000000000000 exists. Check the id; if the customer was already deleted, remove the row.",
		"8 " + person(7) + ": Person " + person(7) + " holds an open account, and accounts are never deleted. Close the account first, then validate this import again.",
		`9 12345: customerId must be a UUID such as 3f2b8c1e-5d4a-4e8f-9b1c-7a6d5e4f3c2b (32 hexadecimal digits, in groups of 8-4-4-4-12); found "12345". Check the id.`,
	}
	if diff := cmp.Diff(want, errs); diff != "" {
		t.Errorf("row errors (-want +got):\n%s", diff)
	}
	// Only keys that name a customer are numbered; nothing is kept of the
	// others.
	if n := f.count(t, `SELECT count(*) FROM subject_keys WHERE key = 'ffffffff-0000-4000-8000-000000000000'`); n != 0 {
		t.Errorf("the key that names no one was numbered (%d rows)", n)
	}
	m, err := f.db.ComputeImpact(ctx, tenant, imp.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if m.Customers != 8 || len(m.Sample) != 0 || len(m.SampleKeys) == 0 || m.SampleKeys[0] != person(1) {
		t.Errorf("impact: %d customers, sample %v, sample keys %v; want 8, no numbers, uuids from %s", m.Customers, m.Sample, m.SampleKeys, person(1))
	}

	f.start(t, imp)
	task, _ := jobs.NewImportRunTask(imp, 0, "start", time.Time{})
	if err := f.srv.Handler().ProcessTask(ctx, task); err != nil {
		t.Fatal(err)
	}
	done, err := f.db.GetImport(ctx, tenant, imp.ID)
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != sweep.StatusCompletedWithErrors || done.DeletedRows != 8 {
		t.Fatalf("run: status %s, %d deleted; want completed_with_errors (the four row errors), 8", done.Status, done.DeletedRows)
	}
	if diff := cmp.Diff(map[string]int64{"public.people deleted": 8, "public.person_devices deleted": 8, "public.people detached": 1}, done.ErasedRows); diff != "" {
		t.Errorf("the import's rows by the plan (-want +got):\n%s", diff)
	}
	var left []string
	if err := f.db.SQL().Select(&left, `SELECT right(id::text, 2) FROM public.people WHERE tenant_id = $1 AND id <= $2 ORDER BY id`, tenant, person(12)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"07", "08", "11", "12"}, left); diff != "" {
		t.Errorf("people 1 to 12 left (-want +got):\n%s", diff)
	}
	if n := f.count(t, `SELECT count(*) FROM public.people WHERE tenant_id = 2`); n != 30 {
		t.Errorf("tenant 2 has %d people, want its 30", n)
	}
	if n := f.count(t, `SELECT count(*) FROM public.people WHERE tenant_id = $1 AND invited_by IS NOT NULL`, tenant); n != 0 {
		t.Errorf("%d people still point at an erased inviter", n)
	}
	if n := f.count(t, `SELECT count(*) FROM deletion_audit WHERE tenant_id = $1 AND import_id = $2`, tenant, imp.ID); n != 8 {
		t.Errorf("%d audit rows, want 8", n)
	}
	var outcomes []string
	if err := f.db.EachOutcome(ctx, tenant, imp.ID, func(o store.Outcome) error {
		outcomes = append(outcomes, fmt.Sprintf("%d %s %s", o.Line, o.CustomerID, o.Outcome))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(outcomes) != 12 || outcomes[3] != "5 "+person(4)+" deleted" {
		t.Errorf("results: %q; want 12 lines, line 5 naming %s as deleted", outcomes, person(4))
	}
}

// DELETE /v1/customers/{id} of a uuid: any spelling names the person, a
// second delete is 404, and neither a malformed id nor a uuid no one has
// leaves a number behind in sweep's key table.
func TestUUIDCustomerDeletedOneAtATime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := uuidFixture(t, 10)
	// The same uuid in two tenants is two customers, numbered apart: the
	// other tenant's goes first, and each delete takes its own tenant's.
	if err := f.db.DeleteCustomerByKey(ctx, 2, person(3), 1); err != nil {
		t.Fatal(err)
	}
	f.db.SQL().MustExec(`INSERT INTO public.people (tenant_id, id, full_name) VALUES (2, $1, 'back')`, person(3))
	if err := f.db.DeleteCustomerByKey(ctx, tenant, strings.ToUpper(person(3)), 1); err != nil {
		t.Fatal(err)
	}
	// And the other tenant's again, its number found among both.
	if err := f.db.DeleteCustomerByKey(ctx, 2, person(3), 1); err != nil {
		t.Fatalf("tenant 2's %s, again: %v", person(3), err)
	}
	if n := f.count(t, `SELECT count(*) FROM public.people WHERE tenant_id = 2 AND id = $1`, person(3)); n != 0 {
		t.Errorf("tenant 2's %s is still there", person(3))
	}
	f.db.SQL().MustExec(`INSERT INTO public.people (tenant_id, id, full_name) VALUES (2, $1, 'back again')`, person(3))
	if n := f.count(t, `SELECT count(*) FROM public.people WHERE id = $1`, person(3)); n != 1 {
		t.Errorf("%d people %s left, want tenant 2's only", n, person(3))
	}
	for _, raw := range []string{person(3), "ffffffff-0000-4000-8000-000000000000", "12345", person(3) + " "} {
		if err := f.db.DeleteCustomerByKey(ctx, tenant, raw, 1); sweep.ErrorCode(err) != sweep.ENOTFOUND {
			t.Errorf("delete %q: %v, want not found", raw, err)
		}
	}
	err := f.db.DeleteCustomerByKey(ctx, tenant, person(7), 1)
	if sweep.ErrorCode(err) != sweep.ELINKED || !strings.Contains(sweep.ErrorMessage(err), "Person "+person(7)+" holds an open account") {
		t.Errorf("delete the account holder: %v, want refused with the plan's sentence", err)
	}
	var keys []string
	if err := f.db.SQL().Select(&keys, `SELECT key FROM subject_keys ORDER BY key`); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{person(3), person(3), person(7)}, keys); diff != "" {
		t.Errorf("numbered keys (-want +got):\n%s", diff)
	}
}

// A cleanup policy over a platform whose customers are named by uuid
// selects them by key, the blocked one left out, in key order.
func TestUUIDCustomersSelectedByACleanupPolicy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := uuidFixture(t, 10)
	f.db.SQL().MustExec(`UPDATE public.people SET seen_at = now() - interval '400 days' WHERE tenant_id = $1 AND id IN ($2, $3, $4)`, tenant, person(2), person(7), person(9))
	pv, err := f.db.PreviewPolicy(ctx, sweep.CleanupPolicy{TenantID: tenant, Kind: sweep.CleanupInactive, Params: sweep.CleanupParams{Days: 365}, MaxBatch: 100}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if pv.Count != 2 || len(pv.CustomerIDs) != 0 || !cmp.Equal(pv.CustomerKeys, []string{person(2), person(9)}) {
		t.Errorf("preview: %d, ids %v, keys %v; want 2, no ids, the keys of people 2 and 9 (7 holds an open account)", pv.Count, pv.CustomerIDs, pv.CustomerKeys)
	}
}

// A run holds, deleting nothing, with reason plan when the platform gained a
// table that points at a customer since the plan was checked, and when the
// import was validated under another plan; it goes on once the plan fits
// again.
func TestRunHoldsWhileThePlanDoesNotFit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := uuidFixture(t, 10)
	run := func(imp sweep.Import) sweep.Import {
		t.Helper()
		task, _ := jobs.NewImportRunTask(imp, 0, "start", time.Time{})
		if err := f.srv.Handler().ProcessTask(ctx, task); err != nil {
			t.Fatal(err)
		}
		got, err := f.db.GetImport(ctx, tenant, imp.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	people := func() int64 { return f.count(t, `SELECT count(*) FROM public.people WHERE tenant_id = $1`, tenant) }
	imp := f.validate(t, f.upload(t, csvOf("remove,"+person(1), "remove,"+person(2)), sweep.PolicyLine))
	f.start(t, imp)

	// A table the plan does not name now points at the people.
	f.db.SQL().MustExec(`CREATE TABLE public.person_notes (tenant_id bigint, person_id uuid, FOREIGN KEY (tenant_id, person_id) REFERENCES public.people (tenant_id, id))`)
	f.db.ForgetPlanCheck()
	held := run(imp)
	if held.Status != sweep.StatusQueued && held.Status != sweep.StatusRunning || held.Hold == nil || held.Hold.Reason != sweep.HoldPlan ||
		!strings.Contains(held.Hold.Message, "public.person_notes") || people() != 10 {
		t.Fatalf("with a table the plan misses: %s, hold %+v, %d people; want held with reason plan naming the table, nothing deleted", held.Status, held.Hold, people())
	}
	f.db.SQL().MustExec(`DROP TABLE public.person_notes`)
	f.db.ForgetPlanCheck()

	// Another plan (consents deleted, not kept) than the one it was validated under.
	b, err := examples.Plan("uuidkeys")
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "other.yaml")
	if err := os.WriteFile(other, []byte(strings.Replace(string(b), "  public.consents:\n    keep: \"evidence of consent, kept; its person_id is set to null by its key\"", "  public.consents: delete", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.LoadPlan(ctx, other, nil); err != nil {
		t.Fatal(err)
	}
	held = run(held)
	if held.Hold == nil || held.Hold.Reason != sweep.HoldPlan || !strings.Contains(held.Hold.Message, "validated under erasure plan") || people() != 10 {
		t.Fatalf("under another plan: %s, hold %+v, %d people; want held, nothing deleted", held.Status, held.Hold, people())
	}

	// The plan it was validated under, back: the run goes on.
	testenv.ExamplePlatformPlan(t, f.db, "uuidkeys")
	if done := run(held); done.Status != sweep.StatusCompleted || people() != 8 {
		t.Errorf("with its plan back: %s, %d people; want completed, 8", done.Status, people())
	}
}

// The approval threshold has one encoding, the environment's: the process's
// lifecycle owner holds it, 0 never asks, and an import that starts by
// itself above it waits for a second person.
func TestApprovalThresholdOfTheProcessOwner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		threshold int64
		want      sweep.Status
	}{{5, sweep.StatusAwaitingApproval}, {0, sweep.StatusQueued}, {50, sweep.StatusQueued}} {
		f := newFixture(t, 30, 0)
		f.configure(worker.Config{Concurrency: 1, Lifecycle: lifecycle.New(f.db, f.rdb, nil).SetApproval(tc.threshold, 0)})
		imp, _, err := f.db.CreateImport(ctx, store.NewImport{TenantID: tenant, Source: sweep.SourceUpload, Policy: sweep.PolicyLine, FileName: "t.csv", AutoStart: true},
			bytes.NewReader(csvOf(ids(1, 10)...)))
		if err != nil {
			t.Fatal(err)
		}
		if got := f.validate(t, imp); got.Status != tc.want {
			t.Errorf("threshold %d, 10 customers: %s, want %s", tc.threshold, got.Status, tc.want)
		}
	}
}

// A database the plan does not fit answers every key question with the
// plan's trouble, never with a key read as something it is not.
func TestKeyOfADatabaseNoPlanFits(t *testing.T) {
	t.Parallel()
	url := testenv.DatabaseURL(t)
	raw := testenv.OpenDB(t, url)
	raw.SQL().MustExec(`ALTER TABLE public.customers RENAME TO clients_elsewhere`) // the demo plan no longer fits
	db, err := store.Open(context.Background(), url)                               // as serve opens it, no plan loaded yet
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Key(context.Background()); sweep.ErrorCode(err) != sweep.EUNAVAILABLE {
		t.Errorf("Key = %v, want unavailable, saying why", err)
	}
	if _, err := db.KeyNames(context.Background(), tenant, []int64{1}); sweep.ErrorCode(err) != sweep.EUNAVAILABLE {
		t.Errorf("KeyNames = %v, want unavailable", err)
	}
	if _, _, err := db.CustomerNumber(context.Background(), tenant, "1"); sweep.ErrorCode(err) != sweep.EUNAVAILABLE {
		t.Errorf("CustomerNumber = %v, want unavailable", err)
	}
}
