package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/examples"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/store"
)

// seedRestrict fills examples/restrict with n clients of crashTenant: every
// fifth referred by the one before, two contacts each with their consents,
// an event in one of two partitions, a credit link on every third (an open
// credit on every thirtieth, which blocks), a payment (every other one older
// than seven years), a ledger entry, a document and an own address.
func seedRestrict(t *testing.T, db *store.DB, n int) {
	t.Helper()
	schema, err := examples.Schema("restrict")
	if err != nil {
		t.Fatal(err)
	}
	tn, ns := strconv.Itoa(crashTenant), strconv.Itoa(n)
	for _, q := range []string{
		schema,
		`INSERT INTO tenants (id, name) VALUES (` + tn + `, 'crash') ON CONFLICT DO NOTHING`,
		`INSERT INTO public.addresses (line1, city) SELECT 'line ' || g, 'city' FROM generate_series(1, ` + ns + `) g`,
		`INSERT INTO public.clients (tenant_id, id, name, email, national_id, address_id, last_seen_at)
			SELECT ` + tn + `, g, 'name ' || g, 'e' || g || '@example.com', 'N' || g, g, '2026-01-01' FROM generate_series(1, ` + ns + `) g`,
		`UPDATE public.clients SET referred_by = id - 1 WHERE tenant_id = ` + tn + ` AND id % 5 = 0`,
		`INSERT INTO public.client_contacts (tenant_id, client_id, phone) SELECT ` + tn + `, g, 'phone' FROM generate_series(1, ` + ns + `) g, generate_series(1, 2)`,
		`INSERT INTO public.contact_consents (tenant_id, contact_id, given_at) SELECT tenant_id, id, '2026-01-01' FROM public.client_contacts`,
		`INSERT INTO public.client_events SELECT ` + tn + `, g, '2026-06-01'::timestamptz + (g % 2) * interval '1 year', 'login' FROM generate_series(1, ` + ns + `) g`,
		`INSERT INTO public.credits VALUES (` + tn + `, 1, 'open'), (` + tn + `, 2, 'closed')`,
		`INSERT INTO public.credit_holders SELECT ` + tn + `, CASE WHEN g % 10 = 0 THEN 1 ELSE 2 END, g FROM generate_series(3, ` + ns + `, 3) g`,
		`INSERT INTO public.payments (tenant_id, client_id, payer_name, iban, amount_cents, created_at)
			SELECT ` + tn + `, g, 'payer', 'DE0012', 100, '2026-01-01'::timestamptz - (g % 2) * interval '8 years' FROM generate_series(1, ` + ns + `) g`,
		`INSERT INTO public.ledger_entries (tenant_id, client_id, amount_cents) SELECT ` + tn + `, g, 100 FROM generate_series(1, ` + ns + `) g`,
		`INSERT INTO public.documents (tenant_id, entity_type, entity_id, title) SELECT ` + tn + `, 'client', g, 'doc' FROM generate_series(1, ` + ns + `) g`,
		`ANALYZE`,
	} {
		if _, err := db.SQL().Exec(q); err != nil {
			t.Fatalf("seed examples/restrict: %v", err)
		}
	}
}

// uuidSeed fills examples/uuidkeys with n people of crashTenant: every fifth
// invited by the one before, two devices each with a push token, an account
// link on every third (an open account on every thirtieth, which blocks) and
// a consent each.
func uuidSeed(t *testing.T, db *store.DB, n int) {
	t.Helper()
	schema, err := examples.Schema("uuidkeys")
	if err != nil {
		t.Fatal(err)
	}
	tn, ns := strconv.Itoa(crashTenant), strconv.Itoa(n)
	for _, q := range []string{
		schema,
		`INSERT INTO tenants (id, name) VALUES (` + tn + `, 'crash') ON CONFLICT DO NOTHING`,
		`INSERT INTO public.people (tenant_id, id, full_name, email, seen_at)
			SELECT ` + tn + `, ` + uuidOf("g") + `, 'name ' || g, 'e' || g || '@example.com', '2026-01-01' FROM generate_series(1, ` + ns + `) g`,
		`UPDATE public.people p SET invited_by = ` + uuidOf("(right(p.id::text, 12)::bigint - 1)") + ` WHERE tenant_id = ` + tn + ` AND right(id::text, 12)::bigint % 5 = 0`,
		`INSERT INTO public.person_devices (tenant_id, person_id, model) SELECT tenant_id, id, 'phone' FROM public.people, generate_series(1, 2)`,
		`INSERT INTO public.push_tokens SELECT tenant_id, id, 'token' FROM public.person_devices`,
		`INSERT INTO public.accounts VALUES (` + tn + `, 1, 'open'), (` + tn + `, 2, 'closed')`,
		`INSERT INTO public.account_holders SELECT ` + tn + `, CASE WHEN g % 10 = 0 THEN 1 ELSE 2 END, ` + uuidOf("g") + ` FROM generate_series(3, ` + ns + `, 3) g`,
		`INSERT INTO public.consents (tenant_id, person_id, purpose, given_at) SELECT tenant_id, id, 'terms', '2026-01-01' FROM public.people`,
		`ANALYZE`,
	} {
		if _, err := db.SQL().Exec(q); err != nil {
			t.Fatalf("seed examples/uuidkeys: %v", err)
		}
	}
}

