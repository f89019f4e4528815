// Package plan reads an erasure plan: the file in which an operator says, for
// the platform's own database, which table holds the customers sweep erases
// (the subject), and what happens to every row that reaches a customer —
// delete, anonymize, block or keep. Check holds a plan against the live
// catalog and compiles it into the statements a chunk runs.
package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Action kinds.
const (
	Delete    = "delete"
	Anonymize = "anonymize"
	Block     = "block"
	Keep      = "keep"
)

// Plan is a parsed erasure plan, not yet held against a database.
type Plan struct {
	Source  string // the file it was read from, for messages
	Hash    string // sha256 of the file's bytes, recorded on each import
	Subject Subject
	// Tables are the tables that reach the subject through foreign keys,
	// in the file's order.
	Tables []Table
	// Owned are the tables the subject (or a row deleted with it) points to,
	// whose rows go with it when nothing else points to them.
	Owned []Owned
	// References are tables tied to the subject by columns no foreign key
	// declares.
	References []Reference
}

// Name is a schema-qualified table name.
type Name struct{ Schema, Table string }

func (n Name) String() string { return n.Schema + "." + n.Table }

// Subject is the table whose rows are the customers: the CSV's customerId
// and DELETE /v1/customers/{id} name its key.
type Subject struct {
	Table Name
	Key   string
	// Tenant is the column holding the tenant's instance id; empty when the
	// whole database is one tenant (DatabaseTenant then names it).
	Tenant         string
	DatabaseTenant int64
	Action         Action // Delete or Anonymize
	// Detach lists the subject's own columns that point at another
	// customer (a referrer): set to NULL in the rows that point at an erased
	// one, so the kept customer stays.
	Detach []string
	// Columns names the subject's columns the cleanup policies read.
	Columns PolicyColumns
	Line    int
}

// PolicyColumns are the subject's columns behind the cleanup policies'
// menu; a policy whose column is not named is refused with a sentence.
type PolicyColumns struct {
	LastActivity     string // a timestamp: inactive customers
	ErasureRequested string // a timestamp: erasure requested
	Origin           string // text: where the customer came from
	CreatedByImport  string // bigint: the import that created the customer
}

// Action is what happens to a table's rows that reach an erased customer.
type Action struct {
	Kind string
	// Set holds anonymize's columns and their new values, in the file's
	// order.
	Set []Assignment
	// Sentence is block's refusal; {id} stands for the customer's id.
	Sentence string
	// Reason is keep's reason.
	Reason string
	// Where narrows the action: anonymize only rows where it holds (the
	// others are deleted); block only on rows where it holds (Otherwise
	// says what happens to the rest).
	Where     string
	Otherwise *Action
	Line      int
}

// Assignment is one anonymized column.
type Assignment struct {
	Column string
	Null   bool
	Hash   bool   // a keyed hash of the value (HMAC-SHA-256, hex)
	Value  string // a fixed value, when neither Null nor Hash
}

// Table is one entry of the plan's tables.
type Table struct {
	Name   Name
	Action Action
	Line   int
}

// Owned is one entry of owned: rows of Name that Via (a column of the
// subject, or table.column of a table deleted with it) points to.
type Owned struct {
	Name     Name
	ViaTable Name // the subject's table when via names a bare column
	Via      string
	Line     int
}

// Reference is one entry of references: rows of Name whose Match columns
// hold the subject's columns (usually its key, and its tenant).
type Reference struct {
	Name   Name
	Match  []ColumnPair // table column = subject column
	Where  string
	Action Action
	Line   int
}

// ColumnPair maps a column of a reference table to one of the subject.
type ColumnPair struct{ Column, SubjectColumn string }

// Error is a plan that cannot be used, with the place in its file.
type Error struct {
	Source string
	Line   int
	Msg    string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.Source, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Source, e.Msg)
}

// Errors is every problem found in one plan.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Load reads and parses the plan file at path.
func Load(path string) (*Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the erasure plan: %w", err)
	}
	return Parse(path, b)
}

