package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/sweephq/sweep"
)

// impactStates are the states an import's impact can be computed in: it has
// passed validation and its run has not ended. A running or paused import's
// figures are of the blocks still to run (the worker computes the impact as
// the import validates, so this is only for an import validated before sweep
// kept impacts).
var impactStates = []sweep.Status{sweep.StatusValidated, sweep.StatusAwaitingApproval, sweep.StatusQueued, sweep.StatusRunning, sweep.StatusPaused}

// impactSpeedRuns is how many of the last completed imports the estimated
// speed is the median of, and impactSpeedMinRows how many rows an import
// needs to count (the speed of a run of a few rows is mostly the wait for
// its task).
const (
	impactSpeedRuns    = 5
	impactSpeedMinRows = 1000
)

// ComputeImpact works out what running import id of tenant will do
// (sweep.Impact) from its blocks and the live tables, and keeps it with the
// import. An import that has an impact kept already returns that one (see
// RefreshImpact for one counted again when it is old).
//
// The estimated duration is at the median speed of the last completed
// imports on this database, or sweep.DefaultImpactRowsPerSecond before any,
// held to maxRate, the cap all runs share (0: none), and to the import's own
// cap. Only an import that passed validation and whose run has not ended has
// an impact to compute: any other is ECONFLICT naming its state.
//
// It is set-based: the import's ids still to run are read from its blocks
// once into a temporary table keyed by id; the ids whose customer is gone or
// linked to a loan are taken out (the run will skip them); and every related
// table is then joined to it on (tenant_id, customer_id), which each table's
// index covers, within the ids' range. Both sides come sorted by customer id,
// so each join reads each side once, in order: hash joins, which would read
// a related table whole to probe a table of a million ids, are switched off
// for the transaction.
func (db *DB) ComputeImpact(ctx context.Context, tenant, id int64, maxRate int) (sweep.Impact, error) {
	return db.impact(ctx, tenant, id, maxRate, -1)
}

// RefreshImpact is ComputeImpact for someone about to decide the import's
// run: while it is validated or awaits approval, a kept impact older than
// maxAge (0: any) is counted again and kept in its place, with its
// ComputedAt; in any other state the kept one stands. A maxRate below 0
// keeps the speed the kept impact was estimated at (sweep's own steps do
// not know the cap of the API's configuration).
func (db *DB) RefreshImpact(ctx context.Context, tenant, id int64, maxRate int, maxAge time.Duration) (sweep.Impact, error) {
	return db.impact(ctx, tenant, id, maxRate, maxAge)
}