// uuidOf is the uuid of person g (an SQL expression) in uuidSeed.
func uuidOf(g string) string {
	return `('00000000-0000-4000-8000-' || lpad((` + g + `)::text, 12, '0'))::uuid`
}

// uuidFile names people 1 to n in a shuffled order, some in capitals, and a
// row that is no uuid and one that names no one.
func uuidFile(n int) []byte {
	var file bytes.Buffer
	file.WriteString("action,customerId\n")
	for i, p := range rand.New(rand.NewPCG(5, 5)).Perm(n) {
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", p+1)
		if i%7 == 0 {
			id = strings.ToUpper(id)
		}
		fmt.Fprintf(&file, "remove,%s\n", id)
	}
	file.WriteString("remove,not-a-uuid\nremove,ffffffff-0000-4000-8000-000000000000\n")
	return file.Bytes()
}

// textSeed fills examples/textkeys with n subscribers of crashTenant,
// coded CUST-000001 and up, each with a subscription, an invoice and two
// notes (one about the subscriber, one about a ticket of the same code).
func textSeed(t *testing.T, db *store.DB, n int) {
	t.Helper()
	schema, err := examples.Schema("textkeys")
	if err != nil {
		t.Fatal(err)
	}
	tn, ns := strconv.Itoa(crashTenant), strconv.Itoa(n)
	code := `'CUST-' || lpad(g::text, 6, '0')`
	for _, q := range []string{
		schema,
		`INSERT INTO tenants (id, name) VALUES (` + tn + `, 'crash') ON CONFLICT DO NOTHING`,
		`INSERT INTO public.subscribers SELECT ` + tn + `, ` + code + `, 'name ' || g, '555' FROM generate_series(1, ` + ns + `) g`,
		`INSERT INTO public.subscriptions (tenant_id, subscriber_code, plan_name) SELECT ` + tn + `, ` + code + `, 'gold' FROM generate_series(1, ` + ns + `) g`,
		`INSERT INTO public.invoices (tenant_id, subscriber_code, billed_name, amount_cents) SELECT ` + tn + `, ` + code + `, 'name', 100 FROM generate_series(1, ` + ns + `) g`,
		`INSERT INTO public.notes (tenant_id, subject_kind, subject_code, body) SELECT ` + tn + `, k, ` + code + `, 'note' FROM generate_series(1, ` + ns + `) g, unnest(ARRAY['subscriber', 'ticket']) k`,
		`ANALYZE`,
	} {
		if _, err := db.SQL().Exec(q); err != nil {
			t.Fatalf("seed examples/textkeys: %v", err)
		}
	}
}

// textFile names subscribers 1 to n shuffled, and a code no one has, one in
// the wrong letter case and one with a space after it.
func textFile(n int) []byte {
	var file bytes.Buffer
	file.WriteString("action,customerId\n")
	for _, p := range rand.New(rand.NewPCG(5, 5)).Perm(n) {
		fmt.Fprintf(&file, "remove,CUST-%06d\n", p+1)
	}
	file.WriteString("remove,CUST-999999\nremove,cust-000001\nremove,CUST-000002 \n")
	return file.Bytes()
}

// crashPlatform is a platform the plan drill erases.
type crashPlatform struct {
	name    string   // of examples
	tables  []string // of public, compared row by row
	subject string   // the subject table, as the counts name it
	n       int      // customers (SWEEP_CRASH_CUSTOMERS scales it)
	seed    func(t *testing.T, db *store.DB, n int)
	file    func(n int) []byte
	// env is the workers' extra environment: a pace for a platform whose
	// run would otherwise end before the kills land.
	env []string
	// anonymized: the plan anonymizes the customers instead of deleting
	// them.
	anonymized bool
	// left counts the customers the run leaves as they were (SQL);
	// blockedEvery says which it must leave: every blockedEvery-th, which
	// the plan's block keeps (0: none).
	left         string
	blockedEvery int
}

