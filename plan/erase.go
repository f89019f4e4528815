package plan

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/lib/pq"
)

// Runner runs a chunk's statements, inside the chunk's transaction; the
// store's runner prepares each statement once per connection.
type Runner interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Result is what erasing one chunk of customers did.
type Result struct {
	// Erased are the customers deleted (or anonymized, when the subject's
	// action is anonymize).
	Erased map[int64]bool
	// Blocked holds the customers a block refused, with the plan's
	// sentence for each.
	Blocked map[int64]string
	// Rows counts the rows touched, by "schema.table action" (action one
	// of deleted, anonymized, detached).
	Rows map[string]int64
	// PerCustomer counts, when asked for, each erased customer's rows the
	// same way (rows reached by several paths, and owned rows, are left
	// out: they belong to no one customer).
	PerCustomer map[int64]map[string]int64
}

// RowsKey is Result.Rows' key for a table and an action.
func RowsKey(t Name, action string) string { return t.String() + " " + action }

// ErrOtherTenant is Erase's answer for a tenant other than the one a
// one-tenant database belongs to.
var ErrOtherTenant = errors.New("this database belongs to another tenant")

// bound is a statement with its tokens numbered as parameters.
type bound struct {
	sql  string
	args []string // the tokens, in parameter order
}

// bind numbers the tokens of s as $1, $2, … in the order they first occur.
func bind(s string) bound {
	var b bound
	var out strings.Builder
	for {
		i := strings.IndexByte(s, '\x01')
		if i < 0 {
			out.WriteString(s)
			break
		}
		out.WriteString(s[:i])
		tok := s[i : i+2]
		rest := s[i+2:]
		if tok == tokOwned {
			j := strings.IndexByte(rest, '\x02')
			tok += rest[:j+1]
			rest = rest[j+1:]
		}
		n := -1
		for k, a := range b.args {
			if a == tok {
				n = k
			}
		}
		if n < 0 {
			b.args = append(b.args, tok)
			n = len(b.args) - 1
		}
		out.WriteString("$" + strconv.Itoa(n+1))
		s = rest
	}
	b.sql = out.String()
	return b
}

// values fills a bound statement's parameters.
func (cp *Compiled) values(b bound, tenant int64, ids []int64, owned []sql.NullString) []any {
	args := make([]any, len(b.args))
	for i, a := range b.args {
		switch {
		case a == tokTenant:
			args[i] = tenant
		case a == tokIDs:
			args[i] = pq.Array(ids)
		case a == tokInner:
			args[i] = cp.inner
		case a == tokOuter:
			args[i] = cp.outer
		case strings.HasPrefix(a, tokOwned):
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(a, tokOwned), "\x02"))
			args[i] = owned[n]
		}
	}
	return args
}

// CheckTenant refuses a tenant a one-tenant database does not belong to.
func (cp *Compiled) CheckTenant(tenant int64) error {
	if t := cp.Plan.Subject.DatabaseTenant; t != 0 && t != tenant {
		return fmt.Errorf("%w (tenant %d)", ErrOtherTenant, t)
	}
	return nil
}

// Erase erases the customers ids of tenant (sorted, each once) as the plan
// says, in r's transaction: it locks the subject's rows, sets aside the
// customers a block refuses, and runs the plan's statements in foreign-key
// order. perCustomer asks for each customer's counts.
func (cp *Compiled) Erase(ctx context.Context, r Runner, tenant int64, ids []int64, perCustomer bool) (*Result, error) {
	return cp.erase(ctx, r, tenant, ids, perCustomer, true)
}

// EraseUnlocked is Erase without locking the customers first: cheaper when
// they were checked moments ago (a validated import). A customer a block
// takes meanwhile (linked to a loan since) then makes the subject's delete
// fail on that table's foreign key (23503): the caller rolls back and runs
// the chunk again with Erase, which locks.
func (cp *Compiled) EraseUnlocked(ctx context.Context, r Runner, tenant int64, ids []int64, perCustomer bool) (*Result, error) {
	return cp.erase(ctx, r, tenant, ids, perCustomer, false)
}

