package plan

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/lib/pq"
)

// The tokens a statement is written with before its parameters are
// numbered: the tenant, the customers' ids, the hash key's two pads, one
// owned table's collected keys, and (validation only) one id expression.
const (
	tokTenant = "\x01T"
	tokIDs    = "\x01K"
	tokInner  = "\x01I"
	tokOuter  = "\x01O"
	tokOwned  = "\x01n" // followed by the owned entry's index and \x02
	tokID     = "\x01X"
)

// maxPaths bounds the foreign-key paths from one table to the subject.
const maxPaths = 64

// Compiled is a plan checked against one database, with the statements a
// chunk runs.
type Compiled struct {
	Plan  *Plan
	Notes []string // things worth knowing that are not refusals (triggers)
	// Steps in the order a chunk runs them: rows that point at other rows
	// first, the subject last but owned rows.
	Steps    []Step
	blocks   []blockCheck
	collects []collect
	lock     string
	key      string // the subject's key, quoted
	tenant   string // the subject's tenant column, quoted; "" with tenant: database
	subject  string // the subject table, quoted
	keys     keyMap
	inner    []byte
	outer    []byte
}

// Step is one statement of a chunk: what it does to which table.
type Step struct {
	Table  Name
	Action string // deleted, anonymized, detached (a subject's link to an erased customer)
	// SQL has tokens for its parameters; KeyExpr is the erased customer's
	// id for each row it touches ("" when a row may belong to several).
	sql, keyExpr, count string
	// ReturnsKey: RETURNING gives the customer's id per row touched.
	ReturnsKey bool
	// Cascaded: the platform's own ON DELETE CASCADE deletes these rows
	// with their parent, so a chunk leaves them to it (deleting them itself
	// too would make every parent row's cascade look for them again); with
	// per-customer counts it deletes and counts them itself.
	Cascaded bool
}

// blockCheck is one block of the plan: the ids of the chunk it refuses,
// and the same test on one id for validation and selections.
type blockCheck struct {
	table    Name
	sentence string
	sql      string // the blocked ids among the chunk's
	exists   string // EXISTS on one customer's number, for validation
	existsK  string // EXISTS on one platform key expression, for selections
}

type collect struct {
	table   Name   // the owned table
	sql     string // the keys of owned rows the chunk's rows point at, as text
	del     string // deletes those of them nothing else points at
	count   string
	keyType string
}

// Order lists the tables in the order a chunk handles them.
func (cp *Compiled) Order() []Name {
	var out []Name
	for _, s := range cp.Steps {
		if len(out) == 0 || out[len(out)-1] != s.Table {
			out = append(out, s.Table)
		}
	}
	return out
}

func q(s string) string { return pq.QuoteIdentifier(s) }

// path is one way from a table's rows to the subject: the joins and
// conditions that select the rows of an erased customer, and the
// expression of that customer's id.
type path struct {
	using []string
	conds []string
	key   string
}

