package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/devdata"
	"github.com/sweephq/sweep/internal/testenv"
)

// The database's edge list is the Go table: for every pair of states,
// sweep_import_edge answers what sweep.CanTransition does.
func TestDatabaseEdgesAreTheStateTable(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	for _, from := range sweep.Statuses {
		for _, to := range sweep.Statuses {
			var ok bool
			if err := db.SQL().Get(&ok, `SELECT sweep_import_edge($1, $2)`, from, to); err != nil {
				t.Fatal(err)
			}
			if ok != sweep.CanTransition(from, to) {
				t.Errorf("%s -> %s: the database says %v, status.go says %v", from, to, ok, !ok)
			}
		}
	}
}

// An UPDATE that moves an import along an edge the table lacks is refused by
// the database itself, whatever runs it.
func TestDatabaseRefusesAForbiddenEdge(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	if err := db.EnsureTenant(ctx, 5200243, "t"); err != nil {
		t.Fatal(err)
	}
	imp, _, err := db.CreateImport(ctx, sweep.NewImport{TenantID: 5200243, Source: sweep.SourceUpload, Policy: sweep.PolicyLine},
		strings.NewReader("action,customerId\nremove,1\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, to := range []sweep.Status{sweep.StatusCompleted, sweep.StatusRunning, sweep.StatusQueued, sweep.StatusValidated} {
		_, err := db.SQL().Exec(`UPDATE imports SET status = $3 WHERE tenant_id = $1 AND id = $2 AND sweep_transition()`, 5200243, imp.ID, to)
		if err == nil || !strings.Contains(err.Error(), "is not an edge of the import state table") {
			t.Errorf("uploaded -> %s: %v; want the database to refuse it", to, err)
		}
	}
	// An edge, but written outside store.transition: refused too.
	_, err = db.SQL().Exec(`UPDATE imports SET status = 'validating' WHERE tenant_id = $1 AND id = $2`, 5200243, imp.ID)
	if err == nil || !strings.Contains(err.Error(), "was written outside store.transition") {
		t.Errorf("uploaded -> validating without the transition's mark: %v; want the database to refuse it", err)
	}
	if _, err := db.SQL().Exec(`UPDATE imports SET status = 'validating' WHERE tenant_id = $1 AND id = $2 AND sweep_transition()`, 5200243, imp.ID); err != nil {
		t.Errorf("uploaded -> validating, an edge, marked: %v", err)
	}
	// Other columns change freely.
	if _, err := db.SQL().Exec(`UPDATE imports SET updated_at = now(), status = status WHERE tenant_id = $1 AND id = $2`, 5200243, imp.ID); err != nil {
		t.Errorf("an update that keeps the state: %v", err)
	}
}

// The reconciler's scan can use its index.
func TestReconcilerScanUsesItsIndex(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	tx := db.SQL().MustBegin()
	defer tx.Rollback()
	tx.MustExec(`SET LOCAL enable_seqscan = off`)
	var plan []string
	if err := tx.Select(&plan, `EXPLAIN SELECT tenant_id, id FROM imports
		WHERE status IN ('uploaded', 'validating', 'queued', 'running') AND updated_at < now() - 60 * interval '1 second'
		ORDER BY id LIMIT 1000`); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(plan, "\n"), "imports_working_idx") {
		t.Errorf("plan does not use imports_working_idx:\n%s", strings.Join(plan, "\n"))
	}
}