// Parse parses a plan. It refuses, with the line, unknown keys, a table
// named twice, an action without what it needs and a TODO a person must
// still decide; it does not look at any database (see Check).
func Parse(source string, b []byte) (*Plan, error) {
	sum := sha256.Sum256(b)
	p := &Plan{Source: source, Hash: hex.EncodeToString(sum[:])}
	ps := &parser{source: source, seen: map[string]int{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		line, msg := yamlError(err, b)
		return nil, Errors{{Source: source, Line: line, Msg: "not valid YAML: " + msg}}
	}
	if len(doc.Content) == 0 || doc.Content[0].Tag == "!!null" {
		return nil, Errors{{Source: source, Msg: "the plan is empty; it needs at least a subject (sweep plan init drafts one from the database)"}}
	}
	root := doc.Content[0]
	ps.mapping(root, "the plan", map[string]func(k, v *yaml.Node){
		"subject": func(k, v *yaml.Node) { p.Subject = ps.subject(k, v) },
		"tables": func(k, v *yaml.Node) {
			ps.entries(v, "tables", func(n Name, k, v *yaml.Node) { p.Tables = append(p.Tables, ps.table(n, k, v)) })
		},
		"owned": func(k, v *yaml.Node) {
			ps.entries(v, "owned", func(n Name, k, v *yaml.Node) { p.Owned = append(p.Owned, ps.owned(n, k, v)) })
		},
		"references": func(k, v *yaml.Node) {
			ps.entries(v, "references", func(n Name, k, v *yaml.Node) { p.References = append(p.References, ps.reference(n, k, v)) })
		},
	}, "subject")
	if p.Subject.Table.Table != "" {
		if line, dup := ps.seen[p.Subject.Table.String()]; dup {
			ps.fail(line, "%s is the subject; it cannot also be under tables, owned or references (use subject.detach for its own columns that point at another customer)", p.Subject.Table)
		}
	}
	for i := range p.Owned {
		o := &p.Owned[i]
		if o.ViaTable.Table == "" {
			o.ViaTable = p.Subject.Table
		}
	}
	if len(ps.errs) > 0 {
		return nil, ps.errs
	}
	return p, nil
}

var yamlLineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)

// yamlError is the line a YAML error names and its sentence without it (the
// line leads the message already). The YAML reader names the line where the
// construct around the problem begins; for a tab in an indentation, the
// line to fix is the first from there with a tab before its text.
func yamlError(err error, b []byte) (int, string) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = strings.TrimPrefix(err.Error(), m[0])
	}
	lines := strings.Split(strings.ReplaceAll(strings.ReplaceAll(string(b), "\r\n", "\n"), "\r", "\n"), "\n")
	if line > 0 && line <= len(lines) && strings.Contains(msg, "tab character") {
		for i, l := range lines[line-1:] {
			if indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))]; strings.Contains(indent, "\t") {
				return line + i, msg
			}
		}
	}
	return line, msg
}

type parser struct {
	source string
	errs   Errors
	seen   map[string]int // table -> line it was first named on
}