func (c *checker) compile() (*Compiled, error) {
	s := c.p.Subject
	cp := &Compiled{Plan: c.p, Notes: c.notes, key: q(s.Key), subject: quoteName(s.Table), keys: c.keyMap()}
	if s.Tenant != "" {
		cp.tenant = q(s.Tenant)
	}
	if len(c.opts.HashKey) > 0 {
		cp.inner, cp.outer = HMACPads(c.opts.HashKey)
	}
	subjectCond := func(alias string) []string {
		conds := []string{alias + "." + cp.key + " = ANY(" + tokIDs + ")"}
		if cp.tenant != "" {
			conds = append([]string{alias + "." + cp.tenant + " = " + tokTenant}, conds...)
		}
		return conds
	}
	cp.lock = `SELECT ` + cp.keys.toN("a0."+cp.key) + ` FROM ` + cp.subject + ` a0 WHERE ` + strings.Join(subjectCond("a0"), " AND ") + ` ORDER BY 1 FOR UPDATE OF a0`

	// paths(n, alias, depth) lists the ways from n's rows (as alias) to
	// the subject.
	var paths func(n *node, alias string, depth int) ([]path, error)
	c.nodePaths = func(n *node) ([]path, error) { return paths(n, "a0", 0) }
	edgePaths := func(fk *FK, alias string, depth int) ([]path, error) {
		if fk.To == c.subject {
			var p path
			direct := true
			for _, r := range fk.Refs {
				if r != s.Key && r != s.Tenant {
					direct = false
				}
			}
			if direct && slices.Contains(fk.Refs, s.Key) {
				for i, col := range fk.Cols {
					if fk.Refs[i] == s.Key {
						p.conds = append(p.conds, alias+"."+q(col)+" = ANY("+tokIDs+")")
						p.key = alias + "." + q(col)
					} else {
						p.conds = append(p.conds, alias+"."+q(col)+" = "+tokTenant)
					}
				}
				return []path{p}, nil
			}
			a := "a" + strconv.Itoa(depth+1)
			p.using = []string{cp.subject + " " + a}
			for i, col := range fk.Cols {
				p.conds = append(p.conds, alias+"."+q(col)+" = "+a+"."+q(fk.Refs[i]))
			}
			p.conds = append(p.conds, subjectCond(a)...)
			p.key = a + "." + cp.key
			return []path{p}, nil
		}
		parent := c.nodes[fk.To.Name]
		a := "a" + strconv.Itoa(depth+1)
		up, err := paths(parent, a, depth+1)
		if err != nil {
			return nil, err
		}
		var out []path
		for _, u := range up {
			p := path{using: append([]string{quoteName(parent.name) + " " + a}, u.using...), key: u.key}
			for i, col := range fk.Cols {
				p.conds = append(p.conds, alias+"."+q(col)+" = "+a+"."+q(fk.Refs[i]))
			}
			if pa := parent.rowAction(); pa.Kind == Anonymize && pa.Where != "" {
				// Only the parent's rows that go are pointed at by rows
				// that must go with them.
				p.conds = append(p.conds, rowPredicate(a, parent.name, pa.Where)+" IS NOT TRUE")
			}
			p.conds = append(p.conds, u.conds...)
			out = append(out, p)
		}
		return out, nil
	}
	paths = func(n *node, alias string, depth int) ([]path, error) {
		if n.ref != nil {
			var p path
			for _, m := range n.ref.Match {
				if m.SubjectColumn == s.Key {
					p.conds = append(p.conds, alias+"."+q(m.Column)+" = ANY("+tokIDs+")")
					p.key = alias + "." + q(m.Column)
				} else {
					p.conds = append(p.conds, alias+"."+q(m.Column)+" = "+tokTenant)
				}
			}
			if n.ref.Where != "" {
				p.conds = append(p.conds, rowPredicate(alias, n.name, n.ref.Where)+" IS TRUE")
			}
			return []path{p}, nil
		}
		var out []path
		for _, fk := range n.edges {
			ps, err := edgePaths(fk, alias, depth)
			if err != nil {
				return nil, err
			}
			out = append(out, ps...)
			if len(out) > maxPaths {
				return nil, Errors{{Source: c.p.Source, Line: n.line, Msg: fmt.Sprintf("%s reaches the subject through more than %d foreign-key paths; sweep cannot build its statements. Name fewer tables, or anonymize a key column that joins them", n.name, maxPaths)}}
			}
		}
		return out, nil
	}

	for _, n := range c.list {
		ps, err := paths(n, "a0", 0)
		if err != nil {
			return nil, err
		}
		if n.action.Kind == Block {
			for _, p := range ps {
				cp.blocks = append(cp.blocks, blockCheck{
					table: n.name, sentence: n.action.Sentence,
					sql: `SELECT DISTINCT ` + cp.keys.toN(p.key) + ` FROM ` + quoteName(n.name) + ` a0 WHERE ` + strings.Join(withWhere(p.conds, n.name, n.action.Where), " AND "),
				})
				conds := strings.Join(withWhere(p.conds, n.name, n.action.Where), " AND ")
				b := &cp.blocks[len(cp.blocks)-1]
				b.exists = `EXISTS (SELECT 1 FROM ` + quoteName(n.name) + ` a0 WHERE ` + cp.keys.isN(conds) + `)`
				b.existsK = `EXISTS (SELECT 1 FROM ` + quoteName(n.name) + ` a0 WHERE ` + isKey(conds) + `)`
			}
		}
		a := n.rowAction()
		where := a.Where
		if n.action.Kind == Block {
			// The rows the block does not take: its where is not true for them.
			for i := range ps {
				ps[i].conds = append(ps[i].conds, rowPredicate("a0", n.name, n.action.Where)+" IS NOT TRUE")
			}
		}
		switch a.Kind {
		case Delete:
			steps := c.rowSteps(n.name, "deleted", ps, "", "")
			if n.action.Kind == Delete && c.cascades(n, map[*node]bool{}) {
				for i := range steps {
					steps[i].Cascaded = true
				}
			}
			cp.Steps = append(cp.Steps, steps...)
		case Anonymize:
			set, err := c.assignments(n.t, a.Set)
			if err != nil {
				return nil, err
			}
			cp.Steps = append(cp.Steps, c.rowSteps(n.name, "anonymized", ps, set, where)...)
			if where != "" {
				cp.Steps = append(cp.Steps, c.rowSteps(n.name, "deleted", ps, "", "NOT:"+where)...)
			}
		case Keep:
			cp.Steps = append(cp.Steps, c.rowSteps(n.name, "kept", ps, "", "")...)
		}
	}
	// Owned rows: their keys are read before the rows that point at them go.
	for i, o := range c.p.Owned {
		col, err := c.collect(cp, o, i, subjectCond)
		if err != nil {
			return nil, err
		}
		cp.collects = append(cp.collects, col)
	}
	// The subject: other customers' links to the erased ones, then the
	// customers themselves.
	for _, d := range s.Detach {
		conds := []string{"a0." + q(d) + " = ANY(" + tokIDs + ")"}
		if cp.tenant != "" {
			conds = append([]string{"a0." + cp.tenant + " = " + tokTenant}, conds...)
		}
		cp.Steps = append(cp.Steps, Step{Table: s.Table, Action: "detached",
			sql:   `UPDATE ` + cp.subject + ` a0 SET ` + q(d) + ` = NULL WHERE ` + strings.Join(conds, " AND "),
			count: `SELECT count(*) FROM ` + cp.subject + ` a0 WHERE ` + strings.Join(conds, " AND ")})
	}
	subj := path{conds: subjectCond("a0"), key: "a0." + cp.key}
	switch s.Action.Kind {
	case Delete:
		cp.Steps = append(cp.Steps, c.rowSteps(s.Table, "deleted", []path{subj}, "", "")...)
	case Anonymize:
		set, err := c.assignments(c.subject, s.Action.Set)
		if err != nil {
			return nil, err
		}
		cp.Steps = append(cp.Steps, c.rowSteps(s.Table, "anonymized", []path{subj}, set, "")...)
	}
	// What a chunk runs names its customers by number: a uuid or text key
	// is looked up (the counts and the exists are rewritten where used).
	cp.lock = cp.keys.inChunk(cp.lock)
	for i := range cp.blocks {
		cp.blocks[i].sql = cp.keys.inChunk(cp.blocks[i].sql)
	}
	for i := range cp.Steps {
		cp.Steps[i].sql = cp.keys.inChunk(cp.Steps[i].sql)
		cp.Steps[i].keyExpr = cp.keys.toN(cp.Steps[i].keyExpr)
	}
	for i := range cp.collects {
		cp.collects[i].sql = cp.keys.inChunk(cp.collects[i].sql)
	}
	return cp, nil
}

