package plan

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/lib/pq"
	"github.com/sweephq/sweep"
)

// Options are what Check needs besides the plan and the database.
type Options struct {
	// HashKey keys the hash of anonymize's `hash` columns (HMAC-SHA-256);
	// a plan that hashes is refused without one.
	HashKey []byte
	// Skip are schemas left out of the catalog: sweep's own.
	Skip []string
	// KeyTable is sweep's table of customer keys (quoted, with its
	// schema): a subject whose key is not a whole number is erased through
	// the numbers it gives each key. See KeyTableColumns.
	KeyTable string
}

// KeyTableColumns is what Options.KeyTable holds: one row per tenant and
// key, numbered n.
const KeyTableColumns = "(tenant_id bigint NOT NULL, key text NOT NULL, n bigint NOT NULL, PRIMARY KEY (tenant_id, key), UNIQUE (tenant_id, n))"

// keyOf is how a key column of type typ is read, if sweep can read it.
func keyOf(typ string) (sweep.Key, bool) {
	switch {
	case typ == "bigint", typ == "integer", typ == "smallint":
		return sweep.Key{Kind: sweep.KeyWhole}, true
	case typ == "uuid":
		return sweep.Key{Kind: sweep.KeyUUID}, true
	case typ == "text", typ == "character varying":
		return sweep.Key{Kind: sweep.KeyText}, true
	case strings.HasPrefix(typ, "character varying(") && strings.HasSuffix(typ, ")"):
		n, err := strconv.Atoi(typ[len("character varying(") : len(typ)-1])
		return sweep.Key{Kind: sweep.KeyText, MaxLen: n}, err == nil
	}
	return sweep.Key{}, false
}

// node is a table of the plan as the checker sees it.
type node struct {
	name   Name
	t      *CTable
	action Action
	ref    *Reference // a reference: reached by Match, not by a foreign key
	line   int
	edges  []*FK // foreign keys to the subject or a table whose rows go
	order  int
}

// deletes says whether some of the node's rows are deleted.
func (n *node) deletes() bool {
	switch n.action.Kind {
	case Delete:
		return true
	case Anonymize:
		return n.action.Where != ""
	case Block:
		return n.action.Otherwise != nil && (n.action.Otherwise.Kind == Delete || n.action.Otherwise.Where != "")
	}
	return false
}

// rowAction is what happens to a node's rows reached through a key (block's
// otherwise for a block with a where: its blocked rows never reach an
// erased customer).
func (n *node) rowAction() Action {
	if n.action.Kind == Block && n.action.Otherwise != nil {
		return *n.action.Otherwise
	}
	return n.action
}

type checker struct {
	ctx     context.Context
	q       Querier
	p       *Plan
	cat     *Catalog
	opts    Options
	errs    Errors
	notes   []string
	subject *CTable
	key     sweep.Key // how the subject's key is read
	nodes   map[Name]*node
	list    []*node
	// missing: a table of the plan is not in the catalog (or is a
	// partition), so what its children reach through it is unknown.
	missing bool
	// nodePaths lists the ways from a node's rows (as a0) to the subject;
	// compile sets it.
	nodePaths func(n *node) ([]path, error)
}