var crashPlatforms = []crashPlatform{
	{name: "restrict", subject: "public.clients", n: 30_000, seed: seedRestrict, file: crashFile,
		left: `SELECT count(*) FROM public.clients`, blockedEvery: 30,
		tables: []string{"clients", "addresses", "client_contacts", "contact_consents", "client_events", "credit_holders", "payments", "ledger_entries", "documents"}},
	{name: "uuidkeys", subject: "public.people", n: 30_000, seed: uuidSeed, file: uuidFile, env: []string{"SWEEP_MAX_ROWS_PER_SECOND=8000"},
		left: `SELECT count(*) FROM public.people`, blockedEvery: 30,
		tables: []string{"people", "person_devices", "push_tokens", "account_holders", "consents"}},
	{name: "textkeys", subject: "public.subscribers", n: 30_000, seed: textSeed, file: textFile, env: []string{"SWEEP_MAX_ROWS_PER_SECOND=8000"},
		left:   `SELECT count(*) FROM public.subscribers`,
		tables: []string{"subscribers", "subscriptions", "invoices", "notes"}},
	{name: "onetenant", subject: "public.members", n: 30_000, seed: oneTenantSeed, file: crashFile, env: []string{"SWEEP_MAX_ROWS_PER_SECOND=8000"},
		left:   `SELECT count(*) FROM public.members WHERE full_name <> 'erased member'`,
		tables: []string{"members", "member_cards", "card_transactions"}, anonymized: true},
}

// oneTenantSeed fills examples/onetenant, whose whole database is one
// tenant's, with n members, each with two cards and a transaction per card.
func oneTenantSeed(t *testing.T, db *store.DB, n int) {
	t.Helper()
	schema, err := examples.Schema("onetenant")
	if err != nil {
		t.Fatal(err)
	}
	ns := strconv.Itoa(n)
	for _, q := range []string{
		schema,
		`INSERT INTO tenants (id, name) VALUES (` + strconv.Itoa(crashTenant) + `, 'crash') ON CONFLICT DO NOTHING`,
		`INSERT INTO public.members SELECT g, 'member ' || g, '555' FROM generate_series(1, ` + ns + `) g`,
		`INSERT INTO public.member_cards (member_no, pan_last4) SELECT g, '1234' FROM generate_series(1, ` + ns + `) g, generate_series(1, 2)`,
		`INSERT INTO public.card_transactions (card_id, amount_cents) SELECT id, 100 FROM public.member_cards`,
		`ANALYZE`,
	} {
		if _, err := db.SQL().Exec(q); err != nil {
			t.Fatalf("seed examples/onetenant: %v", err)
		}
	}
}

// snapshot is every row of the platform's tables, table by table.
func (cp crashPlatform) snapshot(t *testing.T, db *store.DB) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, tb := range cp.tables {
		var s string
		if err := db.SQL().Get(&s, `SELECT count(*) || ' ' || coalesce(md5(string_agg(r::text, ';' ORDER BY r::text)), '') FROM public.`+tb+` r`); err != nil {
			t.Fatal(err)
		}
		out[tb] = s
	}
	return out
}

// Platforms that are not the demo, erased by their own plans, validated,
// previewed and run by worker processes started with SWEEP_PLAN, one of them
// killed with -9 three times mid-run: examples/restrict (every foreign key
// RESTRICT, a grandchild, a partitioned child, a block with a predicate,
// anonymized payments, a kept ledger, an owned address, a reference without
// a key, customers referring customers), examples/uuidkeys (customers
// named by uuid, the file spelling some in capitals), examples/textkeys
// (named by a text code, with a reference no key declares) and
// examples/onetenant (a database of one tenant, no tenant column,
// members anonymized rather than deleted). Each ends with the same rows in
// every table as an uninterrupted run, and the preview said, table by
// table, what the run did.
func TestKilledWorkerOnAnotherPlatformEndsAsTheUninterruptedRun(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds two platforms and kills worker processes; skipped with -short")
	}
	t.Parallel()
	bin := buildSweep(t)
	for _, pf := range crashPlatforms {
		t.Run(pf.name, func(t *testing.T) {
			t.Parallel()
			pf.drill(t, bin)
		})
	}
}