// keyMap is how the compiled statements name customers.
func (c *checker) keyMap() keyMap {
	m := keyMap{key: c.key, table: c.opts.KeyTable}
	if col := c.subject.Columns[c.p.Subject.Key]; col != nil {
		m.typ = col.Type
	}
	return m
}

// cascades says whether deleting the subject deletes all of n's rows that
// reach it through the platform's own keys: every key of n to rows that go
// is ON DELETE CASCADE, to the subject (which the plan deletes) or to a
// table whose rows cascade the same way.
func (c *checker) cascades(n *node, seen map[*node]bool) bool {
	if seen[n] || n.ref != nil || n.action.Kind != Delete || len(n.edges) == 0 {
		return false
	}
	seen[n] = true
	for _, fk := range n.edges {
		if fk.OnDelete != 'c' {
			return false
		}
		if fk.To == c.subject {
			if c.p.Subject.Action.Kind != Delete {
				return false
			}
			continue
		}
		if p := c.nodes[fk.To.Name]; p == nil || !c.cascades(p, seen) {
			return false
		}
	}
	return true
}

// rowPredicate is an operator's condition on one row of table t, aliased
// alias in the statement. It is asked of that row alone, under the table's
// own name: its bare column names cannot be taken for a joined table's, and
// table.column works as it does in the check's EXPLAIN.
func rowPredicate(alias string, t Name, pred string) string {
	return "(SELECT (" + pred + ") FROM (SELECT " + alias + ".*) AS " + q(t.Table) + ")"
}

