package plan_test

import (
	"context"
	"database/sql"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lib/pq"
	"github.com/sweephq/sweep/examples"
	"github.com/sweephq/sweep/plan"
)

// An attack on examples/restrict: statements that change its schema after
// the plan was written, and edits that change the plan's text, as a careless
// or a hostile operator would. Check must refuse it, saying on the entry's
// line what to fix, and nothing may change.
type attack struct {
	name   string
	schema []string    // run on the platform before the check
	edits  [][2]string // old, new: each old must be in the plan once
	opts   *plan.Options
	wants  []wantAt
	// fix, when set, is what the refusal says to do; done, the check passes.
	fixSchema []string
	fixEdits  [][2]string
}

// wantAt is a want whose line is found in the edited plan: the line holding
// at ("" for no line).
type wantAt struct {
	at  string
	has []string
	not []string // words the sentence must not say (a fix that cannot work)
}

// restrictPlan is examples/restrict's plan with edits made, each old text
// found exactly once.
func restrictPlan(t *testing.T, edits [][2]string) []byte {
	t.Helper()
	b, err := examples.Plan("restrict")
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	for _, e := range edits {
		if n := strings.Count(src, e[0]); n != 1 {
			t.Fatalf("the plan holds %q %d times, want once", e[0], n)
		}
		src = strings.Replace(src, e[0], e[1], 1)
	}
	return []byte(src)
}

// lineOf is the line of src holding s, which must be on one line only.
func lineOf(t *testing.T, src []byte, s string) int {
	t.Helper()
	if s == "" {
		return 0
	}
	line := 0
	for i, l := range strings.Split(string(src), "\n") {
		if strings.Contains(l, s) {
			if line != 0 {
				t.Fatalf("%q is on lines %d and %d of the plan", s, line, i+1)
			}
			line = i + 1
		}
	}
	if line == 0 {
		t.Fatalf("%q is on no line of the plan:\n%s", s, src)
	}
	return line
}