func (ps *parser) fail(line int, format string, args ...any) {
	ps.errs = append(ps.errs, &Error{Source: ps.source, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// mapping walks a mapping node, calling each key's handler; unknown keys,
// keys given twice and missing required keys are errors.
func (ps *parser) mapping(n *yaml.Node, what string, keys map[string]func(k, v *yaml.Node), required ...string) {
	if n.Kind != yaml.MappingNode {
		ps.fail(n.Line, "%s must be a mapping of keys to values", what)
		return
	}
	got := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		h, ok := keys[k.Value]
		if !ok {
			ps.fail(k.Line, "unknown key %q in %s; the keys here are %s", k.Value, what, keyList(keys))
			continue
		}
		if got[k.Value] {
			ps.fail(k.Line, "%q is given twice in %s", k.Value, what)
			continue
		}
		got[k.Value] = true
		h(k, v)
	}
	for _, r := range required {
		if !got[r] {
			ps.fail(n.Line, "%s needs %q", what, r)
		}
	}
}

func keyList(keys map[string]func(k, v *yaml.Node)) string {
	var out []string
	for k := range keys {
		out = append(out, k)
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

func (ps *parser) scalar(n *yaml.Node, what string) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		ps.fail(n.Line, "%s must be a single value", what)
		return ""
	}
	if todo(n) {
		ps.fail(n.Line, "%s is still TODO: a person must decide it before the plan can be used", what)
		return ""
	}
	return n.Value
}

// todo says whether n is an unquoted TODO: what a draft leaves where a
// person must decide. A quoted "TODO" is the word.
func todo(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Style == 0 && strings.HasPrefix(strings.ToUpper(strings.TrimSpace(n.Value)), "TODO")
}

// blank says whether n is no value or only spaces.
func blank(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && (n.Tag == "!!null" || strings.TrimSpace(n.Value) == "")
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ident reads a column name.
func (ps *parser) ident(n *yaml.Node, what string) string {
	s := ps.scalar(n, what)
	if s != "" && !identRE.MatchString(s) {
		ps.fail(n.Line, "%s %q is not a column name (letters, digits and _, not starting with a digit)", what, s)
		return ""
	}
	return s
}

// name reads schema.table; a bare table is in public.
func (ps *parser) name(s string, line int) (Name, bool) {
	schema, table, ok := strings.Cut(s, ".")
	if !ok {
		schema, table = "public", s
	}
	if !identRE.MatchString(schema) || !identRE.MatchString(table) || strings.Contains(table, ".") {
		ps.fail(line, "%q is not a table name; write schema.table, such as public.customers", s)
		return Name{}, false
	}
	return Name{Schema: schema, Table: table}, true
}

// entries walks one of tables, owned and references: a mapping of table
// names to their entries, each table named once in the whole plan.
func (ps *parser) entries(n *yaml.Node, what string, fn func(Name, *yaml.Node, *yaml.Node)) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.MappingNode {
		ps.fail(n.Line, "%s must be a mapping of table names to what happens to their rows", what)
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name, ok := ps.name(k.Value, k.Line)
		if !ok {
			continue
		}
		if first, dup := ps.seen[name.String()]; dup {
			ps.fail(k.Line, "%s is named twice (first on line %d); say what happens to its rows once", name, first)
			continue
		}
		ps.seen[name.String()] = k.Line
		fn(name, k, v)
	}
}

func (ps *parser) subject(k, v *yaml.Node) Subject {
	s := Subject{Line: k.Line, Action: Action{Kind: Delete, Line: k.Line}}
	tenantGiven, database, databaseTenantGiven := false, false, false
	ps.mapping(v, "subject", map[string]func(k, v *yaml.Node){
		"table": func(k, v *yaml.Node) {
			if n, ok := ps.name(ps.scalar(v, "subject.table"), v.Line); ok {
				s.Table = n
			}
		},
		"key": func(k, v *yaml.Node) { s.Key = ps.ident(v, "subject.key") },
		"tenant": func(k, v *yaml.Node) {
			tenantGiven = true
			if v.Kind == yaml.ScalarNode && v.Value == "database" {
				database = true
				return
			}
			before := len(ps.errs)
			s.Tenant = ps.ident(v, "subject.tenant")
			if s.Tenant == "" && len(ps.errs) == before {
				ps.fail(v.Line, "subject.tenant is empty: name the column that holds the tenant's instance id, or write `database` when this database is one tenant's")
			}
		},
		"database_tenant": func(k, v *yaml.Node) {
			databaseTenantGiven = true
			before := len(ps.errs)
			t := ps.scalar(v, "subject.database_tenant")
			if len(ps.errs) > before {
				return
			}
			id, err := strconv.ParseInt(t, 10, 64)
			if err != nil || id <= 0 {
				ps.fail(v.Line, "subject.database_tenant must be the tenant's instance id, a whole number above 0")
			}
			s.DatabaseTenant = id
		},
		"action": func(k, v *yaml.Node) {
			s.Action = ps.action(v, "subject.action", Delete, Anonymize)
			if s.Action.Where != "" {
				ps.fail(v.Line, "subject.action takes no where: the subject's rows are all deleted or all anonymized")
			}
		},
		"detach": func(k, v *yaml.Node) {
			if v.Kind != yaml.SequenceNode {
				ps.fail(v.Line, "subject.detach must be a list of the subject's columns, such as [referred_by]")
				return
			}
			for _, c := range v.Content {
				if col := ps.ident(c, "subject.detach"); col != "" {
					s.Detach = append(s.Detach, col)
				}
			}
		},
		"columns": func(k, v *yaml.Node) {
			ps.mapping(v, "subject.columns", map[string]func(k, v *yaml.Node){
				"last_activity":     func(k, v *yaml.Node) { s.Columns.LastActivity = ps.ident(v, "subject.columns.last_activity") },
				"erasure_requested": func(k, v *yaml.Node) { s.Columns.ErasureRequested = ps.ident(v, "subject.columns.erasure_requested") },
				"origin":            func(k, v *yaml.Node) { s.Columns.Origin = ps.ident(v, "subject.columns.origin") },
				"created_by_import": func(k, v *yaml.Node) { s.Columns.CreatedByImport = ps.ident(v, "subject.columns.created_by_import") },
			})
		},
	}, "table", "key")
	switch {
	case !tenantGiven:
		ps.fail(v.Line, "subject needs \"tenant\": the column that holds the tenant's instance id, or `database` when this database is one tenant's")
	case database && !databaseTenantGiven:
		ps.fail(v.Line, "subject.tenant is `database`: add subject.database_tenant, the instance id of the tenant this database belongs to")
	case !database && databaseTenantGiven:
		ps.fail(v.Line, "subject.database_tenant is only for `tenant: database`; with a tenant column, remove it")
	}
	return s
}

// action reads an action given as a scalar (delete) or a mapping with one
// of delete, anonymize, block, keep (plus where and otherwise).
func (ps *parser) action(n *yaml.Node, what string, allowed ...string) Action {
	a := Action{Line: n.Line}
	before := len(ps.errs)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		ps.fail(n.Line, "%s needs an action: delete, anonymize, block or keep", what)
		return a
	}
	if n.Kind == yaml.ScalarNode {
		s := ps.scalar(n, what)
		switch s {
		case Delete:
			a.Kind = Delete
		case "":
			return a
		default:
			ps.fail(n.Line, "%s: %q is not an action; write delete, or a mapping with anonymize: {column: null}, block: \"sentence\" or keep: \"reason\"", what, s)
			return a
		}
	} else {
		ps.mapping(n, what, map[string]func(k, v *yaml.Node){
			"delete": func(k, v *yaml.Node) {
				ps.setKind(&a, Delete, k)
				if v.Tag != "!!null" && !(v.Kind == yaml.ScalarNode && (v.Value == "true" || v.Value == "")) {
					ps.fail(v.Line, "%s: delete takes no value (write `delete: true` or just delete)", what)
				}
			},
			"anonymize": func(k, v *yaml.Node) {
				ps.setKind(&a, Anonymize, k)
				a.Set = ps.assignments(v, what+".anonymize")
			},
			"block": func(k, v *yaml.Node) {
				ps.setKind(&a, Block, k)
				if blank(v) {
					ps.fail(v.Line, "%s.block needs the sentence an operator reads when a customer is refused, such as \"Customer {id} is linked to a loan; unlink it first.\"", what)
					return
				}
				a.Sentence = strings.TrimSpace(ps.scalar(v, what+".block"))
			},
			"keep": func(k, v *yaml.Node) {
				ps.setKind(&a, Keep, k)
				if blank(v) {
					ps.fail(v.Line, "%s.keep needs the reason its rows stay, such as \"immutable ledger; holds no personal data\"", what)
					return
				}
				a.Reason = strings.TrimSpace(ps.scalar(v, what+".keep"))
			},
			"where": func(k, v *yaml.Node) { a.Where = ps.predicate(v, what+".where") },
			"otherwise": func(k, v *yaml.Node) {
				o := ps.action(v, what+".otherwise", Delete, Keep, Anonymize)
				a.Otherwise = &o
			},
		})
	}
	if a.Kind == "" {
		if len(ps.errs) == before {
			ps.fail(n.Line, "%s needs an action: delete, anonymize, block or keep", what)
		}
		return a
	}
	if a.Kind != "" && len(allowed) > 0 && !contains(allowed, a.Kind) {
		ps.fail(n.Line, "%s cannot be %s here; it may be %s", what, a.Kind, strings.Join(allowed, " or "))
	}
	switch {
	case a.Where != "" && a.Kind != Anonymize && a.Kind != Block:
		ps.fail(n.Line, "%s: where narrows anonymize or block only; a %s applies to every row that reaches the customer", what, a.Kind)
	case a.Kind == Block && a.Where != "" && a.Otherwise == nil:
		ps.fail(n.Line, "%s blocks only rows where %q holds: add `otherwise: delete` (or keep, or anonymize) for the customer's other rows", what, a.Where)
	case a.Otherwise != nil && (a.Kind != Block || a.Where == ""):
		ps.fail(n.Line, "%s: otherwise goes with a block that has a where", what)
	}
	return a
}

func (ps *parser) setKind(a *Action, kind string, k *yaml.Node) {
	if a.Kind != "" {
		ps.fail(k.Line, "one action per table: it already says %s, and now %s", a.Kind, kind)
		return
	}
	a.Kind = kind
}

func (ps *parser) assignments(n *yaml.Node, what string) []Assignment {
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		ps.fail(n.Line, "%s needs its columns and their new values, such as {email: null, name: \"\", national_id: hash}", what)
		return nil
	}
	var out []Assignment
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		col := ps.ident(k, what+" column")
		if col == "" {
			continue
		}
		if seen[col] {
			ps.fail(k.Line, "%s names column %s twice", what, col)
			continue
		}
		seen[col] = true
		a := Assignment{Column: col}
		switch {
		case v.Kind != yaml.ScalarNode:
			ps.fail(v.Line, "%s.%s must be null, hash or a fixed value", what, col)
			continue
		case v.Tag == "!!null":
			a.Null = true
		case todo(v):
			ps.fail(v.Line, "%s.%s is still TODO: a person must decide it before the plan can be used", what, col)
			continue
		case v.Style == 0 && v.Value == "hash":
			a.Hash = true
		default:
			a.Value = v.Value
		}
		out = append(out, a)
	}
	return out
}