// A cleanup batch is made in one transaction: a crash after the import and
// its file are written but before the policy records the run leaves nothing,
// and the run delivered again makes exactly one batch, which the policy
// records. A run that finds nothing is created completed, never moved there.
func TestCreateBatchIsOneTransaction(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	const tenant = 5200243
	if _, err := devdata.Seed(ctx, db, devdata.SeedOptions{Tenant: tenant, Customers: 30, Seed: 4}); err != nil {
		t.Fatal(err)
	}
	db.SQL().MustExec(`DELETE FROM loan_customers WHERE tenant_id = $1`, tenant)
	db.SQL().MustExec(`UPDATE customers SET last_activity_at = now() WHERE tenant_id = $1`, tenant)
	db.SQL().MustExec(`UPDATE customers SET last_activity_at = now() - interval '400 days' WHERE tenant_id = $1 AND id BETWEEN 10 AND 14`, tenant)
	p, err := db.CreatePolicy(ctx, sweep.CleanupPolicy{TenantID: tenant, Name: "inactive", Kind: sweep.CleanupInactive,
		Params: sweep.CleanupParams{Days: 365}, CronSpec: "0 2 * * *", MaxBatch: 100, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	// The first delivery dies when the policy records the run: a trigger
	// fails the first such update (a sequence is not rolled back).
	db.SQL().MustExec(`CREATE SEQUENCE crash_once`)
	db.SQL().MustExec(`CREATE FUNCTION crash_once() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF nextval('crash_once') = 1 THEN RAISE EXCEPTION 'worker lost'; END IF; RETURN NEW; END $$`)
	db.SQL().MustExec(`CREATE TRIGGER crash_once BEFORE UPDATE OF last_import_id ON cleanup_policies FOR EACH ROW EXECUTE FUNCTION crash_once()`)
	due := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
	claim, err := db.ClaimRunNow(ctx, tenant, p.ID, due, sweep.Requester{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.CreateBatch(ctx, claim); err == nil || !strings.Contains(err.Error(), "worker lost") {
		t.Fatalf("first delivery: %v; want it to die", err)
	}
	var imports, files int
	if err := db.SQL().Get(&imports, `SELECT count(*) FROM imports`); err != nil {
		t.Fatal(err)
	}
	if err := db.SQL().Get(&files, `SELECT count(*) FROM import_files`); err != nil {
		t.Fatal(err)
	}
	if imports != 0 || files != 0 {
		t.Fatalf("a batch that died left %d imports and %d file chunks", imports, files)
	}
	imp, existed, err := db.CreateBatch(ctx, claim)
	if err != nil || existed || imp.Status != sweep.StatusUploaded {
		t.Fatalf("second delivery = %+v existed %v (%v); want a new uploaded batch", imp, existed, err)
	}
	again, existed, err := db.CreateBatch(ctx, claim)
	if err != nil || !existed || again.ID != imp.ID {
		t.Fatalf("third delivery = import %d existed %v (%v); want import %d again", again.ID, existed, err, imp.ID)
	}
	got, _ := db.GetPolicy(ctx, tenant, p.ID)
	if got.LastImportID == nil || *got.LastImportID != imp.ID || got.LastFound == nil || *got.LastFound != 5 {
		t.Errorf("policy records batch %v with %v found; want %d with 5", got.LastImportID, got.LastFound, imp.ID)
	}
	// Nothing left to select: the next run's batch is created completed.
	db.SQL().MustExec(`UPDATE customers SET last_activity_at = now() WHERE tenant_id = $1`, tenant)
	next, err := db.ClaimRunNow(ctx, tenant, p.ID, due.Add(24*time.Hour), sweep.Requester{})
	if err != nil {
		t.Fatal(err)
	}
	empty, _, err := db.CreateBatch(ctx, next)
	if err != nil || empty.Status != sweep.StatusCompleted || empty.TotalRows != 0 || empty.FinishedAt == nil {
		t.Errorf("empty batch = %+v (%v); want completed with 0 rows", empty, err)
	}
}

// Every named operation of the lifecycle, tried from every state, moves an
// import only along an edge of the table, and together they perform every
// edge but the two that Validation.Finish performs (validating -> validated,
// rejected; see TestValidateSetBasedChecks and the policy tests).
func TestEveryOperationFollowsTheTable(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	const tenant = 5200243
	if err := db.EnsureTenant(ctx, tenant, "t"); err != nil {
		t.Fatal(err)
	}
	ops := map[string]func(id int64) error{
		"RequestValidation": func(id int64) error { _, err := db.RequestValidation(ctx, tenant, id); return err },
		"BeginValidating":   func(id int64) error { _, err := db.BeginValidating(ctx, tenant, id); return err },
		"StartImport":       func(id int64) error { _, err := db.StartImport(ctx, tenant, id, sweep.StartOptions{}); return err },
		"BeginRunning":      func(id int64) error { _, err := db.BeginRunning(ctx, tenant, id); return err },
		"CompleteImport":    func(id int64) error { _, _, err := db.CompleteImport(ctx, tenant, id); return err },
		"CompleteImport with row errors": func(id int64) error {
			db.SQL().MustExec(`UPDATE imports SET error_rows = 1 WHERE tenant_id = $1 AND id = $2`, tenant, id)
			_, _, err := db.CompleteImport(ctx, tenant, id)
			return err
		},
		"CancelImport": func(id int64) error { _, err := db.CancelImport(ctx, tenant, id, "ops"); return err },
		"FinishCancel": func(id int64) error { _, err := db.FinishCancel(ctx, tenant, id); return err },
		"FailImport":   func(id int64) error { return db.FailImport(ctx, tenant, id, "it broke") },
		"PauseImport":  func(id int64) error { _, err := db.PauseImport(ctx, tenant, id, "ops"); return err },
		"ResumeImport": func(id int64) error { _, err := db.ResumeImport(ctx, tenant, id); return err },
		"RequestApproval": func(id int64) error {
			_, err := db.RequestApproval(ctx, tenant, id, sweep.StartOptions{By: sweep.Requester{Name: "ops", TokenID: 1}}, "", time.Now().Add(time.Hour))
			return err
		},
		"ApproveImport": func(id int64) error {
			_, err := db.ApproveImport(ctx, tenant, id, sweep.ApprovalStep{By: "lead", ByToken: 2})
			return err
		},
		"RejectImport": func(id int64) error {
			_, err := db.RejectImport(ctx, tenant, id, sweep.ApprovalStep{By: "lead", ByToken: 2, Reason: "no"})
			return err
		},
		"ExpireApprovals": func(id int64) error {
			db.SQL().MustExec(`UPDATE imports SET approval_expires_at = now() WHERE tenant_id = $1 AND id = $2`, tenant, id)
			_, err := db.ExpireApprovals(ctx)
			return err
		},
	}
	performed := map[[2]sweep.Status]bool{}
	for name, op := range ops {
		for _, from := range sweep.Statuses {
			var id int64
			// Each one as if asked for approval by token 1 an hour ago, so that
			// the approval steps have a request to act on.
			if err := db.SQL().Get(&id, `INSERT INTO imports (tenant_id, source, status, key_space, approval_requested_by, approval_requested_token,
				approval_requested_at, approval_expires_at) VALUES ($1, 'upload', $2, 'http', 'ops', 1, now(), now() + interval '1 hour') RETURNING id`, tenant, from); err != nil {
				t.Fatal(err)
			}
			err := op(id)
			got, gerr := db.GetImport(ctx, tenant, id)
			if gerr != nil {
				t.Fatal(gerr)
			}
			switch {
			case got.Status != from && !sweep.CanTransition(from, got.Status):
				t.Errorf("%s moved %s to %s, an edge the table lacks", name, from, got.Status)
			case got.Status != from:
				performed[[2]sweep.Status{from, got.Status}] = true
			case err != nil && sweep.ErrorCode(err) != sweep.ECONFLICT:
				t.Errorf("%s from %s: %v; want the state unchanged with ECONFLICT, or success", name, from, err)
			}
		}
	}
	for _, from := range sweep.Statuses {
		for _, to := range from.Next() {
			finish := from == sweep.StatusValidating && (to == sweep.StatusValidated || to == sweep.StatusRejected)
			if !performed[[2]sweep.Status{from, to}] && !finish {
				t.Errorf("no operation performs %s -> %s", from, to)
			}
		}
	}
}
