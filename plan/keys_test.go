package plan_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/plan"
)

// The uuids of examples/uuidkeys' people in its tests: Ann invited Bob;
// Cid holds an open account, Dee a closed one; Eve is never named.
const (
	ann = "0a0a0a0a-0000-4000-8000-000000000001"
	bob = "0b0b0b0b-0000-4000-8000-000000000002"
	cid = "0c0c0c0c-0000-4000-8000-000000000003"
	dee = "0d0d0d0d-0000-4000-8000-000000000004"
	eve = "0e0e0e0e-0000-4000-8000-000000000005"
)

func uuidRows(t *testing.T, db *sql.DB, tenant string) {
	exec(t, db,
		`INSERT INTO public.people (tenant_id, id, full_name, email) VALUES
			(`+tenant+`, '`+ann+`', 'Ann', 'ann@example.com'), (`+tenant+`, '`+cid+`', 'Cid', NULL),
			(`+tenant+`, '`+dee+`', 'Dee', NULL), (`+tenant+`, '`+eve+`', 'Eve', NULL)`,
		`INSERT INTO public.people (tenant_id, id, full_name, invited_by) VALUES (`+tenant+`, '`+bob+`', 'Bob', '`+ann+`')`,
		`INSERT INTO public.person_devices (tenant_id, person_id, model) VALUES (`+tenant+`, '`+ann+`', 'phone'), (`+tenant+`, '`+ann+`', 'tablet'), (`+tenant+`, '`+eve+`', 'phone')`,
		`INSERT INTO public.push_tokens SELECT tenant_id, id, 'tok' || id FROM public.person_devices WHERE tenant_id = `+tenant,
		`INSERT INTO public.accounts VALUES (`+tenant+`, 1, 'open'), (`+tenant+`, 2, 'closed')`,
		`INSERT INTO public.account_holders VALUES (`+tenant+`, 1, '`+cid+`'), (`+tenant+`, 2, '`+dee+`')`,
		`INSERT INTO public.consents (tenant_id, person_id, purpose) VALUES (`+tenant+`, '`+ann+`', 'marketing'), (`+tenant+`, '`+eve+`', 'marketing')`,
	)
}

