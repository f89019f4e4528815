package plan

import (
	"strings"

	"github.com/sweephq/sweep"
)

// keyMap is how the plan's statements name customers. A chunk, a staged
// file and an audit row hold numbers (int64): for a subject whose key is a
// whole number, the key itself; for a uuid or text key, the number sweep's
// key table (Options.KeyTable) gives that key in that tenant, which the
// statements turn into the key and back.
type keyMap struct {
	key   sweep.Key
	typ   string // the key column's type, for casts
	table string // the key table, quoted with its schema
}

// whole says the key is a whole number: its own number, no lookup.
func (m keyMap) whole() bool { return m.key.Kind == sweep.KeyWhole }

// fromN is the platform's key of the customer numbered x (an expression)
// in the statement's tenant.
func (m keyMap) fromN(x string) string {
	if m.whole() {
		return x
	}
	return "(SELECT r.key::" + m.typ + " FROM " + m.table + " r WHERE r.tenant_id = " + tokTenant + " AND r.n = " + x + ")"
}

// toN is the number of the customer whose key is expr.
func (m keyMap) toN(expr string) string {
	if m.whole() || expr == "" {
		return expr
	}
	return "(SELECT r.n FROM " + m.table + " r WHERE r.tenant_id = " + tokTenant + " AND r.key = (" + expr + ")::text)"
}

// anyIDs is the condition written " = ANY(ids)" in a compiled statement.
const anyIDs = " = ANY(" + tokIDs + ")"

// inChunk rewrites s's conditions on the chunk's numbers for the key's
// kind: a uuid or text key is looked up from its number.
func (m keyMap) inChunk(s string) string {
	if m.whole() {
		return s
	}
	return strings.ReplaceAll(s, anyIDs, " = ANY(ARRAY(SELECT r.key::"+m.typ+" FROM "+m.table+" r WHERE r.tenant_id = "+tokTenant+" AND r.n = ANY("+tokIDs+")))")
}

// inTable rewrites s's conditions on the chunk's numbers to the numbers in
// the id column of table.
func (m keyMap) inTable(s, table string) string {
	if m.whole() {
		return strings.ReplaceAll(s, anyIDs, " IN (SELECT id FROM "+table+")")
	}
	return strings.ReplaceAll(s, anyIDs, " IN (SELECT r.key::"+m.typ+" FROM "+m.table+" r, "+table+" i WHERE r.tenant_id = "+tokTenant+" AND r.n = i.id)")
}

// isN rewrites s's conditions on the chunk's numbers to the one number
// tokID.
func (m keyMap) isN(s string) string {
	return strings.ReplaceAll(s, anyIDs, " = "+m.fromN(tokID))
}

// isKey rewrites s's conditions on the chunk's numbers to the platform's
// key tokID.
func isKey(s string) string { return strings.ReplaceAll(s, anyIDs, " = "+tokID) }

// Key is how the subject's key is read: a file's customerId and a path's
// id are parsed by it.
func (cp *Compiled) Key() sweep.Key { return cp.keys.key }

// KeyCast is expr (text holding a key as Key().Parse spells it) as the
// subject's key type, for comparing with its key column (whole numbers:
// expr itself).
func (cp *Compiled) KeyCast(expr string) string {
	if cp.keys.whole() {
		return expr
	}
	return "(" + expr + ")::" + cp.keys.typ
}

// SubjectRowKey is the condition, on the subject aliased alias, that it is
// the customer of tenant tenantParam whose key (the platform's) is keyExpr.
func (cp *Compiled) SubjectRowKey(alias, tenantParam, keyExpr string) string {
	return cp.OfTenant(alias, tenantParam) + " AND " + alias + "." + cp.key + " = " + keyExpr
}

// KeyTable is the key table the plan was checked with ("" for a whole
// number key, which needs none).
func (cp *Compiled) KeyTable() string {
	if cp.keys.whole() {
		return ""
	}
	return cp.keys.table
}