func (c *checker) fail(line int, format string, args ...any) {
	c.errs = append(c.errs, &Error{Source: c.p.Source, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// Check holds the plan against the database's catalog and compiles it. It
// refuses, each with a sentence naming the table, the column and the fix: a
// table or column that does not exist or has another type; a foreign-key
// path to the subject the plan does not cover (children of children too); a
// delete through a foreign key no index serves (the CREATE INDEX to run is
// in the sentence); a kept or anonymized table whose foreign key forbids the
// subject's delete, would cascade it or set a NOT NULL column to null, or
// whose anonymize points its rows at another row; a detach of a column that
// holds no other customer's id; an anonymized subject given another key or
// tenant; a fixed value a unique index allows once; a reference matched to
// the tenant through another column; and deletes it cannot order (a cycle).
func Check(ctx context.Context, q Querier, p *Plan, opts Options) (*Compiled, error) {
	cat, err := ReadCatalog(ctx, q, opts.Skip...)
	if err != nil {
		return nil, err
	}
	c := &checker{ctx: ctx, q: q, p: p, cat: cat, opts: opts, nodes: map[Name]*node{}}
	c.checkSubject()
	if len(c.errs) > 0 {
		return nil, c.errs
	}
	c.collectNodes()
	c.checkEdges()
	c.checkCollations()
	c.checkCoverage()
	c.checkOrder()
	c.checkOwned()
	c.checkHash()
	if len(c.errs) > 0 {
		return nil, c.errs
	}
	return c.compile()
}

// checkCollations refuses a column that holds a customer's key under a
// nondeterministic collation: its "=" would take another customer's key for
// the erased one's.
func (c *checker) checkCollations() {
	for _, n := range c.list {
		for _, fk := range n.edges {
			if fk.To != c.subject {
				continue
			}
			for i, col := range fk.Cols {
				if cl := fk.From.Columns[col]; cl != nil && cl.Loose && fk.Refs[i] == c.p.Subject.Key {
					c.fail(n.line, "%s.%s holds customers' ids under a nondeterministic collation (such as a case-insensitive one), so erasing one customer would take the rows of another whose id compares equal; give the column a deterministic collation", fk.From.Name, col)
				}
			}
		}
	}
}

func (c *checker) table(n Name, line int, what string) *CTable {
	t := c.cat.Tables[n]
	switch {
	case t == nil && what == n.String():
		c.missing = true
		c.fail(line, "%s does not exist in this database (or sweep's role cannot see it); check the name, or remove it from the plan", n)
		return nil
	case t == nil:
		c.missing = true
		c.fail(line, "%s names table %s, which does not exist in this database (or sweep's role cannot see it); check the name, or remove it from the plan", what, n)
		return nil
	case t.Partition:
		c.missing = true
		c.fail(line, "%s is a partition of %s: name the partitioned table %s instead; sweep reaches every partition through it", n, t.Parent, t.Parent)
		return nil
	case t.RLS:
		c.fail(line, "%s has row-level security and sweep's role is subject to it, so some customers' rows would stay unseen: give the role BYPASSRLS (ALTER ROLE … BYPASSRLS), or leave the table's security off", n)
	}
	for _, tg := range t.Triggers {
		c.notes = append(c.notes, fmt.Sprintf("%s has trigger %s: it runs for every row sweep deletes or changes there", n, tg))
	}
	return t
}

func (c *checker) column(t *CTable, col string, line int, what string) *Column {
	if t == nil || col == "" {
		return nil
	}
	cl := t.Columns[col]
	if cl == nil {
		var names []string
		for n := range t.Columns {
			names = append(names, n)
		}
		slices.Sort(names)
		c.fail(line, "%s: %s has no column %q; its columns are %s", what, t.Name, col, strings.Join(names, ", "))
	}
	return cl
}

func (c *checker) checkSubject() {
	s := c.p.Subject
	c.subject = c.table(s.Table, s.Line, "subject.table")
	if c.subject == nil {
		return
	}
	key := c.column(c.subject, s.Key, s.Line, "subject.key")
	if key != nil {
		var ok bool
		if c.key, ok = keyOf(key.Type); !ok {
			c.fail(s.Line, "subject.key %s.%s is %s: sweep reads a customer's key as a whole number (bigint, integer), a uuid, or text (text, character varying); name a key of one of those types", s.Table, s.Key, key.Type)
		} else if key.Loose {
			c.fail(s.Line, "subject.key %s.%s has a nondeterministic collation (such as a case-insensitive one), so two different keys can compare equal and one erasure would take both; give the column a deterministic collation, or name another key", s.Table, s.Key)
		} else if !key.NotNull {
			c.fail(s.Line, "subject.key %s.%s may be null, so a customer could have no id to be named by; make it NOT NULL, or name the primary key", s.Table, s.Key)
		} else if c.key.Kind != sweep.KeyWhole && c.opts.KeyTable == "" {
			c.fail(s.Line, "subject.key %s.%s is %s: sweep numbers such keys in a table of its own, which this check was not given (run it through sweep, whose migrations make it)", s.Table, s.Key, key.Type)
		}
	}
	tenant := true
	if s.Tenant != "" {
		tc := c.column(c.subject, s.Tenant, s.Line, "subject.tenant")
		if tc != nil && tc.Category != "N" {
			c.fail(s.Line, "subject.tenant %s.%s is %s; it must hold the tenant's instance id, a whole number", s.Table, s.Tenant, tc.Type)
		}
		tenant = tc != nil
	}
	if key != nil && tenant && !c.subject.uniqueOn(s.Key) && (s.Tenant == "" || !c.subject.uniqueOn(s.Tenant, s.Key)) {
		keys := s.Key
		if s.Tenant != "" {
			keys = s.Tenant + ", " + s.Key
		}
		c.fail(s.Line, "subject.key: no primary key or unique index of %s holds (%s), so an id could name two customers; add one, or name the key that has one", s.Table, keys)
	}
	// detach sets a column to null where it holds an erased customer's id:
	// only a column of a key from the subject to its own key holds one.
	links := map[string]bool{}
	for _, fk := range c.subject.FKs {
		for i, col := range fk.Cols {
			if fk.To == c.subject && fk.Refs[i] == s.Key {
				links[col] = true
			}
		}
	}
	for _, d := range s.Detach {
		cl := c.column(c.subject, d, s.Line, "subject.detach")
		switch {
		case cl == nil || key == nil:
		case !links[d]:
			hint := "it has none"
			if len(links) > 0 {
				hint = "here: " + strings.Join(slices.Sorted(maps.Keys(links)), ", ")
			}
			c.fail(s.Line, "subject.detach: %s is not a column of a foreign key from %s to its own %s, so it holds no other customer's id; detach names only such columns (%s)", d, s.Table, s.Key, hint)
		case cl.NotNull:
			c.fail(s.Line, "subject.detach: %s.%s is NOT NULL, so it cannot be set to null; make it nullable, or leave it out of detach", s.Table, d)
		}
	}
	for _, as := range s.Action.Set {
		if as.Column == s.Key || (as.Column == s.Tenant && s.Tenant != "") {
			c.fail(s.Action.Line, "subject.action.anonymize: %s is the subject's key or tenant; an anonymized customer keeps both (a new value would make it another customer, or move it to another tenant), so leave %s out", as.Column, as.Column)
		}
	}
	cols := s.Columns
	for _, pc := range []struct{ col, what, cat string }{
		{cols.LastActivity, "subject.columns.last_activity", "D"}, {cols.ErasureRequested, "subject.columns.erasure_requested", "D"},
		{cols.Origin, "subject.columns.origin", "S"}, {cols.CreatedByImport, "subject.columns.created_by_import", "N"},
	} {
		if cl := c.column(c.subject, pc.col, s.Line, pc.what); cl != nil && cl.Category != pc.cat {
			c.fail(s.Line, "%s %s.%s is %s, which cannot hold what the cleanup policies compare it with", pc.what, s.Table, pc.col, cl.Type)
		}
	}
	c.checkAction(c.subject, s.Action, "subject.action")
}

// checkAction checks the columns an action sets and its where.
func (c *checker) checkAction(t *CTable, a Action, what string) {
	if t == nil {
		return
	}
	for _, as := range a.Set {
		cl := c.column(t, as.Column, a.Line, what+".anonymize")
		if cl == nil {
			continue
		}
		instead := "null or a fixed value"
		if cl.NotNull {
			instead = "a fixed value"
		}
		switch {
		case as.Null && cl.NotNull && cl.Category == "S":
			c.fail(a.Line, "%s: %s.%s is NOT NULL, so it cannot be set to null; give it a fixed value (\"\") or hash", what, t.Name, as.Column)
		case as.Null && cl.NotNull:
			c.fail(a.Line, "%s: %s.%s is NOT NULL, so it cannot be set to null; give it a fixed value of its type (%s)", what, t.Name, as.Column, cl.Type)
		case as.Hash && cl.Category != "S":
			c.fail(a.Line, "%s: %s.%s is %s; hash writes 64 hex characters, so it needs a text column: use %s", what, t.Name, as.Column, cl.Type, instead)
		case as.Hash && strings.HasPrefix(cl.Type, "character") && cl.Type != "character varying" && !longEnough(cl.Type):
			c.fail(a.Line, "%s: %s.%s is %s, too short for hash's 64 hex characters: use %s", what, t.Name, as.Column, cl.Type, instead)
		case !as.Null && !as.Hash:
			var ok bool
			if err := c.q.QueryRowContext(c.ctx, `SELECT CAST($1::text AS `+cl.Type+`) IS NOT NULL`, as.Value).Scan(&ok); err != nil {
				c.fail(a.Line, "%s: %q is not a value of %s.%s (%s): %s", what, as.Value, t.Name, as.Column, cl.Type, pgMessage(err))
			}
		}
	}
	// A fixed value is the same in every row it is written to: a unique
	// index of those columns (and the tenant, the same in a chunk) takes it
	// once, and the next customer's erasure would fail.
	fixed := map[string]bool{}
	for _, as := range a.Set {
		if !as.Null && !as.Hash {
			fixed[as.Column] = true
		}
	}
	for _, ix := range t.Unique {
		var cols []string
		for _, col := range ix {
			if fixed[col] {
				cols = append(cols, col)
			} else if col != c.p.Subject.Tenant {
				cols = nil
				break
			}
		}
		if len(cols) > 0 {
			c.fail(a.Line, "%s: a unique index of %s holds (%s), so a fixed value in %s.%s fits one erased row only and the next erasure would fail: use hash", what, t.Name, strings.Join(ix, ", "), t.Name, strings.Join(cols, ", "))
			break
		}
	}
	if a.Where != "" {
		c.checkPredicate(t, a.Where, a.Line, what+".where")
	}
	if a.Otherwise != nil {
		c.checkAction(t, *a.Otherwise, what+".otherwise")
	}
}

func longEnough(typ string) bool {
	var n int
	_, err := fmt.Sscanf(typ[strings.Index(typ, "(")+1:], "%d", &n)
	return err == nil && n >= 64
}

// checkPredicate has PostgreSQL plan the condition on the table, so a typo
// is found now rather than in a run.
func (c *checker) checkPredicate(t *CTable, pred string, line int, what string) {
	if _, err := c.q.ExecContext(c.ctx, `EXPLAIN SELECT 1 FROM `+quoteName(t.Name)+` WHERE (`+pred+`) IS TRUE`); err != nil {
		c.fail(line, "%s %q does not work on %s: %s", what, pred, t.Name, pgMessage(err))
	}
}

func pgMessage(err error) string {
	if pe, ok := err.(*pq.Error); ok {
		return pe.Message
	}
	return err.Error()
}

func (c *checker) collectNodes() {
	add := func(n *node) {
		if n.t == nil {
			return
		}
		c.nodes[n.name] = n
		c.list = append(c.list, n)
	}
	for _, tb := range c.p.Tables {
		t := c.table(tb.Name, tb.Line, tb.Name.String())
		c.checkAction(t, tb.Action, tb.Name.String())
		add(&node{name: tb.Name, t: t, action: tb.Action, line: tb.Line})
	}
	for i := range c.p.References {
		r := &c.p.References[i]
		t := c.table(r.Name, r.Line, r.Name.String())
		c.checkAction(t, r.Action, r.Name.String())
		if t != nil {
			c.checkMatch(t, r)
			if r.Where != "" {
				c.checkPredicate(t, r.Where, r.Line, r.Name.String()+".where")
			}
		}
		add(&node{name: r.Name, t: t, action: r.Action, ref: r, line: r.Line})
	}
}

func (c *checker) checkMatch(t *CTable, r *Reference) {
	s := c.p.Subject
	var cols []string
	hasKey, hasTenant, wrong, tenantWrong := false, false, false, false
	for _, m := range r.Match {
		switch m.SubjectColumn {
		case s.Key:
			hasKey = true
		case s.Tenant:
			hasTenant = true
		}
		cl := c.column(t, m.Column, r.Line, r.Name.String()+".match")
		sc := c.column(c.subject, m.SubjectColumn, r.Line, r.Name.String()+".match")
		if cl == nil || sc == nil {
			wrong = true
			continue
		}
		if cl.Category != sc.Category {
			wrong = true
			c.fail(r.Line, "%s.match: %s.%s is %s but %s.%s is %s; a match compares values of one kind", r.Name, r.Name, m.Column, cl.Type, s.Table, m.SubjectColumn, sc.Type)
		} else if cl.Loose {
			wrong = true
			c.fail(r.Line, "%s.match: %s.%s has a nondeterministic collation (such as a case-insensitive one), so it would match other customers' ids too; give it a deterministic collation", r.Name, r.Name, m.Column)
		}
		switch {
		case m.SubjectColumn != s.Key && (s.Tenant == "" || m.SubjectColumn != s.Tenant):
			wrong = true
			c.fail(r.Line, "%s.match: %s is neither the subject's key (%s) nor its tenant (%s); a reference holds the customer's id", r.Name, m.SubjectColumn, s.Key, s.Tenant)
		case s.Tenant != "" && t.Columns[s.Tenant] != nil && (m.Column == s.Tenant) != (m.SubjectColumn == s.Tenant):
			// The reference's own tenant column holds the tenant, and
			// nothing else does: matched otherwise, a customer's id would
			// be read as a tenant's and reach another tenant's rows.
			wrong, tenantWrong = true, true
		}
		cols = append(cols, m.Column)
	}
	if tenantWrong {
		c.fail(r.Line, "%s.match: %s.%s holds the tenant, so it matches the subject's tenant, and no other column does: write {%s: %s, …}", r.Name, r.Name, s.Tenant, s.Tenant, s.Tenant)
	}
	if !hasKey && !wrong {
		c.fail(r.Line, "%s.match must map one of its columns to the subject's key, such as {entity_id: %s}", r.Name, s.Key)
	}
	if hasKey && s.Tenant != "" && !hasTenant && !c.subject.uniqueOn(s.Key) {
		wrong = true
		c.fail(r.Line, "%s.match names no tenant, and %s's ids repeat across tenants, so it would reach other tenants' rows: add the table's tenant column, such as {tenant_id: %s}", r.Name, s.Table, s.Tenant)
	}
	if !wrong && len(cols) > 0 && !t.indexed(cols) {
		c.fail(r.Line, "%s: no index of %s leads with (%s), so every chunk would read the whole table; run %s", r.Name, r.Name, strings.Join(cols, ", "), createIndex(t, cols))
	}
}

func quoteName(n Name) string {
	return pq.QuoteIdentifier(n.Schema) + "." + pq.QuoteIdentifier(n.Table)
}

func createIndex(t *CTable, cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = pq.QuoteIdentifier(c)
	}
	if t.Partitioned {
		return fmt.Sprintf("CREATE INDEX ON %s (%s); (a partitioned table's index cannot be built CONCURRENTLY from the parent: build it on each partition CONCURRENTLY first, then on the parent)", quoteName(t.Name), strings.Join(q, ", "))
	}
	return fmt.Sprintf("CREATE INDEX CONCURRENTLY ON %s (%s);", quoteName(t.Name), strings.Join(q, ", "))
}

// parentRowsGo says whether rows of the table named n are deleted when a
// customer is erased: the subject (when deleted) and every node that
// deletes.
func (c *checker) parentRowsGo(t *CTable) bool {
	if t == c.subject {
		return c.p.Subject.Action.Kind == Delete
	}
	n := c.nodes[t.Name]
	return n != nil && n.deletes()
}

// reached says whether rows of t belong to an erased customer, so tables
// pointing at them must say what happens: the subject, and every node
// whose rows go.
func (c *checker) reached(t *CTable) bool {
	return t == c.subject || c.parentRowsGo(t)
}

func (c *checker) checkEdges() {
	for _, n := range c.list {
		for _, fk := range n.t.FKs {
			if fk.To == n.t || !c.reached(fk.To) {
				continue
			}
			if n.ref != nil {
				c.fail(n.line, "%s has a foreign key to %s (%s): name it under tables, which follow foreign keys, not under references", n.name, fk.To.Name, fk.Name)
				continue
			}
			n.edges = append(n.edges, fk)
			c.checkEdge(n, fk)
		}
		if n.ref == nil && len(n.edges) == 0 && !c.missing {
			c.fail(n.line, "%s is under tables, but no foreign key of it reaches %s or a table whose rows go with a customer; if it holds customer ids without a foreign key, move it under references with a match", n.name, c.p.Subject.Table)
		}
	}
}

// checkEdge checks what a node does to its rows that point at rows that go.
func (c *checker) checkEdge(n *node, fk *FK) {
	if !n.t.indexed(fk.Cols) {
		c.fail(n.line, "%s: no index of %s leads with (%s), the columns of its foreign key %s, so every chunk would read the whole table once per customer; run %s", n.name, n.name, strings.Join(fk.Cols, ", "), fk.Name, createIndex(n.t, fk.Cols))
	}
	a := n.rowAction()
	if n.action.Kind == Block {
		if fk.To != c.subject || !slices.Contains(fk.Refs, c.p.Subject.Key) {
			c.fail(n.line, "%s: block reads the tables that point at %s's key directly; %s reaches it through %s. Block on that table, or move %s's rule there", n.name, c.p.Subject.Table, n.name, fk.To.Name, n.name)
		}
		if n.action.Otherwise == nil {
			return
		}
	}
	if a.Kind == Delete {
		return
	}
	links := c.linkColumns(fk)
	for _, as := range a.Set {
		if slices.Contains(links, as.Column) && !as.Null {
			c.fail(n.line, "%s.%s is a column of its foreign key %s to %s: anonymize may set it to null, not to a value, which would point the rows that stay at another row than their own, another customer's", n.name, as.Column, fk.Name, fk.To.Name)
		}
	}
	if !c.parentRowsGo(fk.To) {
		return
	}
	// The node's rows stay (some or all) while the rows they point at go.
	nulled := a.Kind == Anonymize
	for _, col := range links {
		if !slices.ContainsFunc(a.Set, func(as Assignment) bool { return as.Column == col && as.Null }) {
			nulled = false
		}
	}
	setNull := "ON DELETE SET NULL (" + strings.Join(links, ", ") + ")"
	switch {
	case nulled:
	case fk.OnDelete == 'n' || fk.OnDelete == 'd':
		if col := c.notNullSet(fk); col != "" {
			c.fail(n.line, "%s says %s, so its rows stay, but its foreign key %s is %s on (%s), and %s.%s is NOT NULL: deleting the %s they point at would fail. Change the key to %s", n.name, a.Kind, fk.Name, fk.onDeleteWords(), strings.Join(fk.setCols, ", "), n.name, col, fk.To.Name, setNull)
		}
	case fk.OnDelete == 'c':
		c.fail(n.line, "%s says %s, but its foreign key %s is ON DELETE CASCADE, so its rows would be deleted with %s anyway: say delete, or change the key to %s", n.name, a.Kind, fk.Name, fk.To.Name, setNull)
	default:
		fix := "anonymize it and set " + strings.Join(links, ", ") + " to null"
		if a.Kind == Anonymize {
			fix = "add " + strings.Join(links, ": null, ") + ": null to its anonymize"
		}
		c.fail(n.line, "%s says %s, so its rows stay, but its foreign key %s (%s) forbids deleting the %s they point at (%s): %s, delete its rows, or change the key to %s", n.name, a.Kind, fk.Name, strings.Join(fk.Cols, ", "), fk.To.Name, fk.onDeleteWords(), fix, setNull)
	}
}

// linkColumns are the columns of fk that name the row it points at: all
// but the tenant's, which stays when the link is cut.
func (c *checker) linkColumns(fk *FK) []string {
	tenant := c.p.Subject.Tenant
	var out []string
	for _, col := range fk.Cols {
		if tenant == "" || (col != tenant && col != fkTenantColumn(fk, tenant)) {
			out = append(out, col)
		}
	}
	return out
}

// notNullSet is a NOT NULL column that fk's ON DELETE SET NULL would set
// to null, or "".
func (c *checker) notNullSet(fk *FK) string {
	if fk.OnDelete != 'n' {
		return ""
	}
	for _, col := range fk.setCols {
		if cl := fk.From.Columns[col]; cl != nil && cl.NotNull {
			return col
		}
	}
	return ""
}

// fkTenantColumn is the column of fk that holds the tenant (the one that
// references the subject's tenant column), or "".
func fkTenantColumn(fk *FK, tenant string) string {
	for i, r := range fk.Refs {
		if r == tenant {
			return fk.Cols[i]
		}
	}
	return ""
}

// checkCoverage finds every foreign key into rows that go whose table the
// plan does not name.
func (c *checker) checkCoverage() {
	var names []Name
	for n, t := range c.cat.Tables {
		if c.reached(t) {
			names = append(names, n)
		}
	}
	slices.SortFunc(names, func(a, b Name) int { return strings.Compare(a.String(), b.String()) })
	for _, name := range names {
		t := c.cat.Tables[name]
		for _, fk := range t.Refs {
			from := fk.From
			if from.Partition {
				if p := c.cat.Tables[nameOf(from.Parent)]; p != nil {
					from = p
				}
			}
			if from == c.subject && t == c.subject {
				c.checkSelfReference(fk)
				continue
			}
			if from == c.subject || c.nodes[from.Name] != nil || c.ownedTable(from) {
				continue
			}
			c.fail(c.p.Subject.Line, "%s points at %s through its foreign key %s (%s, %s), and the plan does not say what happens to those rows when a customer is erased: add %s under tables with delete, anonymize, block or keep", from.Name, t.Name, fk.Name, strings.Join(fk.Cols, ", "), fk.onDeleteWords(), from.Name)
		}
	}
}

func nameOf(s string) Name {
	schema, table, _ := strings.Cut(s, ".")
	return Name{schema, table}
}

func (c *checker) ownedTable(t *CTable) bool {
	for _, o := range c.p.Owned {
		if o.Name == t.Name {
			return true
		}
	}
	return false
}

// checkSelfReference: a customer who points at another (a referrer).
func (c *checker) checkSelfReference(fk *FK) {
	s := c.p.Subject
	if s.Action.Kind != Delete {
		return
	}
	links := c.linkColumns(fk)
	detached := true
	for _, col := range links {
		if !slices.Contains(s.Detach, col) {
			detached = false
		}
	}
	switch {
	case detached:
	case fk.OnDelete == 'n' || fk.OnDelete == 'd':
		if col := c.notNullSet(fk); col != "" {
			c.fail(s.Line, "%s's foreign key %s (%s) points at another customer and is %s, which would set %s, NOT NULL, to null: add subject.detach: [%s] to set only the link to null", s.Table, fk.Name, strings.Join(fk.Cols, ", "), fk.onDeleteWords(), col, strings.Join(links, ", "))
		}
	case fk.OnDelete == 'c':
		c.fail(s.Line, "%s's foreign key %s (%s) points at another customer and is ON DELETE CASCADE: erasing a customer would delete every customer that points at it. Add subject.detach: [%s] so those customers stay and only lose the link", s.Table, fk.Name, strings.Join(fk.Cols, ", "), strings.Join(links, ", "))
	default:
		c.fail(s.Line, "%s's foreign key %s (%s) points at another customer (%s), so a customer others point at could not be erased: add subject.detach: [%s] to set it to null in their rows", s.Table, fk.Name, strings.Join(fk.Cols, ", "), fk.onDeleteWords(), strings.Join(links, ", "))
	}
	if !c.subject.indexed(fk.Cols) {
		c.fail(s.Line, "subject.detach: no index of %s leads with (%s); run %s", s.Table, strings.Join(fk.Cols, ", "), createIndex(c.subject, fk.Cols))
	}
}

// checkOrder orders the nodes so that rows are handled before the rows
// they point at; a cycle it cannot break is refused.
func (c *checker) checkOrder() {
	state := map[*node]int{} // 1 visiting, 2 done
	var order []*node
	var visit func(n *node, path []Name) bool
	visit = func(n *node, path []Name) bool {
		switch state[n] {
		case 1:
			// path runs from a table to the tables that point at it; the
			// sentence follows the keys, each table to the one it points at.
			cycle := append(path[slices.Index(path, n.name):], n.name)
			slices.Reverse(cycle)
			var parts []string
			for i := 0; i+1 < len(cycle); i++ {
				from, to := c.nodes[cycle[i]], c.nodes[cycle[i+1]]
				for _, fk := range from.edges {
					if fk.To == to.t {
						parts = append(parts, fmt.Sprintf("%s → %s (%s)", from.name, to.name, fk.Name))
						break
					}
				}
			}
			c.fail(n.line, "cannot order the deletes: these tables point at each other in a cycle: %s. Sweep deletes the rows that point at a row before that row, whatever the keys' ON DELETE, so no order works: drop one of these foreign keys, or let one of these tables keep its rows (anonymize it, setting the columns of its keys to the others to null)", strings.Join(parts, ", "))
			return false
		case 2:
			return true
		}
		state[n] = 1
		// Tables pointing at n go first.
		for _, m := range c.list {
			for _, fk := range m.edges {
				if fk.To == n.t && m != n {
					if !visit(m, append(path, n.name)) {
						return false
					}
				}
			}
		}
		state[n] = 2
		order = append(order, n)
		return true
	}
	for _, n := range c.list {
		if !visit(n, nil) {
			return
		}
	}
	for i, n := range order {
		n.order = i
	}
	c.list = order
}

func (c *checker) checkOwned() {
	s := c.p.Subject
	for _, o := range c.p.Owned {
		t := c.table(o.Name, o.Line, o.Name.String())
		via := c.cat.Tables[o.ViaTable]
		if t == nil {
			continue
		}
		if via == nil {
			c.fail(o.Line, "%s.via names table %s, which does not exist", o.Name, o.ViaTable)
			continue
		}
		if !c.parentRowsGo(via) {
			c.fail(o.Line, "%s.via: the rows of %s stay when a customer is erased, so what they point at stays too; via names a column of the subject (when it is deleted) or of a table under tables that deletes", o.Name, via.Name)
			continue
		}
		if c.column(via, o.Via, o.Line, o.Name.String()+".via") == nil {
			continue
		}
		var fk *FK
		for _, f := range via.FKs {
			if f.To == t && slices.Contains(f.Cols, o.Via) {
				fk = f
			}
		}
		if fk == nil {
			c.fail(o.Line, "%s.via: no foreign key of %s through %s points at %s", o.Name, via.Name, o.Via, o.Name)
			continue
		}
		for i, col := range fk.Cols {
			if col != o.Via && (s.Tenant == "" || fk.Refs[i] != fkRefTenant(t, s.Tenant)) {
				c.fail(o.Line, "%s.via: the foreign key %s has more columns than %s and the tenant; an owned row is named by one column", o.Name, fk.Name, o.Via)
			}
		}
		for _, ref := range t.Refs {
			if !ref.From.indexed(ref.Cols) {
				c.fail(o.Line, "%s: before deleting an owned row sweep makes sure nothing else points at it, and no index of %s leads with (%s); run %s", o.Name, ref.From.Name, strings.Join(ref.Cols, ", "), createIndex(ref.From, ref.Cols))
			}
		}
	}
}

// fkRefTenant is the tenant column of an owned table: the column named
// like the subject's tenant, if it has one.
func fkRefTenant(t *CTable, tenant string) string {
	if t.Columns[tenant] != nil {
		return tenant
	}
	return ""
}

func (c *checker) checkHash() {
	hashes := func(a Action) bool {
		for _, as := range a.Set {
			if as.Hash {
				return true
			}
		}
		return a.Otherwise != nil && slices.ContainsFunc(a.Otherwise.Set, func(as Assignment) bool { return as.Hash })
	}
	// The line of the first action that hashes, in the file's order.
	actions := []Action{c.p.Subject.Action}
	for _, t := range c.p.Tables {
		actions = append(actions, t.Action)
	}
	for _, r := range c.p.References {
		actions = append(actions, r.Action)
	}
	line, uses := 0, false
	for _, a := range actions {
		if !uses && hashes(a) {
			line, uses = a.Line, true
		}
	}
	if uses && len(c.opts.HashKey) < 32 {
		c.fail(line, "the plan anonymizes with hash, which needs a secret key of at least 32 bytes: set SWEEP_HASH_KEY (for example to the output of `openssl rand -hex 32`)")
	}
}