// A platform whose customers are named by uuid (examples/uuidkeys): sweep
// numbers the keys it is given in its key table, and the plan's statements
// erase by number exactly what they would by key, in one tenant only, with
// the block's sentence naming the uuid, and the preview saying the same.
func TestUUIDKeysAreErasedThroughTheirNumbers(t *testing.T) {
	ctx := context.Background()
	db, p := platform(t, "uuidkeys")
	cp, err := plan.Check(ctx, db, p, checkOptions)
	if err != nil {
		t.Fatal(err)
	}
	if got := cp.Key(); got != (sweep.Key{Kind: sweep.KeyUUID}) {
		t.Fatalf("key = %+v, want a uuid", got)
	}
	uuidRows(t, db, "1")
	uuidRows(t, db, "2") // the same uuids under another tenant
	before := tableRows(t, db, "2", "people", "person_devices", "push_tokens", "account_holders", "consents")
	// Numbers as sweep gives them; 5 is a key no one has, 6 is tenant 2's
	// Ann (the same uuid, another tenant's number).
	exec(t, db, `INSERT INTO keys.subject_keys (tenant_id, key, n) VALUES
		(1, '`+ann+`', 1), (1, '`+cid+`', 3), (1, '`+dee+`', 4), (1, 'ffffffff-0000-4000-8000-000000000000', 5), (2, '`+ann+`', 6)`)
	exec(t, db, `CREATE TABLE preview_ids (id bigint PRIMARY KEY)`, `INSERT INTO preview_ids VALUES (1), (4)`)
	counts, err := cp.Counts(ctx, db, 1, "preview_ids")
	if err != nil {
		t.Fatal(err)
	}

	// Another tenant's number names no one here, though its key does.
	other, err := cp.Erase(ctx, db, 1, []int64{6}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(other.Erased)+len(other.Blocked) > 0 {
		t.Fatalf("tenant 2's number 6 erased %v, blocked %v in tenant 1", other.Erased, other.Blocked)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := cp.Erase(ctx, tx, 1, []int64{1, 3, 4, 5, 6}, true)
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
	if diff := cmp.Diff(map[int64]string{3: "Person " + cid + " holds an open account, and accounts are never deleted. Close the account first"}, res.Blocked); diff != "" {
		t.Errorf("blocked (-want +got):\n%s", diff)
	}
	wantRows := map[string]int64{
		"public.person_devices deleted": 2, "public.push_tokens deleted": 2, "public.account_holders deleted": 1,
		"public.people detached": 1, "public.people deleted": 2,
	}
	if diff := cmp.Diff(wantRows, nonZero(res.Rows)); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int64{"public.person_devices deleted": 2, "public.push_tokens deleted": 2}, res.PerCustomer[1]); diff != "" {
		t.Errorf("Ann's rows (-want +got):\n%s", diff)
	}
	previewed := map[string]int64{}
	for _, c := range counts {
		if c.Rows > 0 {
			previewed[plan.RowsKey(c.Table, c.Action)] = c.Rows
		}
	}
	wantRows["public.consents kept"] = 1
	if diff := cmp.Diff(wantRows, previewed); diff != "" {
		t.Errorf("preview (-want +got):\n%s", diff)
	}
	var people, consents string
	if err := db.QueryRow(`SELECT string_agg(full_name || ':' || coalesce(invited_by::text, '-'), ',' ORDER BY full_name) FROM public.people WHERE tenant_id = 1`).Scan(&people); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT string_agg(coalesce(person_id::text, 'null'), ',' ORDER BY person_id) FROM public.consents WHERE tenant_id = 1`).Scan(&consents); err != nil {
		t.Fatal(err)
	}
	if want := "Bob:-,Cid:-,Eve:-"; people != want {
		t.Errorf("tenant 1's people = %s, want %s (Ann and Dee erased, Bob kept without his inviter)", people, want)
	}
	if want := eve + ",null"; consents != want {
		t.Errorf("tenant 1's consents = %s, want %s (kept, Ann's link nulled)", consents, want)
	}
	if diff := cmp.Diff(before, tableRows(t, db, "2", "people", "person_devices", "push_tokens", "account_holders", "consents")); diff != "" {
		t.Errorf("tenant 2 changed (-before +after):\n%s", diff)
	}
}

// A platform whose customers are named by a text code (examples/textkeys),
// with a reference no foreign key declares: the code is matched as text,
// in the tenant, and nothing else named alike goes.
func TestTextKeysAreErasedThroughTheirNumbers(t *testing.T) {
	ctx := context.Background()
	db, p := platform(t, "textkeys")
	cp, err := plan.Check(ctx, db, p, checkOptions)
	if err != nil {
		t.Fatal(err)
	}
	if got := cp.Key(); got != (sweep.Key{Kind: sweep.KeyText, MaxLen: 40}) {
		t.Fatalf("key = %+v, want text of at most 40", got)
	}
	for _, tn := range []string{"1", "2"} {
		exec(t, db,
			`INSERT INTO public.subscribers VALUES (`+tn+`, 'CUST-1', 'Ann', '555'), (`+tn+`, 'cust-1', 'ann (another)', NULL), (`+tn+`, 'CUST-2', 'Bob', NULL)`,
			`INSERT INTO public.subscriptions (tenant_id, subscriber_code, plan_name) VALUES (`+tn+`, 'CUST-1', 'gold'), (`+tn+`, 'cust-1', 'basic'), (`+tn+`, 'CUST-2', 'gold')`,
			`INSERT INTO public.invoices (tenant_id, subscriber_code, billed_name, amount_cents) VALUES (`+tn+`, 'CUST-1', 'Ann', 100), (`+tn+`, 'CUST-2', 'Bob', 200)`,
			`INSERT INTO public.notes (tenant_id, subject_kind, subject_code, body) VALUES (`+tn+`, 'subscriber', 'CUST-1', 'called'), (`+tn+`, 'ticket', 'CUST-1', 'ticket of the same code'), (`+tn+`, 'subscriber', 'CUST-2', 'hi')`,
		)
	}
	before := tableRows(t, db, "2", "subscribers", "subscriptions", "invoices", "notes")
	exec(t, db, `INSERT INTO keys.subject_keys (tenant_id, key, n) VALUES (1, 'CUST-1', 10), (1, 'CUST-9', 11)`)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := cp.Erase(ctx, tx, 1, []int64{10, 11}, false)
	if err != nil {
		tx.Rollback()
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[int64]bool{10: true}, res.Erased); diff != "" {
		t.Errorf("erased (-want +got):\n%s", diff)
	}
	want := map[string]int64{"public.subscriptions deleted": 1, "public.invoices anonymized": 1, "public.notes deleted": 1, "public.subscribers deleted": 1}
	if diff := cmp.Diff(want, nonZero(res.Rows)); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	got := tableRows(t, db, "1", "subscribers", "subscriptions", "invoices", "notes")
	wantRows := []string{
		"subscribers=(1,CUST-2,Bob,);(1,cust-1,\"ann (another)\",)",
		"subscriptions=(1,2,cust-1,basic);(1,3,CUST-2,gold)",
		"invoices=(1,1,,,100);(1,2,CUST-2,Bob,200)",
		"notes=(1,2,ticket,CUST-1,\"ticket of the same code\");(1,3,subscriber,CUST-2,hi)",
	}
	if diff := cmp.Diff(wantRows, got); diff != "" {
		t.Errorf("tenant 1 after the erasure (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, tableRows(t, db, "2", "subscribers", "subscriptions", "invoices", "notes")); diff != "" {
		t.Errorf("tenant 2 changed (-before +after):\n%s", diff)
	}
}

// tableRows reads every row of tenant in each of tables (of public).
func tableRows(t *testing.T, db *sql.DB, tenant string, tables ...string) []string {
	t.Helper()
	var out []string
	for _, tb := range tables {
		var s sql.NullString
		if err := db.QueryRow(`SELECT string_agg(r::text, ';' ORDER BY r::text) FROM public.` + tb + ` r WHERE tenant_id = ` + tenant).Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, tb+"="+s.String)
	}
	return out
}

func nonZero(m map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for k, v := range m {
		if v != 0 && !strings.HasSuffix(k, " kept") {
			out[k] = v
		}
	}
	return out
}

// One database per tenant (examples/onetenant): the whole database is
// tenant 7's; its members are anonymized (the row stays), their cards and
// the cards' transactions go, and another tenant's request erases nothing.
func TestOneTenantDatabaseErasesForItsTenantOnly(t *testing.T) {
	ctx := context.Background()
	db, p := platform(t, "onetenant")
	cp, err := plan.Check(ctx, db, p, checkOptions)
	if err != nil {
		t.Fatal(err)
	}
	exec(t, db,
		`INSERT INTO public.members VALUES (1, 'Ann', '555'), (2, 'Bob', '556')`,
		`INSERT INTO public.member_cards (member_no, pan_last4) VALUES (1, '1111'), (1, '2222'), (2, '3333')`,
		`INSERT INTO public.card_transactions (card_id, amount_cents) SELECT id, 100 FROM public.member_cards`,
	)
	if _, err := cp.Erase(ctx, db, 8, []int64{1, 2}, false); !errors.Is(err, plan.ErrOtherTenant) {
		t.Fatalf("tenant 8 in tenant 7's database: %v, want ErrOtherTenant", err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := cp.Erase(ctx, tx, 7, []int64{1, 3}, false)
	if err != nil {
		tx.Rollback()
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[int64]bool{1: true}, res.Erased); diff != "" {
		t.Errorf("erased (-want +got):\n%s", diff)
	}
	want := map[string]int64{"public.members anonymized": 1, "public.member_cards deleted": 2, "public.card_transactions deleted": 2}
	if diff := cmp.Diff(want, nonZero(res.Rows)); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	var members, cards string
	if err := db.QueryRow(`SELECT string_agg(member_no || ':' || full_name || ':' || coalesce(phone, '-'), ',' ORDER BY member_no) FROM public.members`).Scan(&members); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT string_agg(pan_last4, ',') FROM public.member_cards`).Scan(&cards); err != nil {
		t.Fatal(err)
	}
	if members != "1:erased member:-,2:Bob:556" || cards != "3333" {
		t.Errorf("members %s, cards %s; want member 1 anonymized and kept, Bob untouched with his card", members, cards)
	}
}

