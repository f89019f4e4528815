package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/examples"
	"github.com/sweephq/sweep/plan"
)

// CheckPlan holds p against this database's catalog (sweep's own schema left
// out) and compiles it; see plan.Check.
func (db *DB) CheckPlan(ctx context.Context, p *plan.Plan, hashKey []byte) (*plan.Compiled, error) {
	var own string
	if err := db.db.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&own); err != nil {
		return nil, fmt.Errorf("read sweep's schema: %w", err)
	}
	return plan.Check(ctx, db.db, p, plan.Options{HashKey: hashKey, Skip: []string{own},
		KeyTable: pq.QuoteIdentifier(own) + ".subject_keys"})
}

// UsePlan makes db erase by cp. Set it before use.
func (db *DB) UsePlan(cp *plan.Compiled, hashKey []byte) {
	db.planMu.Lock()
	db.plan, db.hashKey = cp, hashKey
	db.planMu.Unlock()
}

// erasurePlan is the plan db erases by: the one UsePlan or LoadPlan set,
// else the demo platform's, checked against this database on first use
// (as serve does when SWEEP_PLAN is unset). A database the demo's plan
// does not fit gets the check's sentences, and nothing is erased.
func (db *DB) erasurePlan(ctx context.Context) (*plan.Compiled, error) {
	db.planMu.Lock()
	cp := db.plan
	db.planMu.Unlock()
	if cp != nil {
		return cp, nil
	}
	p, err := ReadPlan("")
	if err != nil {
		return nil, err
	}
	cp, err = db.CheckPlan(ctx, p, nil)
	if err != nil {
		return nil, sweep.Errorf(sweep.EUNAVAILABLE, "No erasure plan is loaded, and the demo platform's does not fit this database, so nothing is erased: %s", firstLine(err.Error()))
	}
	db.planMu.Lock()
	if db.plan == nil {
		db.plan = cp
	}
	cp = db.plan
	db.planMu.Unlock()
	return cp, nil
}

// txRunner runs a plan's statements in tx, each prepared once for the pool.
type txRunner struct {
	db *DB
	tx *sqlx.Tx
}