// rowCounts counts the rows of every table of the platform, with a digest
// of their values, so a row changed in place shows too.
func rowCounts(t *testing.T, db *sql.DB) map[string]string {
	t.Helper()
	rows, err := db.Query(`SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p') AND n.nspname = 'public'`)
	if err != nil {
		t.Fatal(err)
	}
	var names []plan.Name
	for rows.Next() {
		var n plan.Name
		if err := rows.Scan(&n.Schema, &n.Table); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	rows.Close()
	out := map[string]string{}
	for _, n := range names {
		var c string
		if err := db.QueryRow(`SELECT count(*) || ' rows, ' || coalesce(md5(string_agg(r::text, ';' ORDER BY r::text)), '-')
			FROM ` + pq.QuoteIdentifier(n.Schema) + `.` + pq.QuoteIdentifier(n.Table) + ` r`).Scan(&c); err != nil {
			t.Fatal(err)
		}
		out[n.String()] = c
	}
	return out
}

// restrictPlatform is examples/restrict with customers in tenants 1 and 2.
func restrictPlatform(t *testing.T) *sql.DB {
	t.Helper()
	db, _ := platform(t, "restrict")
	restrictRows(t, db, "1")
	restrictRows(t, db, "2")
	return db
}

// checkRefused checks the plan src on db and asserts it is refused with
// wants and leaves every table as it was.
func checkRefused(t *testing.T, db *sql.DB, src []byte, opts plan.Options, wants ...wantAt) {
	t.Helper()
	p, err := plan.Parse("restrict/plan.yaml", src)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	before := rowCounts(t, db)
	cp, err := plan.Check(context.Background(), db, p, opts)
	if cp != nil {
		t.Errorf("a refused plan compiled: %d steps", len(cp.Steps))
	}
	if diff := cmp.Diff(before, rowCounts(t, db)); diff != "" {
		t.Errorf("rows changed (-before +after):\n%s", diff)
	}
	ws := make([]want, len(wants))
	for i, w := range wants {
		ws[i] = want{line: lineOf(t, src, w.at), has: w.has}
	}
	refusedWith(t, err, ws...)
	var es plan.Errors
	if errors.As(err, &es) {
		for i, w := range wants {
			for _, s := range w.not {
				if i < len(es) && strings.Contains(es[i].Msg, s) {
					t.Errorf("error %d says %q, a fix that cannot work: %s", i+1, s, es[i])
				}
			}
		}
	}
}

// checkPasses checks src on db and returns what it compiled.
func checkPasses(t *testing.T, db *sql.DB, src []byte, opts plan.Options) *plan.Compiled {
	t.Helper()
	p, err := plan.Parse("restrict/plan.yaml", src)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	cp, err := plan.Check(context.Background(), db, p, opts)
	if err != nil {
		t.Fatalf("check:\n%v", err)
	}
	return cp
}

const (
	contactConsents = "  public.contact_consents: delete  # a grandchild: through client_contacts\n"
	paymentsEntry   = "  public.payments:\n    anonymize: {payer_name: null, iban: hash, client_id: null}\n    where: \"created_at > now() - interval '7 years'\"\n"
	ledgerKeep      = "    keep: \"immutable ledger; holds no personal data (its client_id is set to null)\""
	detachLine      = "  detach: [referred_by]          # a client this one referred stays, without the link\n"
	documentsMatch  = "match: {tenant_id: tenant_id, entity_id: id}"
	ledgerFK        = "ledger_entries_tenant_id_client_id_fkey"
)

// alterLedgerFK gives ledger_entries' key to clients another ON DELETE.
func alterLedgerFK(onDelete string) string {
	return `ALTER TABLE public.ledger_entries DROP CONSTRAINT ` + ledgerFK + `,
		ADD CONSTRAINT ` + ledgerFK + ` FOREIGN KEY (tenant_id, client_id) REFERENCES public.clients (tenant_id, id) ON DELETE ` + onDelete
}

// Two tables that point at each other and at the customer, all RESTRICT.
var guaranteeCycle = []string{
	`CREATE TABLE public.guarantees (tenant_id bigint NOT NULL, id bigint NOT NULL, client_id bigint NOT NULL, collateral_id bigint,
		PRIMARY KEY (tenant_id, id), FOREIGN KEY (tenant_id, client_id) REFERENCES public.clients (tenant_id, id) ON DELETE RESTRICT)`,
	`CREATE TABLE public.collaterals (tenant_id bigint NOT NULL, id bigint NOT NULL, client_id bigint NOT NULL, guarantee_id bigint,
		PRIMARY KEY (tenant_id, id), FOREIGN KEY (tenant_id, client_id) REFERENCES public.clients (tenant_id, id) ON DELETE RESTRICT,
		CONSTRAINT collaterals_guarantee_fkey FOREIGN KEY (tenant_id, guarantee_id) REFERENCES public.guarantees (tenant_id, id) ON DELETE RESTRICT)`,
	`ALTER TABLE public.guarantees ADD CONSTRAINT guarantees_collateral_fkey FOREIGN KEY (tenant_id, collateral_id) REFERENCES public.collaterals (tenant_id, id) ON DELETE RESTRICT`,
	`CREATE INDEX ON public.guarantees (tenant_id, client_id)`,
	`CREATE INDEX ON public.guarantees (tenant_id, collateral_id)`,
	`CREATE INDEX ON public.collaterals (tenant_id, client_id)`,
	`CREATE INDEX ON public.collaterals (tenant_id, guarantee_id)`,
	`INSERT INTO public.guarantees VALUES (1, 1, 1, NULL)`,
	`INSERT INTO public.collaterals VALUES (1, 1, 1, 1)`,
	`UPDATE public.guarantees SET collateral_id = 1`,
}

func TestCheckRefusesAttacks(t *testing.T) {
	for _, tc := range []attack{
		// Tables the plan does not cover.
		{
			name:  "a grandchild the plan leaves out",
			edits: [][2]string{{contactConsents, ""}},
			wants: []wantAt{{at: "subject:", has: []string{
				"public.contact_consents points at public.client_contacts through its foreign key contact_consents_tenant_id_contact_id_fkey",
				"add public.contact_consents under tables",
			}}},
		},
		{
			name: "a grandchild added to the schema after the plan",
			schema: []string{
				`CREATE TABLE public.consent_notes (tenant_id bigint NOT NULL, consent_id bigint NOT NULL, note text NOT NULL,
					FOREIGN KEY (tenant_id, consent_id) REFERENCES public.contact_consents (tenant_id, id))`,
				`CREATE INDEX ON public.consent_notes (tenant_id, consent_id)`,
				`INSERT INTO public.consent_notes SELECT tenant_id, id, 'by phone' FROM public.contact_consents`,
			},
			wants: []wantAt{{at: "subject:", has: []string{
				"public.consent_notes points at public.contact_consents",
				"add public.consent_notes under tables",
			}}},
			fixEdits: [][2]string{{contactConsents, contactConsents + "  public.consent_notes: delete\n"}},
		},
		{
			name: "a child of a reference added after the plan",
			schema: []string{
				`CREATE TABLE public.document_pages (tenant_id bigint NOT NULL, document_id bigint NOT NULL, body text,
					FOREIGN KEY (tenant_id, document_id) REFERENCES public.documents (tenant_id, id))`,
				`CREATE INDEX ON public.document_pages (tenant_id, document_id)`,
			},
			wants:    []wantAt{{at: "subject:", has: []string{"public.document_pages points at public.documents", "add public.document_pages under tables"}}},
			fixEdits: [][2]string{{"owned:\n", "  public.document_pages: delete\nowned:\n"}},
		},
		{
			name:  "a table that does not exist",
			edits: [][2]string{{"owned:\n", "  public.clinet_notes: delete\nowned:\n"}},
			wants: []wantAt{{at: "public.clinet_notes", has: []string{"public.clinet_notes does not exist in this database"}}},
		},
		{
			// The typo leaves client_contacts uncovered; contact_consents,
			// which reaches the customer through it, is not to blame.
			name:  "a misspelt table with a child",
			edits: [][2]string{{"public.client_contacts: delete", "public.client_contact: delete"}},
			wants: []wantAt{
				{at: "public.client_contact:", has: []string{"public.client_contact does not exist in this database"}},
				{at: "subject:", has: []string{"public.client_contacts points at public.clients", "add public.client_contacts under tables"}},
			},
		},
		{
			name:  "a partition instead of its parent",
			edits: [][2]string{{"public.client_events: delete", "public.client_events_2026: delete"}},
			wants: []wantAt{
				{at: "client_events_2026", has: []string{"public.client_events_2026 is a partition of public.client_events: name the partitioned table public.client_events instead"}},
				{at: "subject:", has: []string{"public.client_events points at public.clients", "add public.client_events under tables"}},
			},
		},

		// Deletes that cannot be ordered.
		{
			name:   "a cycle between two deleted tables",
			schema: guaranteeCycle,
			edits:  [][2]string{{"owned:\n", "  public.guarantees: delete\n  public.collaterals: delete\nowned:\n"}},
			wants: []wantAt{{at: "public.guarantees:", has: []string{
				"public.guarantees → public.collaterals (guarantees_collateral_fkey)",
				"public.collaterals → public.guarantees (collaterals_guarantee_fkey)",
				"drop one of these foreign keys",
			}, not: []string{"DEFERRABLE", "SET NULL"}}},
			fixSchema: []string{`ALTER TABLE public.guarantees DROP CONSTRAINT guarantees_collateral_fkey`},
		},

		// Rows that stay while the rows they point at go.
		{
			name:   "a kept table whose key restricts",
			schema: []string{alterLedgerFK("RESTRICT")},
			wants: []wantAt{{at: "public.ledger_entries:", has: []string{
				"public.ledger_entries says keep, so its rows stay, but its foreign key " + ledgerFK + " (tenant_id, client_id) forbids deleting the public.clients they point at (ON DELETE RESTRICT)",
				"anonymize it and set client_id to null", "ON DELETE SET NULL (client_id)",
			}, not: []string{"tenant_id to null", "tenant_id, client_id to null"}}},
			fixEdits: [][2]string{{ledgerKeep, "    anonymize: {client_id: null}"}},
		},
		{
			name:  "payments kept with their key",
			edits: [][2]string{{paymentsEntry, "  public.payments:\n    keep: \"payment records\"\n"}},
			wants: []wantAt{{at: "public.payments:", has: []string{
				"public.payments says keep", "(ON DELETE NO ACTION)", "anonymize it and set client_id to null",
			}, not: []string{"tenant_id to null", "tenant_id, client_id to null"}}},
		},
		{
			name:  "payments anonymized without their key",
			edits: [][2]string{{", client_id: null}", "}"}},
			wants: []wantAt{{at: "public.payments:", has: []string{
				"public.payments says anonymize", "add client_id: null to its anonymize",
			}, not: []string{"tenant_id: null"}}},
			fixEdits: [][2]string{{"{payer_name: null, iban: hash}", "{payer_name: null, iban: hash, client_id: null}"}},
		},
		{
			name:   "a kept table whose key cascades",
			schema: []string{alterLedgerFK("CASCADE")},
			wants: []wantAt{{at: "public.ledger_entries:", has: []string{
				"public.ledger_entries says keep", "ON DELETE CASCADE", "its rows would be deleted with public.clients anyway",
				"say delete, or change the key to ON DELETE SET NULL (client_id)",
			}}},
			fixSchema: []string{alterLedgerFK("SET NULL (client_id)")},
		},
		{
			// SET NULL of the whole key would null tenant_id, which is NOT
			// NULL: every erasure would fail.
			name:   "a kept table whose key sets its NOT NULL tenant to null",
			schema: []string{alterLedgerFK("SET NULL")},
			wants: []wantAt{{at: "public.ledger_entries:", has: []string{
				"public.ledger_entries", ledgerFK, "ON DELETE SET NULL", "tenant_id", "NOT NULL", "ON DELETE SET NULL (client_id)",
			}}},
			fixSchema: []string{alterLedgerFK("SET NULL (client_id)")},
		},
		{
			// A fixed value in a kept row's key would point it at another
			// customer.
			name:  "a kept row's key pointed at another customer",
			edits: [][2]string{{ledgerKeep, "    anonymize: {client_id: \"2\"}"}},
			wants: []wantAt{{at: "public.ledger_entries:", has: []string{
				"public.ledger_entries.client_id", "another", "null",
			}}},
		},
		{
			name:  "a block on a grandchild",
			edits: [][2]string{{contactConsents, "  public.contact_consents:\n    block: \"Client {id} gave a consent\"\n"}},
			wants: []wantAt{{at: "public.contact_consents:", has: []string{
				"public.contact_consents: block reads the tables that point at public.clients's key directly; public.contact_consents reaches it through public.client_contacts",
			}}},
		},

		// The subject's own links.
		{
			name:  "a self-reference without detach",
			edits: [][2]string{{detachLine, ""}},
			wants: []wantAt{{at: "subject:", has: []string{
				"public.clients's foreign key clients_tenant_id_referred_by_fkey (tenant_id, referred_by) points at another customer (ON DELETE RESTRICT)",
				"add subject.detach: [referred_by]",
			}, not: []string{"[tenant_id"}}},
		},
		{
			// detach: [address_id] would null the address of every
			// customer whose address_id equals an erased customer's id.
			name:  "detach of a column that points elsewhere",
			edits: [][2]string{{"detach: [referred_by]", "detach: [referred_by, address_id]"}},
			wants: []wantAt{{at: "subject:", has: []string{"subject.detach: address_id", "referred_by"}}},
		},
		{
			name:  "detach of the tenant",
			edits: [][2]string{{"detach: [referred_by]", "detach: [tenant_id, referred_by]"}},
			wants: []wantAt{{at: "subject:", has: []string{"subject.detach: tenant_id"}}},
		},
		{
			name: "an anonymized subject moved to another tenant",
			edits: [][2]string{
				{"  tenant: tenant_id\n  action: delete\n", "  tenant: tenant_id\n  action:\n    anonymize: {name: \"erased\", tenant_id: \"2\"}\n"},
				{detachLine, ""}, {"owned:\n  public.addresses: {via: address_id}\n", ""},
			},
			wants: []wantAt{{at: "anonymize: {name", has: []string{"subject.action", "tenant_id", "tenant"}}},
		},

		// Columns that are not there, or cannot take the value.
		{
			name:  "a misspelt anonymized column",
			edits: [][2]string{{"{payer_name: null,", "{payer_nam: null,"}},
			wants: []wantAt{{at: "payer_nam", has: []string{`public.payments.anonymize: public.payments has no column "payer_nam"`, "payer_name"}}},
		},
		{
			name:  "a misspelt subject key",
			edits: [][2]string{{"  key: id\n", "  key: idd\n"}},
			wants: []wantAt{{at: "subject:", has: []string{`subject.key: public.clients has no column "idd"`, "its columns are"}}},
		},
		{
			name:  "a misspelt column in a match",
			edits: [][2]string{{documentsMatch, "match: {tenant_id: tenant_id, entity_idd: id}"}},
			wants: []wantAt{{at: "public.documents:", has: []string{`public.documents.match: public.documents has no column "entity_idd"`, "entity_id"}}},
		},
		{
			name:  "a misspelt subject column in a match",
			edits: [][2]string{{documentsMatch, "match: {tenant_id: tenant_id, entity_id: idd}"}},
			wants: []wantAt{{at: "public.documents:", has: []string{`public.documents.match: public.clients has no column "idd"`}}},
		},
		{
			name:  "a misspelt column in a where",
			edits: [][2]string{{"where: \"created_at > now()", "where: \"created_on > now()"}},
			wants: []wantAt{{at: "anonymize: {payer_name", has: []string{
				`public.payments.where "created_on > now() - interval '7 years'" does not work on public.payments`, `column "created_on" does not exist`,
			}}},
		},
		{
			name:  "a misspelt column in a block's where",
			edits: [][2]string{{"c.status = 'open'", "c.state = 'open'"}},
			wants: []wantAt{{at: "block:", has: []string{"public.credit_holders.where", `column c.state does not exist`}}},
		},
		{
			name:  "a misspelt column in a reference's where",
			edits: [][2]string{{"entity_type = 'client'", "entity_kind = 'client'"}},
			wants: []wantAt{{at: "public.documents:", has: []string{"public.documents.where", `column "entity_kind" does not exist`}}},
		},
		{
			name:  "null for a NOT NULL column",
			edits: [][2]string{{"{payer_name: null,", "{amount_cents: null, payer_name: null,"}},
			wants: []wantAt{{at: "anonymize: {amount_cents", has: []string{
				"public.payments.amount_cents is NOT NULL, so it cannot be set to null", "fixed value",
			}, not: []string{"hash"}}},
		},
		{
			name:  "hash of a bigint column",
			edits: [][2]string{{"{payer_name: null,", "{amount_cents: hash, payer_name: null,"}},
			wants: []wantAt{{at: "anonymize: {amount_cents", has: []string{
				"public.payments.amount_cents is bigint; hash writes 64 hex characters", "fixed value",
			}, not: []string{"null"}}},
		},
		{
			name:  "a fixed value that is not a number",
			edits: [][2]string{{"{payer_name: null,", "{amount_cents: \"lots\", payer_name: null,"}},
			wants: []wantAt{{at: "anonymize: {amount_cents", has: []string{
				`"lots" is not a value of public.payments.amount_cents (bigint)`, "invalid input syntax for type bigint",
			}}},
		},
		{
			name:  "a fixed value that is not a time",
			edits: [][2]string{{"{payer_name: null,", "{created_at: \"last tuesday\", payer_name: null,"}},
			wants: []wantAt{{at: "anonymize: {created_at", has: []string{
				`"last tuesday" is not a value of public.payments.created_at (timestamp with time zone)`,
			}}},
		},
		{
			// The second customer anonymized in a tenant would collide with
			// the first, and every erasure after it fail.
			name:   "a fixed value for a unique column",
			schema: []string{`ALTER TABLE public.payments ADD COLUMN reference text, ADD UNIQUE (tenant_id, reference)`},
			edits:  [][2]string{{"iban: hash", "iban: hash, reference: \"erased\""}},
			wants: []wantAt{{at: "anonymize: {payer_name", has: []string{
				"a unique index of public.payments holds (tenant_id, reference)", "public.payments.reference", "use hash",
			}}},
			fixEdits: [][2]string{{"reference: \"erased\"", "reference: hash"}},
		},

		// References without a foreign key.
		{
			name:  "a reference without the tenant",
			edits: [][2]string{{documentsMatch, "match: {entity_id: id}"}},
			wants: []wantAt{{at: "public.documents:", has: []string{
				"public.documents.match names no tenant, and public.clients's ids repeat across tenants", "{tenant_id: tenant_id}",
			}}},
		},
		{
			// Tenant 1's erasure of customer 2 would delete tenant 2's
			// documents of entity 1.
			name:  "a reference matching the tenant from the wrong column",
			edits: [][2]string{{documentsMatch, "match: {tenant_id: id, entity_id: tenant_id}"}},
			wants: []wantAt{{at: "public.documents:", has: []string{"public.documents.match", "tenant_id", "{tenant_id: tenant_id"}}},
		},

		// What the plan needs besides the database.
		{
			name:  "a hash without a key",
			opts:  &plan.Options{},
			wants: []wantAt{{at: "iban: hash", has: []string{"SWEEP_HASH_KEY"}}},
		},
		{
			name:  "a hash with a short key",
			opts:  &plan.Options{HashKey: []byte("0123456789abcdef")},
			wants: []wantAt{{at: "iban: hash", has: []string{"at least 32 bytes", "SWEEP_HASH_KEY"}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := restrictPlatform(t)
			exec(t, db, tc.schema...)
			opts := plan.Options{HashKey: hashKey}
			if tc.opts != nil {
				opts = *tc.opts
			}
			checkRefused(t, db, restrictPlan(t, tc.edits), opts, tc.wants...)
			if tc.fixSchema != nil || tc.fixEdits != nil {
				exec(t, db, tc.fixSchema...)
				checkPasses(t, db, restrictPlan(t, append(append([][2]string{}, tc.edits...), tc.fixEdits...)), opts)
			}
		})
	}
}

// A cycle of three is named in the direction its keys point.
func TestCheckNamesACycleInTheDirectionOfItsKeys(t *testing.T) {
	db := restrictPlatform(t)
	exec(t, db,
		`CREATE TABLE public.a (tenant_id bigint NOT NULL, id bigint NOT NULL, client_id bigint NOT NULL, c_id bigint, PRIMARY KEY (tenant_id, id),
			FOREIGN KEY (tenant_id, client_id) REFERENCES public.clients (tenant_id, id))`,
		`CREATE TABLE public.b (tenant_id bigint NOT NULL, id bigint NOT NULL, client_id bigint NOT NULL, a_id bigint, PRIMARY KEY (tenant_id, id),
			FOREIGN KEY (tenant_id, client_id) REFERENCES public.clients (tenant_id, id),
			CONSTRAINT b_a FOREIGN KEY (tenant_id, a_id) REFERENCES public.a (tenant_id, id))`,
		`CREATE TABLE public.c (tenant_id bigint NOT NULL, id bigint NOT NULL, client_id bigint NOT NULL, b_id bigint, PRIMARY KEY (tenant_id, id),
			FOREIGN KEY (tenant_id, client_id) REFERENCES public.clients (tenant_id, id),
			CONSTRAINT c_b FOREIGN KEY (tenant_id, b_id) REFERENCES public.b (tenant_id, id))`,
		`ALTER TABLE public.a ADD CONSTRAINT a_c FOREIGN KEY (tenant_id, c_id) REFERENCES public.c (tenant_id, id)`,
		`CREATE INDEX ON public.a (tenant_id, client_id)`, `CREATE INDEX ON public.a (tenant_id, c_id)`,
		`CREATE INDEX ON public.b (tenant_id, client_id)`, `CREATE INDEX ON public.b (tenant_id, a_id)`,
		`CREATE INDEX ON public.c (tenant_id, client_id)`, `CREATE INDEX ON public.c (tenant_id, b_id)`,
	)
	src := restrictPlan(t, [][2]string{{"owned:\n", "  public.a: delete\n  public.b: delete\n  public.c: delete\nowned:\n"}})
	checkRefused(t, db, src, plan.Options{HashKey: hashKey}, wantAt{at: "public.a:", has: []string{
		"public.a → public.c (a_c), public.c → public.b (c_b), public.b → public.a (b_a)",
	}})
}

var createIndexRE = regexp.MustCompile(`CREATE INDEX (CONCURRENTLY )?ON [^;]*;`)

// A delete through a key no index serves is refused with the CREATE INDEX
// that serves it; run, the check passes.
func TestCheckNamesTheMissingIndex(t *testing.T) {
	for _, tc := range []struct {
		drop, at, stmt string
	}{
		{"public.client_contacts_client_idx", "public.client_contacts:", `CREATE INDEX CONCURRENTLY ON "public"."client_contacts" ("tenant_id", "client_id");`},
		{"public.contact_consents_contact_idx", "public.contact_consents:", `CREATE INDEX CONCURRENTLY ON "public"."contact_consents" ("tenant_id", "contact_id");`},
		{"public.credit_holders_client_idx", "public.credit_holders:", `CREATE INDEX CONCURRENTLY ON "public"."credit_holders" ("tenant_id", "client_id");`},
		// A partitioned table's index is made on the parent, not concurrently.
		{"public.client_events_client_idx", "public.client_events:", `CREATE INDEX ON "public"."client_events" ("tenant_id", "client_id");`},
		{"public.documents_entity_idx", "public.documents:", `CREATE INDEX CONCURRENTLY ON "public"."documents" ("tenant_id", "entity_id");`},
		{"public.clients_referred_by_idx", "subject:", `CREATE INDEX CONCURRENTLY ON "public"."clients" ("tenant_id", "referred_by");`},
		{"public.clients_address_idx", "public.addresses:", `CREATE INDEX CONCURRENTLY ON "public"."clients" ("address_id");`},
	} {
		t.Run(tc.drop, func(t *testing.T) {
			db := restrictPlatform(t)
			exec(t, db, `DROP INDEX `+tc.drop)
			src := restrictPlan(t, nil)
			p, err := plan.Parse("restrict/plan.yaml", src)
			if err != nil {
				t.Fatal(err)
			}
			checkRefused(t, db, src, plan.Options{HashKey: hashKey}, wantAt{at: tc.at, has: []string{"no index of", "run " + tc.stmt}})
			_, err = plan.Check(context.Background(), db, p, plan.Options{HashKey: hashKey})
			stmt := createIndexRE.FindString(err.Error())
			if stmt != tc.stmt {
				t.Fatalf("the statement in the error is %q, want %q", stmt, tc.stmt)
			}
			exec(t, db, stmt)
			checkPasses(t, db, src, plan.Options{HashKey: hashKey})
		})
	}
}

// Row-level security that applies to sweep's role would hide rows from the
// erasure; the role here does not bypass it, and the table's owner is
// subject to it only when the table forces it.
func TestCheckRefusesRowLevelSecurity(t *testing.T) {
	db := restrictPlatform(t)
	var bypass bool
	if err := db.QueryRow(`SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user`).Scan(&bypass); err != nil {
		t.Fatal(err)
	}
	if bypass {
		t.Skip("the test database's role bypasses row-level security (superuser or BYPASSRLS); this case needs a role that does not")
	}
	exec(t, db,
		`ALTER TABLE public.payments ENABLE ROW LEVEL SECURITY`,
		`CREATE POLICY payments_tenant_1 ON public.payments USING (tenant_id = 1)`,
	)
	src := restrictPlan(t, nil)
	checkPasses(t, db, src, plan.Options{HashKey: hashKey}) // the owner is not subject to it
	exec(t, db, `ALTER TABLE public.payments FORCE ROW LEVEL SECURITY`)
	checkRefused(t, db, src, plan.Options{HashKey: hashKey}, wantAt{at: "public.payments:", has: []string{
		"public.payments has row-level security and sweep's role is subject to it", "BYPASSRLS",
	}})
}

// A trigger runs for every row sweep deletes: the check says so and
// compiles the plan.
func TestCheckNotesTriggers(t *testing.T) {
	db := restrictPlatform(t)
	exec(t, db,
		`CREATE TABLE public.audit (at timestamptz NOT NULL DEFAULT now(), what text NOT NULL)`,
		`CREATE FUNCTION public.audit_delete() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN INSERT INTO public.audit (what) VALUES (TG_TABLE_NAME); RETURN OLD; END $$`,
		`CREATE TRIGGER contacts_audit AFTER DELETE ON public.client_contacts FOR EACH ROW EXECUTE FUNCTION public.audit_delete()`,
	)
	cp := checkPasses(t, db, restrictPlan(t, nil), plan.Options{HashKey: hashKey})
	want := []string{"public.client_contacts has trigger contacts_audit: it runs for every row sweep deletes or changes there"}
	if diff := cmp.Diff(want, cp.Notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
}

// A draft from sweep plan init leaves TODO where a person must decide: the
// plan is refused with each TODO on its own line until none is left.
func TestADraftIsRefusedUntilEveryTODOIsDecided(t *testing.T) {
	for _, tc := range []struct{ platform, subject string }{{"restrict", "clients"}, {"onetenant", "members"}} {
		t.Run(tc.platform, func(t *testing.T) {
			db, _ := platform(t, tc.platform)
			cat, err := plan.ReadCatalog(context.Background(), db)
			if err != nil {
				t.Fatal(err)
			}
			draft, err := plan.Draft(cat, plan.Name{Schema: "public", Table: tc.subject})
			if err != nil {
				t.Fatal(err)
			}
			draftRefusedAtEachTODO(t, draft)
		})
	}
}

func draftRefusedAtEachTODO(t *testing.T, draft string) {
	t.Helper()
	var todo []int
	for i, l := range strings.Split(draft, "\n") {
		if strings.Contains(l, "TODO") && !strings.HasPrefix(strings.TrimSpace(l), "#") {
			todo = append(todo, i+1)
		}
	}
	if len(todo) == 0 {
		t.Fatalf("the draft has no TODO:\n%s", draft)
	}
	_, err := plan.Parse("plan.yaml", []byte(draft))
	var es plan.Errors
	if !errors.As(err, &es) {
		t.Fatalf("the draft was not refused: %v\n%s", err, draft)
	}
	var got []int
	for _, e := range es {
		if !strings.Contains(e.Msg, "is still TODO: a person must decide it") {
			t.Errorf("an error that is not a TODO: %s", e)
		}
		got = append(got, e.Line)
	}
	if diff := cmp.Diff(todo, got); diff != "" {
		t.Errorf("lines of the TODO errors (-the draft's TODO lines +the errors'):\n%s\n%s", diff, draft)
	}
}
