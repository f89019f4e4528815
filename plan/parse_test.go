package plan_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sweephq/sweep/examples"
	"github.com/sweephq/sweep/plan"
)

// lines joins a plan's lines, so a case shows each line where it is: the
// first argument is line 1.
func lines(ls ...string) []byte { return []byte(strings.Join(ls, "\n") + "\n") }

// want is one error a plan must be refused with: its line (0: none) and
// words its sentence must hold.
type want struct {
	line int
	has  []string
}

// refusedWith asserts err is exactly the errors wanted, in order: each on its
// line and saying what it must. A further error is a failure too, since an
// operator reads every one.
func refusedWith(t *testing.T, err error, wants ...want) {
	t.Helper()
	var es plan.Errors
	if !errors.As(err, &es) {
		t.Fatalf("got %v (%T), want the plan refused with plan.Errors", err, err)
	}
	if len(es) != len(wants) {
		t.Fatalf("%d errors, want %d:\n%v", len(es), len(wants), err)
	}
	for i, w := range wants {
		e := es[i]
		if e.Line != w.line {
			t.Errorf("error %d is on line %d, want %d: %s", i+1, e.Line, w.line, e)
		}
		for _, s := range w.has {
			if !strings.Contains(e.Msg, s) {
				t.Errorf("error %d does not say %q: %s", i+1, s, e)
			}
		}
	}
}