// impact computes, or returns the kept, impact of import id: a kept one
// stands when maxAge is below 0, when the import's run is decided, or when
// it is younger than maxAge.
func (db *DB) impact(ctx context.Context, tenant, id int64, maxRate int, maxAge time.Duration) (sweep.Impact, error) {
	var m sweep.Impact
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		if err := db.longWork(ctx, tx); err != nil {
			return err
		}
		// Key-share: a delete of the import waits until the impact is
		// stored (then removes it by cascade); a start does not wait.
		var (
			status, fileError string
			importCap         sql.NullInt64
		)
		err := tx.QueryRowContext(ctx, `SELECT status, error, max_rows_per_second FROM imports
			WHERE tenant_id = $1 AND id = $2 FOR KEY SHARE`, tenant, id).Scan(&status, &fileError, &importCap)
		if err != nil {
			return notFound(err, "Import %d was not found.", id)
		}
		// Two computations of one import (the worker's after validation and
		// the API's for a reader who came first) take turns; the second
		// returns what the first kept, unless that is too old for it.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('impact:' || $1::text, 0))`, id); err != nil {
			return err
		}
		kept, err := db.keptImpact(ctx, tx, tenant, id)
		if err != nil && sweep.ErrorCode(err) != sweep.ENOTFOUND {
			return err
		}
		if err == nil {
			if maxAge < 0 || !slices.Contains(refreshStates, sweep.Status(status)) {
				m = kept
				return nil
			}
			// The age by the database's clock, which wrote computed_at:
			// clock_timestamp, since this transaction may have waited.
			var young bool
			if err := tx.QueryRowContext(ctx, `SELECT clock_timestamp() - $1::timestamptz < $2 * interval '1 microsecond'`,
				kept.ComputedAt, maxAge.Microseconds()).Scan(&young); err != nil {
				return fmt.Errorf("age of the impact of import %d: %w", id, err)
			}
			if young {
				m = kept
				return nil
			}
		}
		if !slices.Contains(impactStates, sweep.Status(status)) {
			return sweep.Errorf(sweep.ECONFLICT, "The import is %s; its impact is known once it has validated, and until its run ends.", status)
		}
		m = sweep.Impact{ImportID: id, FileError: fileError}
		var lo, hi, gone, linked int64
		exec := func(q string, args ...any) (int64, error) {
			res, err := tx.ExecContext(ctx, q, args...)
			if err != nil {
				return 0, fmt.Errorf("count what import %d deletes: %w", id, err)
			}
			return res.RowsAffected()
		}
		for _, q := range []string{
			// As in validation: sorting a million ids wants more than the
			// default work memory, and JIT costs more than it saves.
			`SET LOCAL work_mem = '256MB'`, `SET LOCAL jit = off`, `SET LOCAL enable_hashjoin = off`,
			`CREATE TEMPORARY TABLE impact_ids (id bigint NOT NULL) ON COMMIT DROP`,
		} {
			if _, err := exec(q); err != nil {
				return err
			}
		}
		if m.Rows, err = exec(`INSERT INTO impact_ids SELECT u.id FROM import_blocks b, unnest(b.customer_ids) AS u(id)
			WHERE b.tenant_id = $1 AND b.import_id = $2 AND b.processed_at IS NULL`, tenant, id); err != nil {
			return err
		}
		if _, err := exec(`ALTER TABLE impact_ids ADD PRIMARY KEY (id)`); err != nil {
			return err
		}
		if _, err := exec(`ANALYZE impact_ids`); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(min(id), 0), coalesce(max(id), 0) FROM impact_ids`).Scan(&lo, &hi); err != nil {
			return fmt.Errorf("count what import %d deletes: %w", id, err)
		}
		// The ids a run would skip: the customer is gone (deleted since
		// validation), or a loan links it (linked since).
		// The ids a run would skip: the customer is gone (deleted since
		// validation), or a block of the plan refuses it (linked since).
		cp, err := db.erasurePlan(ctx)
		if err != nil {
			return err
		}
		// The range helps the planner with whole-number keys; a uuid or text
		// key is looked up by its number instead.
		inRange := ` AND c.` + cp.SubjectKey() + ` BETWEEN $2 AND $3`
		if cp.KeyTable() != "" {
			inRange = ` AND $2::bigint <= $3::bigint`
		}
		if gone, err = exec(`DELETE FROM impact_ids k WHERE NOT EXISTS
			(SELECT 1 FROM `+cp.SubjectTable()+` c WHERE `+cp.SubjectRow("c", "$1", "k.id")+inRange+`)`, tenant, lo, hi); err != nil {
			return err
		}
		for i := 0; i < cp.Blocks(); i++ {
			n, err := exec(`DELETE FROM impact_ids k WHERE `+cp.BlockExists(i, "$1", "k.id"), tenant)
			if err != nil {
				return err
			}
			linked += n
		}
		if gone+linked > 0 {
			if _, err := exec(`ANALYZE impact_ids`); err != nil {
				return err
			}
		}
		m.Customers = m.Rows - gone - linked

		counts, err := cp.Counts(ctx, tx, tenant, "impact_ids")
		if err != nil {
			return fmt.Errorf("count the rows of import %d's customers: %w", id, err)
		}
		for _, c := range counts {
			if c.Table.String() == cp.Plan.Subject.Table.String() && c.Action != "detached" {
				continue // the customers themselves
			}
			m.Related = append(m.Related, sweep.RelatedCount{Kind: c.Table.String(), Action: c.Action, Rows: c.Rows})
		}
		// One id from the middle of each tenth, so the first and the last
		// are near the ends; with ten customers or fewer, all of them.
		var sample int64List
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(percentile_disc(ARRAY[0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.95])
			WITHIN GROUP (ORDER BY id), '{}') FROM impact_ids`).Scan(&sample); err != nil {
			return fmt.Errorf("sample the customers of import %d: %w", id, err)
		}
		m.Sample = slices.Compact(sample)
		if cp.KeyTable() != "" {
			names, err := db.KeyNames(ctx, tenant, m.Sample)
			if err != nil {
				return err
			}
			for _, n := range m.Sample {
				m.SampleKeys = append(m.SampleKeys, names[n])
			}
			m.Sample = nil
		}

		skipped := map[string]int64{sweep.SkipNotFound: gone, sweep.SkipLinked: linked}
		rows, err := tx.QueryContext(ctx, `SELECT code, count(*) FROM import_errors WHERE tenant_id = $1 AND import_id = $2 GROUP BY code`, tenant, id)
		if err != nil {
			return fmt.Errorf("count the row errors of import %d: %w", id, err)
		}
		defer rows.Close()
		for rows.Next() {
			var (
				code string
				n    int64
			)
			if err := rows.Scan(&code, &n); err != nil {
				return err
			}
			skipped[code] += n
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("count the row errors of import %d: %w", id, err)
		}
		for _, r := range sweep.SkipReasons {
			if skipped[r] > 0 {
				m.Skipped = append(m.Skipped, sweep.SkipCount{Reason: r, Rows: skipped[r]})
			}
		}

		if maxRate < 0 && kept.Basis != "" {
			// Counted again: the speed stays as it was estimated.
			m.RowsPerSecond, m.Basis = kept.RowsPerSecond, kept.Basis
			m.EstimatedSeconds = sweep.EstimateSeconds(m.Rows, m.RowsPerSecond)
			return db.keepImpact(ctx, tx, tenant, id, &m)
		}
		speed := sweep.ImpactSpeed{GlobalCap: max(maxRate, 0), ImportCap: int(importCap.Int64)}
		// Every tenant's runs: the speed is the database's, and nothing of
		// another tenant but this one figure is read.
		var measured sql.NullFloat64
		if err := tx.QueryRowContext(ctx, `
			SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY rows_per_second), count(*) FROM (
				SELECT rows_per_second FROM imports
				WHERE status IN ('completed', 'completed_with_errors') AND rows_per_second > 0 AND processed_rows >= $1
				ORDER BY id DESC LIMIT $2) last`, impactSpeedMinRows, impactSpeedRuns).Scan(&measured, &speed.Runs); err != nil {
			return fmt.Errorf("measured speed: %w", err)
		}
		speed.Measured = measured.Float64
		m.RowsPerSecond, m.Basis = speed.Rate()
		m.EstimatedSeconds = sweep.EstimateSeconds(m.Rows, m.RowsPerSecond)
		return db.keepImpact(ctx, tx, tenant, id, &m)
	})
	if err != nil {
		return sweep.Impact{}, fmt.Errorf("impact of import %d: %w", id, err)
	}
	return m, nil
}