func withWhere(conds []string, t Name, where string) []string {
	if where == "" {
		return conds
	}
	return append(append([]string{}, conds...), rowPredicate("a0", t, where)+" IS TRUE")
}

// rowSteps builds one table's statements, one per path; where narrows them
// (a leading NOT: to the rows where it is not true).
func (c *checker) rowSteps(name Name, action string, ps []path, set, where string) []Step {
	var out []Step
	for _, p := range ps {
		conds := append([]string{}, p.conds...)
		if where != "" {
			w, is := where, " IS TRUE"
			if strings.HasPrefix(w, "NOT:") {
				w, is = w[4:], " IS NOT TRUE"
			}
			conds = append(conds, rowPredicate("a0", name, w)+is)
		}
		cond := strings.Join(conds, " AND ")
		st := Step{Table: name, Action: action, keyExpr: p.key, ReturnsKey: true}
		from := quoteName(name) + " a0"
		st.count = `SELECT count(*) FROM ` + strings.Join(append([]string{from}, p.using...), ", ") + ` WHERE ` + cond
		switch action {
		case "deleted":
			st.sql = `DELETE FROM ` + from
			if len(p.using) > 0 {
				st.sql += ` USING ` + strings.Join(p.using, ", ")
			}
			st.sql += ` WHERE ` + cond
		case "anonymized":
			if strings.Contains(set, strings.TrimPrefix(p.key, "a0.")+" = ") && strings.HasPrefix(p.key, "a0.") {
				// RETURNING would read the value just set (null).
				st.ReturnsKey, st.keyExpr = false, ""
			}
			st.sql = `UPDATE ` + from + ` SET ` + set
			if len(p.using) > 0 {
				st.sql += ` FROM ` + strings.Join(p.using, ", ")
			}
			st.sql += ` WHERE ` + cond
		}
		out = append(out, st)
	}
	if len(ps) > 1 {
		// A row reached by two paths counts once.
		var union []string
		for _, st := range out {
			union = append(union, strings.Replace(st.count, "SELECT count(*)", "SELECT a0.ctid", 1))
		}
		out[0].count = `SELECT count(*) FROM (` + strings.Join(union, " UNION ") + `) u`
		for i := 1; i < len(out); i++ {
			out[i].count = ""
		}
		if action == "anonymized" {
			// Once per row, whatever the number of paths to it.
			st := out[0]
			st.sql = `UPDATE ` + quoteName(name) + ` a0 SET ` + set + ` WHERE a0.ctid = ANY(ARRAY(` + strings.Join(union, " UNION ") + `))`
			st.ReturnsKey, st.keyExpr = false, ""
			out = []Step{st}
		}
	}
	return out
}

// assignments is anonymize's SET list.
func (c *checker) assignments(t *CTable, set []Assignment) (string, error) {
	parts := make([]string, len(set))
	for i, as := range set {
		col := t.Columns[as.Column]
		var v string
		switch {
		case as.Null:
			v = "NULL"
		case as.Hash:
			v = `encode(sha256(` + tokOuter + ` || sha256(` + tokInner + ` || convert_to(a0.` + q(as.Column) + `::text, 'UTF8'))), 'hex')`
		default:
			v = `CAST(` + pq.QuoteLiteral(as.Value) + ` AS ` + col.Type + `)`
		}
		parts[i] = q(as.Column) + " = " + v
	}
	return strings.Join(parts, ", "), nil
}