// predicate reads a where: an SQL condition on the table's own row, checked
// against the database by Check.
func (ps *parser) predicate(n *yaml.Node, what string) string {
	before := len(ps.errs)
	s := strings.TrimSpace(ps.scalar(n, what))
	if len(ps.errs) > before {
		return ""
	}
	if s == "" {
		ps.fail(n.Line, "%s is empty; remove it, or write an SQL condition on the row such as \"status = 'open'\"", what)
		return ""
	}
	if problem := conditionProblem(s); problem != "" {
		ps.fail(n.Line, "%s must be one SQL condition on the row's own values, %s", what, problem)
		return ""
	}
	return s
}

// conditionProblem says what keeps s from being one SQL condition, or "".
// The statements put a where inside parentheses and AND it with the
// customer's own condition, so it must not be able to close them: outside
// its quotes its parentheses balance, and it has no comment, no ; and no $
// (a parameter or a dollar quote). A backslash is refused too: in an
// E-string it escapes a quote, which would hide from this count.
func conditionProblem(s string) string {
	switch {
	case strings.ContainsAny(s, ";$"):
		return "without ; or $ parameters"
	case strings.ContainsRune(s, '\\'):
		return "without a backslash (\\): write strings without escapes (for LIKE, choose another escape character with ESCAPE '#')"
	case strings.ContainsFunc(s, func(r rune) bool { return r < ' ' && r != '\t' && r != '\n' && r != '\r' }):
		return "without control characters"
	}
	depth, quote := 0, rune(0)
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		next := rune(0)
		if i+1 < len(rs) {
			next = rs[i+1]
		}
		if quote != 0 {
			if r == quote {
				if next == quote { // '' in a string, "" in a name
					i++
					continue
				}
				quote = 0
			}
			continue
		}
		switch {
		case r == '\'' || r == '"':
			quote = r
		case r == '-' && next == '-', r == '/' && next == '*':
			return "without comments (-- or /* */): a note goes after the YAML's #"
		case r == '(':
			depth++
		case r == ')':
			depth--
			if depth < 0 {
				return "with its parentheses balanced: it closes one it did not open"
			}
		}
	}
	if quote != 0 {
		return fmt.Sprintf("with every quote closed: a %c is left open", quote)
	}
	if depth > 0 {
		return "with its parentheses balanced: a ( is left open"
	}
	return ""
}