// A column that holds customers' keys under a case-insensitive collation
// would take CUST-1 and cust-1, two customers, for one: the check refuses
// it on the subject's key, on a foreign key's column and on a reference's.
func TestCheckRefusesCaseInsensitiveKeys(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ alter, names string }{
		{`ALTER TABLE public.notes ALTER COLUMN subject_code TYPE text COLLATE ci`, "public.notes.match: public.notes.subject_code has a nondeterministic collation"},
		{`ALTER TABLE public.subscriptions ALTER COLUMN subscriber_code TYPE varchar(40) COLLATE ci`, "public.subscriptions.subscriber_code holds customers' ids under a nondeterministic collation"},
	} {
		db, p := platform(t, "textkeys")
		exec(t, db, `CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false)`, tc.alter)
		_, err := plan.Check(ctx, db, p, checkOptions)
		if err == nil || !strings.Contains(err.Error(), tc.names) {
			t.Errorf("%s: check = %v, want refused: %s", tc.alter, err, tc.names)
		}
	}
	// The subject's key itself (its children's keys follow it, as
	// PostgreSQL's foreign keys require).
	db, _ := platform(t, "textkeys")
	exec(t, db, `CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false)`,
		`CREATE TABLE public.loose (tenant_id bigint NOT NULL, code text COLLATE ci NOT NULL, PRIMARY KEY (tenant_id, code))`)
	p, err := plan.Parse("loose.yaml", []byte("subject:\n  table: public.loose\n  key: code\n  tenant: tenant_id\n  action: delete\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plan.Check(ctx, db, p, checkOptions); err == nil || !strings.Contains(err.Error(), "subject.key public.loose.code has a nondeterministic collation") {
		t.Errorf("a case-insensitive subject key: %v, want refused", err)
	}
}