func (r txRunner) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := r.db.stmt(ctx, r.tx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (r txRunner) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	st, err := r.db.stmt(ctx, r.tx, q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// erase erases customers ids of tenant in tx by the plan and writes an
// audit row for each customer erased, holding ids and counts only; with
// counted, each audit row counts that customer's rows by table and action.
// Unless locked, the customers are not locked first (see
// plan.Compiled.EraseUnlocked).
func (db *DB) erase(ctx context.Context, tx *sqlx.Tx, tenant int64, ids []int64, importID, tokenID sql.NullInt64, source string, counted, locked bool) (*plan.Result, error) {
	cp, err := db.erasurePlan(ctx)
	if err != nil {
		return nil, err
	}
	erase := cp.EraseUnlocked
	if locked {
		erase = cp.Erase
	}
	res, err := erase(ctx, txRunner{db, tx}, tenant, ids, counted)
	if err != nil {
		return nil, err
	}
	if len(res.Erased) == 0 {
		return res, nil
	}
	erased := make([]int64, 0, len(res.Erased))
	counts := make([]string, 0, len(res.Erased))
	for _, id := range ids {
		if !res.Erased[id] {
			continue
		}
		erased = append(erased, id)
		c := "{}"
		if per := res.PerCustomer[id]; len(per) > 0 {
			b, _ := json.Marshal(per)
			c = string(b)
		}
		counts = append(counts, c)
	}
	stmt, err := db.stmt(ctx, tx, `
		INSERT INTO deletion_audit (tenant_id, customer_id, import_id, api_token_id, source, related_rows)
		SELECT $1, u.id, $3, $4, $5, u.counts::jsonb FROM unnest($2::bigint[], $6::text[]) AS u(id, counts)`)
	if err != nil {
		return nil, err
	}
	if _, err := stmt.ExecContext(ctx, tenant, pq.Array(erased), importID, tokenID, source, pq.Array(counts)); err != nil {
		return nil, fmt.Errorf("audit the erasure: %w", err)
	}
	return res, nil
}

// rowsJSON is a chunk's rows by "table action", as the import keeps them.
func rowsJSON(rows map[string]int64) string {
	b, _ := json.Marshal(rows)
	return string(b)
}

// blockedSentence is the plan's refusal for a customer, with what to do
// after the fix.
func blockedSentence(sentence, then string) string {
	s := strings.TrimRight(strings.TrimSpace(sentence), ".")
	return s + ", then " + then + "."
}

// ErrPlanOutdated is what a chunk returns when the platform's schema no
// longer matches the checked plan (a table added since points at a
// customer): nothing of the chunk was done, and the run holds.
var ErrPlanOutdated = sweep.Errorf(sweep.EUNAVAILABLE, "the platform's schema changed since the erasure plan was checked")

// planCheckEvery is how long a check of the plan against the catalog holds
// before a run's next look checks again.
const planCheckEvery = 10 * time.Second

// PlanStanding says why import id of tenant may not run by the plan now, or
// "": it was validated under another plan, or the platform's schema no
// longer matches the plan (a table added since points at a customer, a
// column is gone). The catalog is read at most every planCheckEvery.
func (db *DB) PlanStanding(ctx context.Context, tenant, id int64) string {
	cp, err := db.erasurePlan(ctx)
	if err != nil {
		return sweep.ErrorMessage(err)
	}
	var validated string
	if err := db.db.QueryRowContext(ctx, `SELECT plan_hash FROM imports WHERE tenant_id = $1 AND id = $2`, tenant, id).Scan(&validated); err == nil &&
		validated != "" && validated != cp.Plan.Hash {
		return fmt.Sprintf("this import was validated under erasure plan %.12s, and sweep now erases by plan %.12s: put that plan back, or cancel this import and upload it again to validate it under this one",
			validated, cp.Plan.Hash)
	}
	db.checkMu.Lock()
	defer db.checkMu.Unlock()
	if time.Since(db.planChecked) < planCheckEvery {
		return db.planProblem
	}
	db.planProblem = ""
	if _, err := db.CheckPlan(ctx, cp.Plan, db.hashKey); err != nil {
		if ctx.Err() != nil {
			return ""
		}
		db.planProblem = "the platform's schema no longer matches the erasure plan, so nothing more is deleted until it does (run sweep plan check): " + firstLine(err.Error())
	}
	db.planChecked = time.Now()
	return db.planProblem
}

// ForgetPlanCheck makes the next PlanStanding read the catalog again.
func (db *DB) ForgetPlanCheck() {
	db.checkMu.Lock()
	db.planChecked = time.Time{}
	db.checkMu.Unlock()
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// DemoPlanSource is how the demo platform's built-in plan is named in
// messages (LoadPlan's path "").
const DemoPlanSource = "the demo platform's plan (built in; set SWEEP_PLAN to your own)"

// ReadPlan parses the plan at path; "" is the demo platform's plan.
func ReadPlan(path string) (*plan.Plan, error) {
	if path == "" {
		b, err := examples.Plan(examples.Demo)
		if err != nil {
			return nil, err
		}
		return plan.Parse(DemoPlanSource, b)
	}
	return plan.Load(path)
}

// LoadPlan reads the plan at path ("": the demo platform's), checks it
// against this database and erases by it from now on.
func (db *DB) LoadPlan(ctx context.Context, path string, hashKey []byte) (*plan.Compiled, error) {
	p, err := ReadPlan(path)
	if err != nil {
		return nil, err
	}
	cp, err := db.CheckPlan(ctx, p, hashKey)
	if err != nil {
		return nil, err
	}
	db.UsePlan(cp, hashKey)
	return cp, nil
}