// refreshStates are the states in which an import's run is still to be
// decided, so its impact is counted again when read old (RefreshImpact).
var refreshStates = []sweep.Status{sweep.StatusValidated, sweep.StatusAwaitingApproval}

// keepImpact stores m as the impact of import id, in place of the one kept
// before, and sets its ComputedAt: when this transaction began counting.
func (db *DB) keepImpact(ctx context.Context, tx *sqlx.Tx, tenant, id int64, m *sweep.Impact) error {
	doc, err := json.Marshal(toImpactFigures(*m))
	if err != nil {
		return err
	}
	return tx.QueryRowContext(ctx, `
		INSERT INTO import_impacts (tenant_id, import_id, customers, related_rows, estimated_seconds, figures)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (tenant_id, import_id) DO UPDATE SET customers = excluded.customers, related_rows = excluded.related_rows,
			estimated_seconds = excluded.estimated_seconds, figures = excluded.figures, computed_at = excluded.computed_at
		RETURNING computed_at`,
		tenant, id, m.Customers, m.RelatedRows(), m.EstimatedSeconds, doc).Scan(&m.ComputedAt)
}

// Impact returns the impact kept with import id of tenant. An import of
// another tenant, or one whose impact was never computed, is ENOTFOUND.
func (db *DB) Impact(ctx context.Context, tenant, id int64) (sweep.Impact, error) {
	m, err := db.keptImpact(ctx, db.db, tenant, id)
	if err != nil && sweep.ErrorCode(err) != sweep.ENOTFOUND {
		return m, fmt.Errorf("impact of import %d: %w", id, err)
	}
	return m, err
}