func TestParseReadsAPlan(t *testing.T) {
	src := lines(
		"subject:", // 1
		"  table: clients",
		"  key: id",
		"  tenant: tenant_id",
		"  detach: [referred_by]", // 5
		"  columns: {last_activity: last_seen_at}",
		"tables:",
		"  client_contacts: delete",
		"  sales.payments:",
		"    anonymize: {payer_name: null, iban: hash, memo: \"hash\", note: 'hash', amount: 0, label: \"\"}", // 10
		"    where: \"created_at > now() - interval '7 years'\"",
		"  ledger_entries:",
		"    keep: \"immutable ledger\"",
		"  credit_holders:",
		"    block: \"Client {id} holds an open credit\"", // 15
		"    where: \"credit_id IS NOT NULL\"",
		"    otherwise: delete",
		"owned:",
		"  addresses: {via: address_id}",
		"  cards: {via: client_contacts.card_id}", // 20
		"references:",
		"  documents:",
		"    match: {tenant_id: tenant_id, entity_id: id}",
		"    where: \"entity_type = 'client'\"",
		"    action: delete", // 25
	)
	p, err := plan.Parse("plan.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	pub := func(t string) plan.Name { return plan.Name{Schema: "public", Table: t} }
	wantSubject := plan.Subject{
		Table: pub("clients"), Key: "id", Tenant: "tenant_id",
		Action:  plan.Action{Kind: plan.Delete, Line: 1},
		Detach:  []string{"referred_by"},
		Columns: plan.PolicyColumns{LastActivity: "last_seen_at"},
		Line:    1,
	}
	if diff := cmp.Diff(wantSubject, p.Subject); diff != "" {
		t.Errorf("subject (-want +got):\n%s", diff)
	}
	wantTables := []plan.Table{
		{Name: pub("client_contacts"), Line: 8, Action: plan.Action{Kind: plan.Delete, Line: 8}},
		{Name: plan.Name{Schema: "sales", Table: "payments"}, Line: 9, Action: plan.Action{
			Kind: plan.Anonymize, Line: 10, Where: "created_at > now() - interval '7 years'",
			// Unquoted hash is the keyed hash; quoted, it is the word.
			Set: []plan.Assignment{{Column: "payer_name", Null: true}, {Column: "iban", Hash: true},
				{Column: "memo", Value: "hash"}, {Column: "note", Value: "hash"}, {Column: "amount", Value: "0"}, {Column: "label", Value: ""}},
		}},
		{Name: pub("ledger_entries"), Line: 12, Action: plan.Action{Kind: plan.Keep, Reason: "immutable ledger", Line: 13}},
		{Name: pub("credit_holders"), Line: 14, Action: plan.Action{
			Kind: plan.Block, Sentence: "Client {id} holds an open credit", Where: "credit_id IS NOT NULL", Line: 15,
			Otherwise: &plan.Action{Kind: plan.Delete, Line: 17},
		}},
	}
	if diff := cmp.Diff(wantTables, p.Tables); diff != "" {
		t.Errorf("tables (-want +got):\n%s", diff)
	}
	wantOwned := []plan.Owned{
		{Name: pub("addresses"), ViaTable: pub("clients"), Via: "address_id", Line: 19},
		{Name: pub("cards"), ViaTable: pub("client_contacts"), Via: "card_id", Line: 20},
	}
	if diff := cmp.Diff(wantOwned, p.Owned); diff != "" {
		t.Errorf("owned (-want +got):\n%s", diff)
	}
	wantRefs := []plan.Reference{{
		Name: pub("documents"), Line: 22, Where: "entity_type = 'client'",
		Match:  []plan.ColumnPair{{Column: "tenant_id", SubjectColumn: "tenant_id"}, {Column: "entity_id", SubjectColumn: "id"}},
		Action: plan.Action{Kind: plan.Delete, Line: 22},
	}}
	if diff := cmp.Diff(wantRefs, p.References); diff != "" {
		t.Errorf("references (-want +got):\n%s", diff)
	}
	if p.Source != "plan.yaml" || len(p.Hash) != 64 {
		t.Errorf("source %q, hash %q", p.Source, p.Hash)
	}
}

func TestParseReadsAOneTenantDatabase(t *testing.T) {
	p, err := plan.Parse("plan.yaml", lines(
		"subject:",
		"  table: public.members",
		"  key: member_no",
		"  tenant: database",
		"  database_tenant: 7",
		"  action:",
		"    anonymize: {full_name: \"erased member\", phone: null}",
	))
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject.Tenant != "" || p.Subject.DatabaseTenant != 7 || p.Subject.Action.Kind != plan.Anonymize {
		t.Errorf("subject = %+v", p.Subject)
	}
}

// head is a plan's first lines, valid on their own: the cases below add
// their lines after it, from line 5.
var head = []string{
	"subject:",
	"  table: public.clients",
	"  key: id",
	"  tenant: tenant_id",
}

func withHead(ls ...string) []byte { return lines(append(append([]string{}, head...), ls...)...) }

func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		src   []byte
		wants []want
	}{
		// Keys a careless operator misspells: each refused on its line,
		// with the keys that place takes.
		{"an unknown key at the top", withHead(
			"tabels:", // 5
			"  public.client_contacts: delete",
		), []want{{5, []string{`unknown key "tabels" in the plan`, "owned, references, subject, tables"}}}},
		{"an unknown key in the subject", withHead(
			"  actoin: anonymize", // 5: the subject would be deleted, not anonymized
		), []want{{5, []string{`unknown key "actoin" in subject`, "action, columns, database_tenant, detach, key, table, tenant"}}}},
		{"an unknown key in a table entry", withHead(
			"tables:",
			"  public.payments:",
			"    anonymise: {iban: null}", // 7
		), []want{{7, []string{`unknown key "anonymise" in public.payments`, "anonymize, block, delete, keep, otherwise, where"}}}},
		{"an unknown key in a reference", withHead(
			"references:",
			"  public.documents:",
			"    match: {tenant_id: tenant_id, entity_id: id}",
			"    wehre: \"entity_type = 'client'\"", // 8
			"    action: delete",
		), []want{{8, []string{`unknown key "wehre" in public.documents`, "action, anonymize, block, keep, match, where"}}}},
		{"an unknown key in subject.columns", withHead(
			"  columns:",
			"    last_activty: last_seen_at", // 6
		), []want{{6, []string{`unknown key "last_activty" in subject.columns`, "last_activity"}}}},

		// A table named twice: refused on the second, which says where the
		// first is.
		{"a table twice under tables", withHead(
			"tables:",
			"  public.payments: delete", // 6
			"  client_contacts: delete",
			"  payments:", // 8: the same table, bare
			"    keep: \"ledger\"",
		), []want{{8, []string{"public.payments is named twice (first on line 6)"}}}},
		{"a table under tables and under references", withHead(
			"tables:",
			"  public.documents: delete", // 6
			"references:",
			"  public.documents:", // 8
			"    match: {tenant_id: tenant_id, entity_id: id}",
			"    action: delete",
		), []want{{8, []string{"public.documents is named twice (first on line 6)"}}}},
		{"the subject under tables", withHead(
			"tables:",
			"  public.clients: delete", // 6
		), []want{{6, []string{"public.clients is the subject; it cannot also be under tables", "subject.detach"}}}},
		{"the subject twice", withHead(
			"subject:", // 5
			"  table: public.users",
		), []want{{5, []string{`"subject" is given twice in the plan`}}}},

		// An action without what it needs.
		{"block without a sentence", withHead(
			"tables:",
			"  public.credit_holders:",
			"    block:", // 7
		), []want{{7, []string{"public.credit_holders.block needs the sentence"}}}},
		{"block with an empty sentence", withHead(
			"tables:",
			"  public.credit_holders: {block: \"  \"}", // 6
		), []want{{6, []string{"public.credit_holders.block needs the sentence"}}}},
		{"keep without a reason", withHead(
			"tables:",
			"  public.ledger_entries:",
			"    keep:", // 7
		), []want{{7, []string{"public.ledger_entries.keep needs the reason its rows stay"}}}},
		{"keep with an empty reason", withHead(
			"tables:",
			"  public.ledger_entries: {keep: \"\"}", // 6
		), []want{{6, []string{"public.ledger_entries.keep needs the reason"}}}},
		{"anonymize with no columns", withHead(
			"tables:",
			"  public.payments:",
			"    anonymize: {}", // 7
		), []want{{7, []string{"public.payments.anonymize needs its columns and their new values"}}}},
		{"anonymize of the same column twice", withHead(
			"tables:",
			"  public.payments:",
			"    anonymize:",
			"      iban: null",
			"      iban: hash", // 9
		), []want{{9, []string{"names column iban twice"}}}},
		{"a where alone, with no action", withHead(
			"tables:",
			"  public.payments:",
			"    where: \"amount_cents > 0\"", // 7
		), []want{{7, []string{"public.payments needs an action: delete, anonymize, block or keep"}}}},
		{"two actions for one table", withHead(
			"tables:",
			"  public.payments:",
			"    delete: true",
			"    keep: \"ledger\"", // 8
		), []want{{8, []string{"one action per table: it already says delete, and now keep"}}}},
		{"an action that is no action", withHead(
			"tables:",
			"  public.payments: remove", // 6
		), []want{{6, []string{`"remove" is not an action`}}}},
		{"a table entry with no action", withHead(
			"tables:",
			"  public.payments:", // 6
			"  public.client_contacts: delete",
		), []want{{6, []string{"public.payments needs an action: delete, anonymize, block or keep"}}}},
		{"a reference without its match", withHead(
			"references:",
			"  public.documents:", // 6
			"    action: delete",
		), []want{{7, []string{`public.documents needs "match"`}}}},
		{"a reference with two actions", withHead(
			"references:",
			"  public.documents:",
			"    match: {entity_id: id}", // 7
			"    action: delete",
			"    keep: \"archive\"",
		), []want{{7, []string{"public.documents: give either action: delete or one of anonymize, block, keep"}}}},
		{"a reference matching a column twice", withHead(
			"references:",
			"  public.documents:",
			"    match: {entity_id: id, entity_id: tenant_id}", // 7
			"    action: delete",
		), []want{{7, []string{"public.documents.match names column entity_id twice"}}}},

		// A where is one SQL condition on the row, nothing more.
		{"a where with ;", withHead(
			"tables:",
			"  public.payments:",
			"    anonymize: {iban: null}",
			"    where: \"true; DELETE FROM public.clients\"", // 8
		), []want{{8, []string{"public.payments.where must be one SQL condition", "without ;"}}}},
		{"a where with $1", withHead(
			"tables:",
			"  public.payments:",
			"    anonymize: {iban: null}",
			"    where: \"client_id = $1\"", // 8
		), []want{{8, []string{"public.payments.where must be one SQL condition"}}}},
		{"a where that closes its own parenthesis", withHead(
			// Check and the statements wrap a where in parentheses and AND
			// it with the customer's condition; this one would end that
			// and OR in every row of the table, every tenant's.
			"tables:",
			"  public.payments:",
			"    anonymize: {iban: null}",
			"    where: \"false) OR (true\"", // 8
		), []want{{8, []string{"public.payments.where", "parentheses"}}}},
		{"a where that escapes the statement's subquery", withHead(
			"references:",
			"  public.documents:",
			"    match: {tenant_id: tenant_id, entity_id: id}",
			"    where: \"true) FROM (SELECT 1) x) IS TRUE OR (SELECT (true\"", // 8
			"    action: delete",
		), []want{{8, []string{"public.documents.where", "parentheses"}}}},
		{"a where with a comment", withHead(
			"tables:",
			"  public.payments:",
			"    anonymize: {iban: null}",
			"    where: \"amount_cents > 0 -- and the rest\"", // 8
		), []want{{8, []string{"public.payments.where", "comment"}}}},
		{"a where with a block comment", withHead(
			"tables:",
			"  public.payments:",
			"    anonymize: {iban: null}",
			"    where: \"amount_cents > 0 /* and the rest */\"", // 8
		), []want{{8, []string{"public.payments.where", "comment"}}}},
		{"a where with a backslash", withHead(
			// With backslashes an E'' string could hide a quote from the
			// parenthesis count.
			"tables:",
			"  public.payments:",
			"    anonymize: {iban: null}",
			`    where: "payer_name = E'\\') OR (true'"`, // 8
		), []want{{8, []string{"public.payments.where", `\`}}}},
		{"a where with an unclosed quote", withHead(
			"tables:",
			"  public.payments:",
			"    anonymize: {iban: null}",
			`    where: "payer_name = 'ann"`, // 8
		), []want{{8, []string{"public.payments.where", "quote"}}}},
		{"an empty where", withHead(
			"tables:",
			"  public.payments:",
			"    anonymize: {iban: null}",
			`    where: ""`, // 8
		), []want{{8, []string{"public.payments.where is empty"}}}},
		{"otherwise without where", withHead(
			"tables:",
			"  public.credit_holders:", // 6
			"    block: \"Client {id} holds a credit\"",
			"    otherwise: delete",
		), []want{{7, []string{"public.credit_holders: otherwise goes with a block that has a where"}}}},
		{"otherwise after a delete", withHead(
			"tables:",
			"  public.credit_holders:",
			"    delete: true", // 7
			"    otherwise: delete",
		), []want{{7, []string{"otherwise goes with a block that has a where"}}}},
		{"a block with where but no otherwise", withHead(
			"tables:",
			"  public.credit_holders:",
			"    block: \"Client {id} holds an open credit\"", // 7
			"    where: \"credit_id > 0\"",
		), []want{{7, []string{"public.credit_holders blocks only rows where", "add `otherwise: delete`"}}}},
		{"a where on a delete", withHead(
			"tables:",
			"  public.payments:",
			"    delete: true", // 7
			"    where: \"amount_cents > 0\"",
		), []want{{7, []string{"where narrows anonymize or block only; a delete applies to every row"}}}},

		// TODO: what a draft leaves where a person must decide.
		{"TODO as a table's action", withHead(
			"tables:",
			"  public.payments: TODO  # delete, anonymize or keep?", // 6
		), []want{{6, []string{"public.payments is still TODO: a person must decide it"}}}},
		{"TODO with words as an action", withHead(
			"tables:",
			"  public.payments: TODO decide delete or keep", // 6
		), []want{{6, []string{"public.payments is still TODO"}}}},
		{"TODO as an anonymized value", withHead(
			"tables:",
			"  public.payments:",
			"    anonymize: {payer_name: null, iban: TODO}", // 7
		), []want{{7, []string{"public.payments.anonymize.iban is still TODO"}}}},
		{"TODO as keep's reason", withHead(
			"tables:",
			"  public.ledger_entries: {keep: TODO}", // 6
		), []want{{6, []string{"public.ledger_entries.keep is still TODO"}}}},
		{"TODO as block's sentence", withHead(
			"tables:",
			"  public.credit_holders: {block: TODO}", // 6
		), []want{{6, []string{"public.credit_holders.block is still TODO"}}}},
		{"TODO as a where", withHead(
			"tables:",
			"  public.payments:",
			"    anonymize: {iban: null}",
			"    where: TODO", // 8
		), []want{{8, []string{"public.payments.where is still TODO"}}}},
		{"TODO as database_tenant", lines(
			"subject:",
			"  table: public.members",
			"  key: member_no",
			"  tenant: database",
			"  database_tenant: TODO", // 5
		), []want{{5, []string{"subject.database_tenant is still TODO"}}}},
		{"TODO as the subject's tenant", lines(
			"subject:",
			"  table: public.clients",
			"  key: id",
			"  tenant: TODO", // 4
		), []want{{4, []string{"subject.tenant is still TODO"}}}},
		{"TODO as the subject's key", lines(
			"subject:",
			"  table: public.clients",
			"  key: todo", // 3
			"  tenant: tenant_id",
		), []want{{3, []string{"subject.key is still TODO"}}}},
		{"TODO as a reference's match", withHead(
			"references:",
			"  public.documents:",
			"    match: {tenant_id: tenant_id, entity_id: TODO}", // 7
			"    action: delete",
		), []want{{7, []string{"public.documents.match subject column is still TODO"}}}},
		{"TODO as owned's via", withHead(
			"owned:",
			"  public.addresses: {via: TODO}", // 6
		), []want{{6, []string{"public.addresses.via is still TODO"}}}},

		// The subject's tenant.
		{"tenant: database without database_tenant", lines(
			"subject:", // 1
			"  table: public.members",
			"  key: member_no",
			"  tenant: database",
		), []want{{2, []string{"subject.tenant is `database`: add subject.database_tenant"}}}},
		{"database_tenant of 0", lines(
			"subject:",
			"  table: public.members",
			"  key: member_no",
			"  tenant: database",
			"  database_tenant: 0", // 5
		), []want{{5, []string{"subject.database_tenant must be the tenant's instance id, a whole number above 0"}}}},
		{"database_tenant with a tenant column", lines(
			"subject:",
			"  table: public.clients", // 2
			"  key: id",
			"  tenant: tenant_id",
			"  database_tenant: 7",
		), []want{{2, []string{"subject.database_tenant is only for `tenant: database`"}}}},
		{"a subject without a tenant", lines(
			"subject:",
			"  table: public.clients", // 2
			"  key: id",
		), []want{{2, []string{`subject needs "tenant"`}}}},
		{"a subject without a key", lines(
			"subject:",
			"  table: public.clients", // 2
			"  tenant: tenant_id",
		), []want{{2, []string{`subject needs "key"`}}}},
		{"a subject blocked", withHead(
			"  action:",
			"    block: \"never\"", // 6
		), []want{{6, []string{"subject.action cannot be block here; it may be delete or anonymize"}}}},
		{"no subject", lines(
			"tables:", // 1
			"  public.payments: delete",
		), []want{{1, []string{`the plan needs "subject"`}}}},
		{"a table name that is not one", withHead(
			"tables:",
			"  public.pay ments: delete", // 6
		), []want{{6, []string{`"public.pay ments" is not a table name`}}}},
		{"a table name with three parts", withHead(
			"tables:",
			"  db.public.payments: delete", // 6
		), []want{{6, []string{`"db.public.payments" is not a table name`}}}},
		{"a column that is SQL", withHead(
			"tables:",
			"  public.payments:",
			"    anonymize: {\"iban = NULL, amount_cents\": null}", // 7
		), []want{{7, []string{"is not a column name"}}}},

		// Not YAML at all, or nothing.
		{"tab indentation", lines(
			"subject:",
			"  table: public.clients",
			"\tkey: id", // 3
		), []want{{3, []string{"not valid YAML", "tab"}}}},
		{"an unclosed quote", withHead(
			"tables:",
			"  public.ledger_entries:",
			"    keep: \"immutable ledger", // 7
		), []want{{7, []string{"not valid YAML"}}}},
		{"an unclosed quote before another quote", withHead(
			// The string runs on to the next quote, and the YAML reader
			// names the start of the entry it cannot read.
			"tables:",
			"  public.credit_holders:", // 6
			"    block: \"Client {id} holds an open credit",
			"    where: \"credit_id > 0\"",
			"    otherwise: delete",
		), []want{{6, []string{"not valid YAML", "did not find expected key"}}}},
		{"a tab deeper in the file", withHead(
			"tables:",
			"  public.client_contacts: delete",
			"  public.payments: delete",
			"\t public.documents: delete", // 8
		), []want{{8, []string{"not valid YAML", "tab"}}}},
		{"an unclosed bracket", lines(
			"subject: [", // 1
		), []want{{1, []string{"not valid YAML"}}}},
		{"an empty file", lines(), []want{{0, []string{"the plan is empty"}}}},
		{"only comments", lines("# a plan, one day"), []want{{0, []string{"the plan is empty"}}}},
		{"only a document marker", lines("---"), []want{{0, []string{"the plan is empty"}}}},
		{"a list, not a mapping", lines("- subject", "- tables"), []want{{1, []string{"the plan must be a mapping"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := plan.Parse("plan.yaml", tc.src)
			if p != nil {
				t.Errorf("got a plan: %+v", p)
			}
			refusedWith(t, err, tc.wants...)
		})
	}
}

// The error reads as an editor's jump list: file:line: sentence.
func TestParseErrorNamesTheFileAndLine(t *testing.T) {
	_, err := plan.Parse("ops/plan.yaml", withHead("tables:", "  public.payments: TODO"))
	if got, want := err.Error(), "ops/plan.yaml:6: public.payments is still TODO: a person must decide it before the plan can be used"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	_, err = plan.Parse("ops/plan.yaml", lines("subject:", "\ttable: x"))
	if got, want := err.Error(), "ops/plan.yaml:2: not valid YAML: found character that cannot start any token"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// Every problem is reported at once, each on its own line, so one round of
// edits fixes them all.
func TestParseReportsEveryProblem(t *testing.T) {
	_, err := plan.Parse("plan.yaml", withHead(
		"tables:",
		"  public.payments: TODO", // 6
		"  public.ledger_entries:",
		"    keep:",                 // 8
		"  public.payments: delete", // 9
	))
	refusedWith(t, err,
		want{6, []string{"public.payments is still TODO"}},
		want{8, []string{"public.ledger_entries.keep needs the reason"}},
		want{9, []string{"public.payments is named twice (first on line 6)"}},
	)
}

// Whatever the file holds, Parse answers with a plan or with errors that
// each have a sentence and a line inside the file; it never panics.
func FuzzParse(f *testing.F) {
	for _, name := range examples.Names() {
		b, err := examples.Plan(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(withHead("tables:", "  public.payments:", "    anonymize: {iban: hash}", "    where: \"a = 'b''c' AND (d)\""))
	f.Add(lines("subject:", "\ttable: x"))
	f.Add(lines("---"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := plan.Parse("plan.yaml", b)
		if err == nil {
			if p == nil || p.Subject.Table.Table == "" || p.Subject.Key == "" {
				t.Fatalf("a plan without a subject: %+v", p)
			}
			return
		}
		var es plan.Errors
		if !errors.As(err, &es) || len(es) == 0 {
			t.Fatalf("error %v (%T), want plan.Errors", err, err)
		}
		// YAML breaks lines at \n, \r and \r\n (and three Unicode breaks).
		n := len(regexp.MustCompile("\r\n|[\r\n\u0085\u2028\u2029]").FindAllStringIndex(string(b), -1)) + 1
		for _, e := range es {
			if e.Msg == "" || e.Line < 0 || e.Line > n {
				t.Errorf("error on line %d of %d: %q", e.Line, n, e.Msg)
			}
		}
	})
}
