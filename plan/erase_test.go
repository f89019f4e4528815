package plan_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lib/pq"
	"github.com/sweephq/sweep/examples"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/plan"
)

var hashKey = []byte("0123456789abcdef0123456789abcdef")

// checkOptions are the options sweep checks a plan with: the hash key, and
// its key table in a schema of its own.
var checkOptions = plan.Options{HashKey: hashKey, KeyTable: "keys.subject_keys", Skip: []string{"keys"}}

// platform makes a database with the example platform name's tables and
// returns it with the example's plan, parsed.
func platform(t testing.TB, name string) (*sql.DB, *plan.Plan) {
	t.Helper()
	db, err := sql.Open("postgres", testenv.EmptyDatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	schema, err := examples.Schema(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(schema); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	// sweep's numbers for uuid and text keys, as its migrations make them.
	if _, err := db.Exec(`CREATE SCHEMA keys; CREATE TABLE keys.subject_keys ` + plan.KeyTableColumns); err != nil {
		t.Fatal(err)
	}
	b, err := examples.Plan(name)
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Parse(name+"/plan.yaml", b)
	if err != nil {
		t.Fatalf("parse %s's plan: %v", name, err)
	}
	return db, p
}

func exec(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func TestEveryExamplePlanPassesItsCheck(t *testing.T) {
	for _, name := range examples.Names() {
		t.Run(name, func(t *testing.T) {
			db, p := platform(t, name)
			cp, err := plan.Check(context.Background(), db, p, checkOptions)
			if err != nil {
				t.Fatalf("check:\n%v", err)
			}
			if len(cp.Steps) == 0 {
				t.Fatal("no statements compiled")
			}
		})
	}
}

// restrictRows seeds examples/restrict for tenant: client 1 with a row in
// every table, client 2 referred by client 1, client 3 holding an open
// credit, clients 4 and 5 sharing an address.
func restrictRows(t *testing.T, db *sql.DB, tenant string) {
	exec(t, db,
		`INSERT INTO public.addresses (line1, city) VALUES ('1 Main St', 'Springfield'), ('2 Shared Rd', 'Shelbyville'), ('3 Other', 'Ogdenville')`,
		`INSERT INTO public.clients (tenant_id, id, name, email, national_id, address_id) VALUES
			(`+tenant+`, 1, 'Ann', 'ann@example.com', 'N1', (SELECT max(id) - 2 FROM public.addresses)),
			(`+tenant+`, 3, 'Cid', NULL, NULL, NULL),
			(`+tenant+`, 4, 'Dee', NULL, NULL, (SELECT max(id) - 1 FROM public.addresses)),
			(`+tenant+`, 5, 'Eve', NULL, NULL, (SELECT max(id) - 1 FROM public.addresses))`,
		`INSERT INTO public.clients (tenant_id, id, name, referred_by) VALUES (`+tenant+`, 2, 'Bob', 1)`,
		`INSERT INTO public.client_contacts (tenant_id, client_id, phone) VALUES (`+tenant+`, 1, '555-1'), (`+tenant+`, 1, '555-2'), (`+tenant+`, 2, '555-3')`,
		`INSERT INTO public.contact_consents (tenant_id, contact_id) SELECT tenant_id, id FROM public.client_contacts WHERE tenant_id = `+tenant+` AND client_id = 1`,
		`INSERT INTO public.client_events (tenant_id, client_id, at, kind) VALUES (`+tenant+`, 1, '2026-03-01', 'login'), (`+tenant+`, 1, '2027-03-01', 'login'), (`+tenant+`, 4, '2026-05-01', 'login')`,
		`INSERT INTO public.credits (tenant_id, id, status) VALUES (`+tenant+`, 10, 'closed'), (`+tenant+`, 11, 'open')`,
		`INSERT INTO public.credit_holders (tenant_id, credit_id, client_id) VALUES (`+tenant+`, 10, 1), (`+tenant+`, 11, 3)`,
		`INSERT INTO public.payments (tenant_id, client_id, payer_name, iban, amount_cents, created_at) VALUES
			(`+tenant+`, 1, 'Ann', 'DE00123', 500, now() - interval '1 year'),
			(`+tenant+`, 1, 'Ann', 'DE00123', 700, now() - interval '8 years')`,
		`INSERT INTO public.ledger_entries (tenant_id, client_id, amount_cents) VALUES (`+tenant+`, 1, 500)`,
		`INSERT INTO public.documents (tenant_id, entity_type, entity_id, title) VALUES (`+tenant+`, 'client', 1, 'passport'), (`+tenant+`, 'loan', 1, 'contract')`,
	)
}

func TestRestrictExampleErasesExactlyWhatThePlanSays(t *testing.T) {
	ctx := context.Background()
	db, p := platform(t, "restrict")
	cp, err := plan.Check(ctx, db, p, plan.Options{HashKey: hashKey})
	if err != nil {
		t.Fatal(err)
	}
	restrictRows(t, db, "1")
	restrictRows(t, db, "2")
	before := snapshot(t, db, "2")

	// The preview, for the customers the run will erase.
	exec(t, db, `CREATE TABLE preview_ids (id bigint PRIMARY KEY)`, `INSERT INTO preview_ids VALUES (1), (4)`)
	counts, err := cp.Counts(ctx, db, 1, "preview_ids")
	if err != nil {
		t.Fatal(err)
	}

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := cp.Erase(ctx, tx, 1, []int64{1, 3, 4, 99}, true)
	if err != nil {
		tx.Rollback()
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[int64]bool{1: true, 4: true}, res.Erased); diff != "" {
		t.Errorf("erased (-want +got):\n%s", diff)
	}
	if got := res.Blocked[3]; got != "Client 3 holds an open credit, and credits are never deleted. Close or transfer the credit first" || len(res.Blocked) != 1 {
		t.Errorf("blocked = %v", res.Blocked)
	}
	wantRows := map[string]int64{
		"public.client_contacts deleted": 2, "public.contact_consents deleted": 2, "public.client_events deleted": 3,
		"public.credit_holders deleted": 1, "public.payments anonymized": 1, "public.payments deleted": 1,
		"public.documents deleted": 1, "public.clients detached": 1, "public.clients deleted": 2, "public.addresses deleted": 1,
	}
	if diff := cmp.Diff(wantRows, res.Rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	// The preview said the same, table by table (and counted the kept rows).
	previewed := map[string]int64{}
	for _, c := range counts {
		if c.Rows > 0 {
			previewed[plan.RowsKey(c.Table, c.Action)] = c.Rows
		}
	}
	wantRows["public.ledger_entries kept"] = 1 // and the shared address is not counted: client 5 keeps it
	if diff := cmp.Diff(wantRows, previewed); diff != "" {
		t.Errorf("preview (-want +got):\n%s", diff)
	}

	var got struct {
		clients, contacts, events, holders, docs, addresses string
		payments, ledger                                    string
	}
	q := func(dst *string, s string) {
		t.Helper()
		if err := db.QueryRow(s).Scan(dst); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	q(&got.clients, `SELECT string_agg(id || ':' || coalesce(referred_by::text, '-'), ',' ORDER BY id) FROM public.clients WHERE tenant_id = 1`)
	q(&got.contacts, `SELECT string_agg(client_id::text, ',' ORDER BY client_id) FROM public.client_contacts WHERE tenant_id = 1`)
	q(&got.events, `SELECT count(*)::text FROM public.client_events WHERE tenant_id = 1`)
	q(&got.holders, `SELECT string_agg(client_id::text, ',') FROM public.credit_holders WHERE tenant_id = 1`)
	q(&got.docs, `SELECT string_agg(entity_type, ',') FROM public.documents WHERE tenant_id = 1`)
	q(&got.addresses, `SELECT string_agg(line1, ',' ORDER BY id) FROM public.addresses`)
	q(&got.payments, `SELECT string_agg(coalesce(payer_name, '-') || ':' || coalesce(client_id::text, '-') || ':' || length(iban), ',') FROM public.payments WHERE tenant_id = 1`)
	q(&got.ledger, `SELECT string_agg(coalesce(client_id::text, 'null') || ':' || amount_cents, ',') FROM public.ledger_entries WHERE tenant_id = 1`)
	want := got
	want.clients = "2:-,3:-,5:-"                                         // 1 and 4 erased; 2 kept without its referrer
	want.contacts = "2"                                                  // client 1's contacts (and their consents) gone
	want.events = "0"                                                    // both partitions
	want.holders = "3"                                                   // the open credit's link stays, the closed one's went
	want.docs = "loan"                                                   // the client's document went, the loan's stays
	want.addresses = "2 Shared Rd,3 Other,1 Main St,2 Shared Rd,3 Other" // client 1's own went; the shared one stays
	want.payments = "-:-:64"                                             // the recent payment anonymized (iban hashed), the old one deleted
	want.ledger = "null:500"                                             // kept, its link nulled by its key
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(got)); diff != "" {
		t.Errorf("tenant 1 after the erasure (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, snapshot(t, db, "2")); diff != "" {
		t.Errorf("tenant 2 changed (-before +after):\n%s", diff)
	}
}

// snapshot reads every row of a tenant of examples/restrict.
func snapshot(t *testing.T, db *sql.DB, tenant string) []string {
	t.Helper()
	var out []string
	for _, tb := range []string{"clients", "client_contacts", "contact_consents", "client_events", "credit_holders", "payments", "ledger_entries", "documents"} {
		var s sql.NullString
		if err := db.QueryRow(`SELECT string_agg(r::text, ';' ORDER BY r::text) FROM public.` + tb + ` r WHERE tenant_id = ` + tenant).Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, tb+"="+s.String)
	}
	return out
}

var _ = pq.Array
var _ = strings.Contains
