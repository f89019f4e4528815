package plan

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/lib/pq"
)

// Querier is what the catalog is read through: a *sql.DB, *sql.Tx or
// *sql.Conn.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Catalog is what the plan is checked against: the platform's tables,
// columns, foreign keys and indexes, as pg_catalog has them now.
type Catalog struct {
	Tables map[Name]*CTable
	// BypassRLS: sweep's role sees every row whatever row-level security
	// says (superuser or BYPASSRLS).
	BypassRLS bool
}

// CTable is one table of the catalog.
type CTable struct {
	Name        Name
	Partitioned bool
	Partition   bool   // a partition of another table: reached through its parent
	Parent      string // the partitioned table it belongs to
	RLS         bool   // row-level security on, and sweep's role subject to it
	Triggers    []string
	Columns     map[string]*Column
	byNum       map[int16]string
	FKs         []*FK      // foreign keys from this table
	Refs        []*FK      // foreign keys to this table
	Indexes     [][]string // the key columns of every valid full index
	Unique      [][]string
}

// Column is one column of a table.
type Column struct {
	Name     string
	Type     string // format_type's spelling: bigint, uuid, character varying(20)
	Category string // pg_type.typcategory: N numeric, S string, D date/time, U user (uuid) …
	NotNull  bool
	// Loose: the column's collation is nondeterministic (such as
	// case-insensitive), so "=" takes two different keys for one.
	Loose bool
}

// FK is one foreign key.
type FK struct {
	Name       string
	From, To   *CTable
	Cols, Refs []string // referencing columns of From, referenced columns of To
	OnDelete   byte     // a no action, r restrict, c cascade, n set null, d set default
	Deferrable bool
	// setCols are the columns ON DELETE SET NULL or SET DEFAULT sets
	// (PostgreSQL 15's column list); every column of the key without one.
	setCols []string
}

func (fk *FK) String() string {
	return fmt.Sprintf("%s (%s) → %s (%s)", fk.From.Name, strings.Join(fk.Cols, ", "), fk.To.Name, strings.Join(fk.Refs, ", "))
}

// onDeleteWords says what the key does when its referenced row goes.
func (fk *FK) onDeleteWords() string {
	switch fk.OnDelete {
	case 'c':
		return "ON DELETE CASCADE"
	case 'n':
		return "ON DELETE SET NULL"
	case 'd':
		return "ON DELETE SET DEFAULT"
	case 'r':
		return "ON DELETE RESTRICT"
	}
	return "ON DELETE NO ACTION"
}