// collect builds an owned table's statements.
func (c *checker) collect(cp *Compiled, o Owned, i int, subjectCond func(string) []string) (collect, error) {
	s := c.p.Subject
	t := c.cat.Tables[o.Name]
	via := c.cat.Tables[o.ViaTable]
	var fk *FK
	for _, f := range via.FKs {
		if f.To == t && slices.Contains(f.Cols, o.Via) {
			fk = f
		}
	}
	ref := fk.Refs[slices.Index(fk.Cols, o.Via)]
	col := collect{table: o.Name, keyType: t.Columns[ref].Type}
	var ps []path
	if via == c.subject {
		ps = []path{{conds: subjectCond("a0")}}
	} else {
		var err error
		n := c.nodes[via.Name]
		ps, err = c.nodePaths(n)
		if err != nil {
			return col, err
		}
	}
	var sel []string
	for _, p := range ps {
		sel = append(sel, `SELECT a0.`+q(o.Via)+` AS k FROM `+strings.Join(append([]string{quoteName(via.Name) + " a0"}, p.using...), ", ")+` WHERE `+strings.Join(p.conds, " AND ")+` AND a0.`+q(o.Via)+` IS NOT NULL`)
	}
	col.sql = `SELECT array_agg(DISTINCT k)::text FROM (` + strings.Join(sel, " UNION ") + `) u`
	tok := tokOwned + strconv.Itoa(i) + "\x02"
	conds := []string{`a0.` + q(ref) + ` = ANY(` + tok + `::` + col.keyType + `[])`}
	if tc := fkRefTenant(t, s.Tenant); tc != "" && s.Tenant != "" {
		conds = append(conds, `a0.`+q(tc)+` = `+tokTenant)
	}
	var notRef []string
	for _, r := range t.Refs {
		var on []string
		for j, c := range r.Cols {
			on = append(on, "r."+q(c)+" = a0."+q(r.Refs[j]))
		}
		notRef = append(notRef, `NOT EXISTS (SELECT 1 FROM `+quoteName(r.From.Name)+` r WHERE `+strings.Join(on, " AND ")+`)`)
	}
	col.del = `DELETE FROM ` + quoteName(o.Name) + ` a0 WHERE ` + strings.Join(append(conds, notRef...), " AND ")
	// The preview runs before anything goes: an owned row counts when the
	// erased rows are all that point at it (a row of the table it is owned
	// through that stays, or any row of another table, keeps it).
	var going []string
	for _, p := range ps {
		going = append(going, `SELECT a0.tableoid, a0.ctid FROM `+strings.Join(append([]string{quoteName(via.Name) + " a0"}, p.using...), ", ")+` WHERE `+strings.Join(p.conds, " AND "))
	}
	var kept []string
	for _, r := range t.Refs {
		var on []string
		for j, c := range r.Cols {
			on = append(on, "r."+q(c)+" = o."+q(r.Refs[j]))
		}
		stays := ""
		if r.From == via {
			stays = ` AND (r.tableoid, r.ctid) NOT IN (` + strings.Join(going, " UNION ") + `)`
		}
		kept = append(kept, `NOT EXISTS (SELECT 1 FROM `+quoteName(r.From.Name)+` r WHERE `+strings.Join(on, " AND ")+stays+`)`)
	}
	col.count = `SELECT count(*) FROM ` + quoteName(o.Name) + ` o WHERE ` + strings.Join(append([]string{`o.` + q(ref) + ` IN (` + strings.Join(sel, " UNION ") + `)`}, kept...), " AND ")
	return col, nil
}

// HMACPads are HMAC-SHA-256's inner and outer keys for key, so the
// database computes sha256(outer || sha256(inner || value)).
func HMACPads(key []byte) (inner, outer []byte) {
	if len(key) > 64 {
		sum := sha256.Sum256(key)
		key = sum[:]
	}
	inner, outer = make([]byte, 64), make([]byte, 64)
	copy(inner, key)
	copy(outer, key)
	for i := range inner {
		inner[i] ^= 0x36
		outer[i] ^= 0x5c
	}
	return inner, outer
}