func (db *DB) keptImpact(ctx context.Context, q sqlx.QueryerContext, tenant, id int64) (sweep.Impact, error) {
	var (
		doc []byte
		m   = sweep.Impact{ImportID: id}
	)
	err := q.QueryRowxContext(ctx, `SELECT customers, estimated_seconds, figures, computed_at FROM import_impacts
		WHERE tenant_id = $1 AND import_id = $2`, tenant, id).Scan(&m.Customers, &m.EstimatedSeconds, &doc, &m.ComputedAt)
	if err != nil {
		return sweep.Impact{}, notFound(err, "Import %d was not found, or has no impact preview.", id)
	}
	var f impactFigures
	if err := json.Unmarshal(doc, &f); err != nil {
		return sweep.Impact{}, err
	}
	f.fill(&m)
	return m, nil
}

// impactFigures is the jsonb document of import_impacts.figures: the parts
// of a sweep.Impact that are not columns of their own.
type impactFigures struct {
	Rows          int64             `json:"rows"`
	Related       []impactKindCount `json:"related"`
	Skipped       []impactKindCount `json:"skipped"`
	FileError     string            `json:"file_error,omitempty"`
	RowsPerSecond float64           `json:"rows_per_second"`
	Basis         string            `json:"basis"`
	Sample        []int64           `json:"sample"`
	SampleKeys    []string          `json:"sample_keys,omitempty"`
}

type impactKindCount struct {
	Kind   string `json:"kind"`
	Action string `json:"action,omitempty"`
	Rows   int64  `json:"rows"`
}

func toImpactFigures(m sweep.Impact) impactFigures {
	f := impactFigures{Rows: m.Rows, FileError: m.FileError, RowsPerSecond: m.RowsPerSecond, Basis: m.Basis, Sample: m.Sample, SampleKeys: m.SampleKeys,
		Related: []impactKindCount{}, Skipped: []impactKindCount{}}
	for _, r := range m.Related {
		f.Related = append(f.Related, impactKindCount{r.Kind, r.Action, r.Rows})
	}
	for _, s := range m.Skipped {
		f.Skipped = append(f.Skipped, impactKindCount{Kind: s.Reason, Rows: s.Rows})
	}
	return f
}

func (f impactFigures) fill(m *sweep.Impact) {
	m.Rows, m.FileError, m.RowsPerSecond, m.Basis, m.Sample, m.SampleKeys = f.Rows, f.FileError, f.RowsPerSecond, f.Basis, f.Sample, f.SampleKeys
	for _, r := range f.Related {
		m.Related = append(m.Related, sweep.RelatedCount{Kind: r.Kind, Action: r.Action, Rows: r.Rows})
	}
	for _, s := range f.Skipped {
		m.Skipped = append(m.Skipped, sweep.SkipCount{Reason: s.Kind, Rows: s.Rows})
	}
}