func (pf crashPlatform) drill(t *testing.T, bin string) {
	n := pf.n
	if s := os.Getenv("SWEEP_CRASH_CUSTOMERS"); s != "" {
		n, _ = strconv.Atoi(s)
		n /= 6
	}
	ctx := context.Background()
	b, err := examples.Plan(pf.name)
	if err != nil {
		t.Fatal(err)
	}
	// A database of one tenant is the drill's tenant's.
	b = []byte(strings.Replace(string(b), "database_tenant: 7", "database_tenant: "+strconv.Itoa(crashTenant), 1))
	planFile := filepath.Join(t.TempDir(), "plan.yaml")
	if err := os.WriteFile(planFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	const hashKey = "a-test-secret-of-at-least-32-bytes!"
	env := append([]string{"SWEEP_PLAN=" + planFile, "SWEEP_HASH_KEY=" + hashKey}, pf.env...)
	urls := []string{testenv.DatabaseURL(t), testenv.DatabaseURL(t)}
	dbs := []*store.DB{testenv.OpenDB(t, urls[0]), testenv.OpenDB(t, urls[1])}
	for _, db := range dbs {
		pf.seed(t, db, n)
		if _, err := db.LoadPlan(ctx, planFile, []byte(hashKey)); err != nil {
			t.Fatal(err)
		}
	}
	redis := []string{testenv.RedisURL(t), testenv.RedisURL(t)}
	file := pf.file(n)
	// The impact preview, as an operator reads it before the start.
	var previews [2]sweep.Impact
	preview := func(i int) func(int64) {
		return func(id int64) {
			m, err := dbs[i].ComputeImpact(ctx, crashTenant, id, 0)
			if err != nil {
				t.Fatal(err)
			}
			previews[i] = m
		}
	}
	idB, _ := runImportWith(t, bin, dbs[1], urls[1], redis[1], file, crashRun{env: env, validated: preview(1)})
	idA, landed := runImportWith(t, bin, dbs[0], urls[0], redis[0], file, crashRun{env: env, kills: 3, rng: crashRNG(t), validated: preview(0)})
	if landed < 2 {
		t.Errorf("only %d of 3 kills landed while the deletion ran; the test proves little", landed)
	}
	if diff := cmp.Diff(pf.snapshot(t, dbs[1]), pf.snapshot(t, dbs[0])); diff != "" {
		t.Errorf("killed run differs from the uninterrupted one (-want +got):\n%s", diff)
	}
	// The import, every row's outcome and the audit: the same too.
	detached := pf.subject + " detached"
	summary := func(db *store.DB, id int64) string {
		var s string
		if err := db.SQL().Get(&s, `SELECT concat_ws(' ', i.status, i.total_rows, i.valid_rows, i.error_rows, i.processed_rows, i.deleted_rows, i.skipped_rows, (i.erased_rows - $2)::text,
				(SELECT md5(string_agg(r.line || ':' || r.id || ':' || r.outcome, ',' ORDER BY r.line)) FROM import_blocks b, unnest(b.lines, b.customer_ids, b.outcomes) AS r(line, id, outcome) WHERE b.import_id = i.id),
				(SELECT count(*) || '/' || count(DISTINCT customer_id) || ' ' || md5(string_agg(customer_id::text, ',' ORDER BY customer_id)) FROM deletion_audit WHERE tenant_id = i.tenant_id))
			FROM imports i WHERE i.id = $1`, id, detached); err != nil {
			t.Fatal(err)
		}
		return s
	}
	if got, want := summary(dbs[0], idA), summary(dbs[1], idB); got != want {
		t.Errorf("import, outcomes and audit of the killed run:\n%s\nof the uninterrupted one:\n%s", got, want)
	}
	// Blocked customers (an open credit or account: every thirtieth) stay,
	// with their rows.
	want := 0
	if pf.blockedEvery > 0 {
		want = n / pf.blockedEvery
	}
	var left int
	if err := dbs[0].SQL().Get(&left, pf.left); err != nil || left != want {
		t.Errorf("%d customers left as they were, want %d (%v)", left, want, err)
	}

	// The preview, kept at validation, against what the run did.
	for i, id := range []int64{idA, idB} {
		m := previews[i]
		action := " deleted"
		if pf.anonymized {
			action = " anonymized"
		}
		previewed := map[string]int64{pf.subject + action: m.Customers}
		for _, r := range m.Related {
			if r.Rows > 0 && r.Action != "kept" {
				previewed[r.Kind+" "+r.Action] = r.Rows
			}
		}
		var raw string
		if err := dbs[i].SQL().Get(&raw, `SELECT erased_rows::text FROM imports WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		did := map[string]int64{}
		if err := json.Unmarshal([]byte(raw), &did); err != nil {
			t.Fatal(err)
		}
		for k, v := range did {
			if v == 0 {
				delete(did, k)
			}
		}
		// How many kept customers lose their link to an erased referrer
		// depends on the order the chunks ran in: a customer erased before
		// the one it points at needs no detaching (after a kill, the next
		// task takes the next free block while the dead worker's block is
		// still locked). The rows end the same either way (compared above).
		delete(did, detached)
		delete(previewed, detached)
		if diff := cmp.Diff(previewed, did); diff != "" {
			t.Errorf("run %d: the preview (-) and what the run did (+), table by table:\n%s", i, diff)
		}
	}
	t.Logf("kills during the run: %d; import: %s", landed, summary(dbs[0], idA))
}
