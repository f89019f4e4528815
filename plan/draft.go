package plan

import (
	"fmt"
	"slices"
	"strings"
)

// Draft writes a first plan for the subject table from the catalog: every
// table that reaches it through foreign keys (children of children too),
// with an action suggested where the schema says it (a key that cascades
// already deletes its rows with the customer) and TODO where a person must
// decide. A draft with a TODO does not pass Check.
func Draft(cat *Catalog, subject Name) (string, error) {
	s := cat.Tables[subject]
	if s == nil {
		return "", fmt.Errorf("table %s does not exist (or sweep's role cannot see it)", subject)
	}
	var b strings.Builder
	tenant := ""
	if s.Columns["tenant_id"] != nil {
		tenant = "tenant_id"
	}
	key := ""
	for _, u := range s.Unique {
		rest := slices.DeleteFunc(slices.Clone(u), func(c string) bool { return c == tenant })
		if len(rest) == 1 && (key == "" || len(u) < 3) {
			key = rest[0]
		}
	}
	fmt.Fprintf(&b, "# A first erasure plan for %s, drafted from the database's catalog by\n", subject)
	b.WriteString("# sweep plan init. Every TODO is a decision a person must make; sweep plan check\n")
	b.WriteString("# refuses the plan until none is left. Actions: delete; anonymize: {column: null,\n")
	b.WriteString("# column: \"fixed\", column: hash}; block: \"sentence\" (with where and otherwise to\n")
	b.WriteString("# block on some rows only); keep: \"reason\".\n")
	b.WriteString("subject:\n")
	fmt.Fprintf(&b, "  table: %s\n", subject)
	fmt.Fprintf(&b, "  key: %s\n", orTODO(key, "the column the CSV's customerId names"))
	if tenant != "" {
		fmt.Fprintf(&b, "  tenant: %s\n", tenant)
	} else {
		b.WriteString("  tenant: database                 # no tenant column: this database is one tenant's\n")
		b.WriteString("  database_tenant: TODO            # that tenant's instance id\n")
	}
	b.WriteString("  action: delete\n")
	var self []string
	for _, fk := range s.Refs {
		if fk.From == s {
			self = append(self, fk.Cols...)
		}
	}
	if len(self) > 0 {
		self = slices.DeleteFunc(self, func(c string) bool { return c == tenant })
		fmt.Fprintf(&b, "  detach: [%s]   # customers pointing at an erased one keep their row, without the link\n", strings.Join(self, ", "))
	}
	b.WriteString("tables:\n")
	seen := map[*CTable]bool{s: true}
	queue := []*CTable{s}
	for len(queue) > 0 {
		t := queue[0]
		queue = queue[1:]
		refs := slices.Clone(t.Refs)
		slices.SortFunc(refs, func(a, b *FK) int { return strings.Compare(a.From.Name.String(), b.From.Name.String()) })
		for _, fk := range refs {
			from := fk.From
			if from.Partition {
				if p := cat.Tables[nameOf(from.Parent)]; p != nil {
					from = p
				}
			}
			if seen[from] {
				continue
			}
			seen[from] = true
			queue = append(queue, from)
			action := "TODO"
			why := fmt.Sprintf("(%s) → %s, %s: delete, anonymize, block or keep", strings.Join(fk.Cols, ", "), t.Name, fk.onDeleteWords())
			if fk.OnDelete == 'c' {
				action, why = "delete", fmt.Sprintf("%s: the platform already deletes these rows with %s", fk.onDeleteWords(), t.Name)
			}
			if !from.indexed(fk.Cols) {
				why += "; needs " + createIndex(from, fk.Cols)
			}
			fmt.Fprintf(&b, "  %s: %s   # %s\n", from.Name, action, why)
		}
	}
	if len(seen) == 1 {
		b.WriteString("  {}   # no table points at the subject through a foreign key\n")
	}
	b.WriteString("# references:   # tables that hold customer ids without a foreign key, such as\n")
	b.WriteString("#   public.documents: {match: {tenant_id: tenant_id, entity_id: id}, where: \"entity_type = 'customer'\", action: delete}\n")
	return b.String(), nil
}

func orTODO(s, what string) string {
	if s == "" {
		return "TODO   # " + what
	}
	return s
}

// Describe prints what a chunk does, in order, with each statement's SQL
// ($1 the tenant, $2 the chunk's customer ids, and so on as numbered).
func (cp *Compiled) Describe() string {
	var b strings.Builder
	n := 1
	step := func(what, sql string) {
		bd := bind(sql)
		fmt.Fprintf(&b, "%d. %s\n   %s\n", n, what, bd.sql)
		if len(bd.args) > 0 {
			var names []string
			for _, a := range bd.args {
				name := tokenName(a)
				if a == tokIDs && !cp.keys.whole() {
					name = "the customers' numbers in " + cp.keys.table
				}
				names = append(names, name)
			}
			fmt.Fprintf(&b, "   -- %s\n", strings.Join(names, ", "))
		}
		n++
	}
	step("lock the chunk's customers", cp.lock)
	for _, bl := range cp.blocks {
		step(fmt.Sprintf("set aside the customers %s blocks (%q)", bl.table, bl.sentence), bl.sql)
	}
	for _, c := range cp.collects {
		step(fmt.Sprintf("read the %s rows the customers own", c.table), c.sql)
	}
	for _, st := range cp.Steps {
		if st.sql == "" {
			fmt.Fprintf(&b, "-  %s: kept\n", st.Table)
			continue
		}
		if st.Cascaded {
			fmt.Fprintf(&b, "-  %s: deleted by its own ON DELETE CASCADE with the customers (here, with this statement, when each customer's rows are counted: SWEEP_AUDIT_RELATED_COUNTS)\n   %s\n", st.Table, bind(st.sql).sql)
			continue
		}
		step(fmt.Sprintf("%s: %s", st.Table, st.Action), st.sql)
	}
	for _, c := range cp.collects {
		step(fmt.Sprintf("%s: deleted, the owned rows nothing else points at", c.table), c.del)
	}
	return b.String()
}

func tokenName(tok string) string {
	switch {
	case tok == tokTenant:
		return "tenant"
	case tok == tokIDs:
		return "customer ids"
	case tok == tokInner || tok == tokOuter:
		return "hash key"
	case strings.HasPrefix(tok, tokOwned):
		return "owned keys read before"
	}
	return "?"
}