// ReadCatalog reads the catalog of the database q is connected to, leaving
// out PostgreSQL's own schemas and those in skip (sweep's own).
func ReadCatalog(ctx context.Context, q Querier, skip ...string) (*Catalog, error) {
	cat := &Catalog{Tables: map[Name]*CTable{}}
	byOID := map[uint32]*CTable{}
	skip = append(skip, "pg_catalog", "information_schema")
	if err := q.QueryRowContext(ctx, `SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user`).Scan(&cat.BypassRLS); err != nil {
		return nil, fmt.Errorf("read the catalog: %w", err)
	}
	rows, err := q.QueryContext(ctx, `
		SELECT c.oid, n.nspname, c.relname, c.relkind = 'p', c.relispartition,
			c.relrowsecurity AND (c.relforcerowsecurity OR c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = current_user)),
			coalesce((SELECT pn.nspname || '.' || p.relname FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
				JOIN pg_namespace pn ON pn.oid = p.relnamespace WHERE i.inhrelid = c.oid AND c.relispartition LIMIT 1), ''),
			coalesce((SELECT array_agg(t.tgname ORDER BY t.tgname) FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal), '{}')
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p') AND n.nspname <> ALL($1) AND n.nspname NOT LIKE 'pg\_%'`, pq.Array(skip))
	if err != nil {
		return nil, fmt.Errorf("read the catalog's tables: %w", err)
	}
	for rows.Next() {
		var (
			oid uint32
			t   = &CTable{Columns: map[string]*Column{}, byNum: map[int16]string{}}
		)
		if err := rows.Scan(&oid, &t.Name.Schema, &t.Name.Table, &t.Partitioned, &t.Partition, &t.RLS, &t.Parent, pq.Array(&t.Triggers)); err != nil {
			rows.Close()
			return nil, err
		}
		if cat.BypassRLS {
			t.RLS = false
		}
		cat.Tables[t.Name] = t
		byOID[oid] = t
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	oids := make([]int64, 0, len(byOID))
	for oid := range byOID {
		oids = append(oids, int64(oid))
	}
	rows, err = q.QueryContext(ctx, `
		SELECT a.attrelid, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), t.typcategory, a.attnotnull,
			coalesce(NOT co.collisdeterministic, false)
		FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_collation co ON co.oid = a.attcollation
		WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped`, pq.Array(oids))
	if err != nil {
		return nil, fmt.Errorf("read the catalog's columns: %w", err)
	}
	for rows.Next() {
		var (
			oid uint32
			num int16
			c   Column
		)
		if err := rows.Scan(&oid, &num, &c.Name, &c.Type, &c.Category, &c.NotNull, &c.Loose); err != nil {
			rows.Close()
			return nil, err
		}
		t := byOID[oid]
		t.Columns[c.Name] = &c
		t.byNum[num] = c.Name
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	cols := func(t *CTable, nums []int64) []string {
		out := make([]string, 0, len(nums))
		for _, n := range nums {
			out = append(out, t.byNum[int16(n)])
		}
		return out
	}
	// Foreign keys: a partitioned table's own, not the copies PostgreSQL
	// makes on its partitions (conparentid).
	// confdelsetcols came with PostgreSQL 15: read through to_jsonb, it is
	// null before.
	rows, err = q.QueryContext(ctx, `
		SELECT conname, conrelid, confrelid, conkey::int8[], confkey::int8[], confdeltype, condeferrable,
			coalesce((SELECT array_agg(x::int8) FROM jsonb_array_elements_text(CASE jsonb_typeof(to_jsonb(c) -> 'confdelsetcols')
				WHEN 'array' THEN to_jsonb(c) -> 'confdelsetcols' END) x), '{}')
		FROM pg_constraint c WHERE contype = 'f' AND conparentid = 0 AND conrelid = ANY($1::oid[])
		ORDER BY conrelid, conname`, pq.Array(oids))
	if err != nil {
		return nil, fmt.Errorf("read the catalog's foreign keys: %w", err)
	}
	for rows.Next() {
		var (
			fk         FK
			from, to   uint32
			keys, refs []int64
			setCols    []int64
			onDelete   string
		)
		if err := rows.Scan(&fk.Name, &from, &to, pq.Array(&keys), pq.Array(&refs), &onDelete, &fk.Deferrable, pq.Array(&setCols)); err != nil {
			rows.Close()
			return nil, err
		}
		fk.From, fk.To = byOID[from], byOID[to]
		if fk.To == nil { // a key into a schema left out (sweep's own)
			continue
		}
		fk.Cols, fk.Refs, fk.OnDelete = cols(fk.From, keys), cols(fk.To, refs), onDelete[0]
		fk.setCols = fk.Cols
		if len(setCols) > 0 {
			fk.setCols = cols(fk.From, setCols)
		}
		f := fk
		fk.From.FKs = append(fk.From.FKs, &f)
		fk.To.Refs = append(fk.To.Refs, &f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = q.QueryContext(ctx, `
		SELECT indrelid, string_to_array(indkey::text, ' ')::int8[], indisunique
		FROM pg_index WHERE indrelid = ANY($1::oid[]) AND indpred IS NULL AND indisvalid`, pq.Array(oids))
	if err != nil {
		return nil, fmt.Errorf("read the catalog's indexes: %w", err)
	}
	for rows.Next() {
		var (
			oid    uint32
			keys   []int64
			unique bool
		)
		if err := rows.Scan(&oid, pq.Array(&keys), &unique); err != nil {
			rows.Close()
			return nil, err
		}
		t := byOID[oid]
		if slices.Contains(keys, 0) { // an expression: its columns are not a key
			keys = keys[:slices.Index(keys, 0)]
		}
		ix := cols(t, keys)
		t.Indexes = append(t.Indexes, ix)
		if unique {
			t.Unique = append(t.Unique, ix)
		}
	}
	rows.Close()
	return cat, rows.Err()
}

// indexed says whether some index of t leads with exactly the columns cols
// (in any order), so a lookup by them reads only the rows it wants.
func (t *CTable) indexed(cols []string) bool {
	for _, ix := range t.Indexes {
		if len(ix) >= len(cols) {
			lead := slices.Clone(ix[:len(cols)])
			want := slices.Clone(cols)
			slices.Sort(lead)
			slices.Sort(want)
			if slices.Equal(lead, want) {
				return true
			}
		}
	}
	return false
}

// uniqueOn says whether some unique index of t holds exactly cols.
func (t *CTable) uniqueOn(cols ...string) bool {
	for _, ix := range t.Unique {
		a, b := slices.Clone(ix), slices.Clone(cols)
		slices.Sort(a)
		slices.Sort(b)
		if slices.Equal(a, b) {
			return true
		}
	}
	return false
}