func (cp *Compiled) erase(ctx context.Context, r Runner, tenant int64, ids []int64, perCustomer, lock bool) (*Result, error) {
	res := &Result{Erased: map[int64]bool{}, Blocked: map[int64]string{}, Rows: map[string]int64{}}
	if err := cp.CheckTenant(tenant); err != nil {
		return nil, err
	}
	ints := func(b bound, ids []int64) ([]int64, error) {
		rows, err := r.QueryContext(ctx, b.sql, cp.values(b, tenant, ids, nil)...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return nil, err
			}
			out = append(out, id)
		}
		return out, rows.Err()
	}
	present := ids
	if lock {
		var err error
		if present, err = ints(bind(cp.lock), ids); err != nil {
			return nil, fmt.Errorf("lock the customers: %w", err)
		}
	}
	for _, b := range cp.blocks {
		if len(present) == 0 {
			break
		}
		blocked, err := ints(bind(b.sql), present)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", b.table, err)
		}
		names, err := cp.KeyNames(ctx, r, tenant, blocked)
		if err != nil {
			return nil, err
		}
		for _, id := range blocked {
			res.Blocked[id] = strings.ReplaceAll(b.sentence, "{id}", names[id])
		}
		if len(blocked) > 0 {
			kept := present[:0:0]
			for _, id := range present {
				if _, ok := res.Blocked[id]; !ok {
					kept = append(kept, id)
				}
			}
			present = kept
		}
	}
	if len(present) == 0 {
		return res, nil
	}
	owned := make([]sql.NullString, len(cp.collects))
	for i, c := range cp.collects {
		b := bind(c.sql)
		rows, err := r.QueryContext(ctx, b.sql, cp.values(b, tenant, present, nil)...)
		if err != nil {
			return nil, fmt.Errorf("read what the customers own in %s: %w", c.table, err)
		}
		for rows.Next() {
			if err := rows.Scan(&owned[i]); err != nil {
				rows.Close()
				return nil, err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	if perCustomer {
		res.PerCustomer = map[int64]map[string]int64{}
	}
	last := len(cp.Steps) - 1
	for i, st := range cp.Steps {
		if st.sql == "" {
			continue
		}
		k := RowsKey(st.Table, st.Action)
		if st.Cascaded && !perCustomer {
			// The subject's delete cascades to these rows. Counting them
			// would read each such table once more per chunk (about a
			// sixth of the speed on the demo); they are counted when each
			// customer's rows are (perCustomer), and by the impact preview.
			continue
		}
		if i == last || (perCustomer && st.ReturnsKey) {
			b := bind(st.sql + ` RETURNING ` + st.keyExpr)
			got, err := ints(b, present)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			res.Rows[k] += int64(len(got))
			for _, id := range got {
				if i == last {
					res.Erased[id] = true
				} else if res.PerCustomer != nil {
					if res.PerCustomer[id] == nil {
						res.PerCustomer[id] = map[string]int64{}
					}
					res.PerCustomer[id][k]++
				}
			}
			continue
		}
		b := bind(st.sql)
		done, err := r.ExecContext(ctx, b.sql, cp.values(b, tenant, present, nil)...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		n, _ := done.RowsAffected()
		res.Rows[k] += n
	}
	for i, c := range cp.collects {
		if !owned[i].Valid {
			continue
		}
		b := bind(c.del)
		done, err := r.ExecContext(ctx, b.sql, cp.values(b, tenant, present, owned)...)
		if err != nil {
			return nil, fmt.Errorf("%s deleted: %w", c.table, err)
		}
		n, _ := done.RowsAffected()
		res.Rows[RowsKey(c.table, "deleted")] += n
	}
	return res, nil
}

// Count is the impact's figure for one table and action.
type Count struct {
	Table  Name
	Action string // deleted, anonymized, detached, kept
	Rows   int64
}

// Counts works out what erasing the customers listed in idsTable (a table
// or temporary table with an id column, already rid of the customers that
// are gone or blocked) of tenant would do, table by table. It changes
// nothing.
func (cp *Compiled) Counts(ctx context.Context, q Querier, tenant int64, idsTable string) ([]Count, error) {
	var out []Count
	run := func(name Name, action, s string) error {
		if s == "" {
			return nil
		}
		s = cp.keys.inTable(s, idsTable)
		b := bind(s)
		var n int64
		if err := q.QueryRowContext(ctx, b.sql, cp.values(b, tenant, nil, nil)...).Scan(&n); err != nil {
			return fmt.Errorf("count %s %s: %w", name, action, err)
		}
		for i := range out {
			if out[i].Table == name && out[i].Action == action {
				out[i].Rows += n
				return nil
			}
		}
		out = append(out, Count{Table: name, Action: action, Rows: n})
		return nil
	}
	for _, st := range cp.Steps {
		if err := run(st.Table, st.Action, st.count); err != nil {
			return nil, err
		}
	}
	for _, c := range cp.collects {
		if err := run(c.table, "deleted", c.count); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Expand writes a fragment of the plan for a caller's own statement: the
// tenant as tenantParam (such as "$1") and the customer's id as idExpr.
func expand(s, tenantParam, idExpr string) string {
	s = strings.ReplaceAll(s, tokTenant, tenantParam)
	return strings.ReplaceAll(s, tokID, idExpr)
}

// SubjectRow is the condition, on the subject aliased alias, that it is
// customer idExpr of tenant tenantParam.
func (cp *Compiled) SubjectRow(alias, tenantParam, idExpr string) string {
	return cp.OfTenant(alias, tenantParam) + " AND " + alias + "." + cp.key + " = " + expand(cp.keys.fromN(idExpr), tenantParam, idExpr)
}

// OfTenant is the condition, on the subject aliased alias, that it is a
// customer of tenant tenantParam.
func (cp *Compiled) OfTenant(alias, tenantParam string) string {
	if cp.tenant != "" {
		return alias + "." + cp.tenant + " = " + tenantParam
	}
	// One tenant's database: another tenant finds no one here.
	return tenantParam + "::bigint = " + strconv.FormatInt(cp.Plan.Subject.DatabaseTenant, 10)
}

// KeyNames is how each customer numbered in ids is written: its key (a
// whole number's decimal, or the uuid or text its number stands for).
func (cp *Compiled) KeyNames(ctx context.Context, r Runner, tenant int64, ids []int64) (map[int64]string, error) {
	out := make(map[int64]string, len(ids))
	if cp.keys.whole() {
		for _, id := range ids {
			out[id] = strconv.FormatInt(id, 10)
		}
		return out, nil
	}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := r.QueryContext(ctx, `SELECT n, key FROM `+cp.keys.table+` WHERE tenant_id = $1 AND n = ANY($2)`, tenant, pq.Array(ids))
	if err != nil {
		return nil, fmt.Errorf("read the customers' keys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			n int64
			k string
		)
		if err := rows.Scan(&n, &k); err != nil {
			return nil, err
		}
		out[n] = k
	}
	return out, rows.Err()
}

// SubjectTable is the subject's table, quoted for SQL.
func (cp *Compiled) SubjectTable() string { return cp.subject }

// SubjectKey is the subject's key column, quoted.
func (cp *Compiled) SubjectKey() string { return cp.key }

// SubjectTenant is the subject's tenant column, quoted ("" for a
// one-tenant database).
func (cp *Compiled) SubjectTenant() string { return cp.tenant }

// Blocks are the plan's blocks, in order.
func (cp *Compiled) Blocks() int { return len(cp.blocks) }

// BlockExists is the condition that block i refuses customer idExpr of
// tenant tenantParam.
func (cp *Compiled) BlockExists(i int, tenantParam, idExpr string) string {
	return expand(cp.blocks[i].exists, tenantParam, idExpr)
}

// BlockExistsKey is the condition that block i refuses the customer whose
// key (the platform's, not sweep's number) is keyExpr.
func (cp *Compiled) BlockExistsKey(i int, tenantParam, keyExpr string) string {
	return expand(cp.blocks[i].existsK, tenantParam, keyExpr)
}

// BlockSentence is block i's sentence for the customer whose key is key.
func (cp *Compiled) BlockSentence(i int, key string) string {
	return strings.ReplaceAll(cp.blocks[i].sentence, "{id}", key)
}

// BlockTable is the table block i reads.
func (cp *Compiled) BlockTable(i int) Name { return cp.blocks[i].table }