func (ps *parser) table(name Name, k, v *yaml.Node) Table {
	return Table{Name: name, Line: k.Line, Action: ps.action(v, name.String())}
}

func (ps *parser) owned(name Name, k, v *yaml.Node) Owned {
	o := Owned{Name: name, Line: k.Line}
	ps.mapping(v, name.String(), map[string]func(k, v *yaml.Node){
		"via": func(k, v *yaml.Node) {
			s := ps.scalar(v, name.String()+".via")
			if i := strings.LastIndex(s, "."); i >= 0 {
				if n, ok := ps.name(s[:i], v.Line); ok {
					o.ViaTable = n
				}
				s = s[i+1:]
			}
			if s != "" && !identRE.MatchString(s) {
				ps.fail(v.Line, "%s.via %q is not a column: write the subject's column (address_id) or table.column of a table deleted with it", name, s)
				return
			}
			o.Via = s
		},
	}, "via")
	return o
}

func (ps *parser) reference(name Name, k, v *yaml.Node) Reference {
	r := Reference{Name: name, Line: k.Line}
	var actionNode *yaml.Node
	rest := &yaml.Node{Kind: yaml.MappingNode, Line: v.Line}
	ps.mapping(v, name.String(), map[string]func(k, v *yaml.Node){
		"match": func(k, v *yaml.Node) {
			if v.Kind != yaml.MappingNode || len(v.Content) == 0 {
				ps.fail(v.Line, "%s.match needs the table's columns and the subject's columns they hold, such as {entity_id: id, tenant_id: tenant_id}", name)
				return
			}
			seen := map[string]bool{}
			for i := 0; i+1 < len(v.Content); i += 2 {
				c := ps.ident(v.Content[i], name.String()+".match column")
				sc := ps.ident(v.Content[i+1], name.String()+".match subject column")
				if seen[c] {
					ps.fail(v.Content[i].Line, "%s.match names column %s twice; each column holds one of the subject's", name, c)
					continue
				}
				seen[c] = true
				if c != "" && sc != "" {
					r.Match = append(r.Match, ColumnPair{Column: c, SubjectColumn: sc})
				}
			}
		},
		"where": func(k, v *yaml.Node) { r.Where = ps.predicate(v, name.String()+".where") },
		"action": func(k, v *yaml.Node) {
			actionNode = v
		},
		"anonymize": func(k, v *yaml.Node) { rest.Content = append(rest.Content, k, v) },
		"block":     func(k, v *yaml.Node) { rest.Content = append(rest.Content, k, v) },
		"keep":      func(k, v *yaml.Node) { rest.Content = append(rest.Content, k, v) },
	}, "match")
	switch {
	case actionNode != nil && len(rest.Content) > 0:
		ps.fail(v.Line, "%s: give either action: delete or one of anonymize, block, keep", name)
	case actionNode != nil:
		r.Action = ps.action(actionNode, name.String()+".action", Delete)
	case len(rest.Content) > 0:
		r.Action = ps.action(rest, name.String())
	default:
		ps.fail(v.Line, "%s needs an action: action: delete, or anonymize, block or keep", name)
	}
	r.Action.Line = r.Line
	return r
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }
