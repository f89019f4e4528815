package worker_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/devdata"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/store"
	"github.com/sweephq/sweep/worker"
)

const tenant = 5200243

type fixture struct {
	db  *store.DB
	rdb redis.UniversalClient
	srv *worker.Server
}

// configure replaces the fixture's worker with one configured as cfg says.
func (f *fixture) configure(cfg worker.Config) {
	f.srv = worker.NewServer(f.rdb, f.db, cfg)
}

func newFixture(t *testing.T, customers int, linked float64) *fixture {
	t.Helper()
	db := testenv.DB(t)
	if _, err := devdata.Seed(context.Background(), db, devdata.SeedOptions{Tenant: tenant, Customers: customers, LinkedFraction: linked, Seed: 9}); err != nil {
		t.Fatal(err)
	}
	rdb, err := jobs.OpenRedis(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	return &fixture{db: db, rdb: rdb, srv: worker.NewServer(rdb, db, worker.Config{Concurrency: 1})}
}

func (f *fixture) upload(t *testing.T, data []byte, policy sweep.Policy) sweep.Import {
	t.Helper()
	imp, _, err := f.db.CreateImport(context.Background(), store.NewImport{
		TenantID: tenant, Source: sweep.SourceUpload, Policy: policy, FileName: "test.csv",
	}, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return imp
}

func (f *fixture) validate(t *testing.T, imp sweep.Import) sweep.Import {
	t.Helper()
	task, err := jobs.NewImportValidateTask(imp)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.srv.Handler().ProcessTask(context.Background(), task); err != nil {
		t.Fatalf("validate import %d: %v", imp.ID, err)
	}
	got, err := f.db.GetImport(context.Background(), tenant, imp.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func (f *fixture) count(t *testing.T, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := f.db.SQL().QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

type staged struct {
	Rows   []string
	Errors []string
}

func (f *fixture) staged(t *testing.T, id int64) staged {
	t.Helper()
	var s staged
	if err := f.db.SQL().Select(&s.Rows, `SELECT r.line || ':' || r.id FROM import_blocks b, unnest(b.lines, b.customer_ids) AS r(line, id)
		WHERE b.tenant_id = $1 AND b.import_id = $2 ORDER BY r.line`, tenant, id); err != nil {
		t.Fatal(err)
	}
	if err := f.db.SQL().Select(&s.Errors, `SELECT line || ':' || column_name || ':' || message FROM import_errors WHERE tenant_id = $1 AND import_id = $2 ORDER BY line`, tenant, id); err != nil {
		t.Fatal(err)
	}
	return s
}

// Every hostile file of the corpus goes through the real validate task against
// a seeded database: the import ends validated or rejected with consistent
// counts, every row error has a line and a message, and nothing is deleted.
func TestValidateCorpusDeletesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 300, 0)
	before := f.count(t, "SELECT count(*) FROM customers")
	relatedBefore := f.count(t, "SELECT count(*) FROM customer_phones")
	paths, _ := filepath.Glob("../testdata/files/*.csv")
	if len(paths) < 50 {
		t.Fatalf("found %d corpus files, want at least 50", len(paths))
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(p)
		imp := f.validate(t, f.upload(t, data, sweep.PolicyLine))
		switch {
		case strings.HasPrefix(name, "file_"):
			if imp.Status != sweep.StatusRejected || imp.Error == "" {
				t.Errorf("%s: status %s, error %q; want rejected with a reason", name, imp.Status, imp.Error)
			}
		case imp.Status == sweep.StatusValidated:
			if imp.ValidRows+imp.ErrorRows != imp.TotalRows || imp.ValidRows == 0 {
				t.Errorf("%s: valid %d + errors %d != total %d", name, imp.ValidRows, imp.ErrorRows, imp.TotalRows)
			}
		case imp.Status == sweep.StatusRejected:
			if imp.ValidRows != 0 || imp.Error == "" {
				t.Errorf("%s: rejected with %d valid rows, reason %q", name, imp.ValidRows, imp.Error)
			}
		default:
			t.Errorf("%s: status %s after validation", name, imp.Status)
		}
		if n := f.count(t, "SELECT count(*) FROM import_errors WHERE tenant_id = $1 AND import_id = $2 AND (line < 2 OR message = '')", tenant, imp.ID); n != 0 {
			t.Errorf("%s: %d row errors without a line or a message", name, n)
		}
		if strings.HasPrefix(name, "ok_") && imp.ErrorRows != 0 && name != "ok_max_int64.csv" {
			t.Errorf("%s: %d row errors in a good file", name, imp.ErrorRows)
		}
	}
	if after := f.count(t, "SELECT count(*) FROM customers"); after != before {
		t.Errorf("validation deleted customers: %d before, %d after", before, after)
	}
	if after := f.count(t, "SELECT count(*) FROM customer_phones"); after != relatedBefore {
		t.Errorf("validation deleted related rows: %d before, %d after", relatedBefore, after)
	}
}

func csvOf(lines ...string) []byte {
	return []byte("action,customerId\n" + strings.Join(lines, "\n") + "\n")
}

func TestValidateSetBasedChecks(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 100, 0)
	f.db.SQL().MustExec(`INSERT INTO loans (tenant_id, id, principal_cents) VALUES ($1, 900, 100000)`, tenant)
	f.db.SQL().MustExec(`INSERT INTO loan_customers (tenant_id, loan_id, customer_id) VALUES ($1, 900, 7)`, tenant)

	imp := f.validate(t, f.upload(t, csvOf("remove,5", "remove,6", "remove,0005", "remove,7", "remove,100000", "remove,6", "remove,abc"), sweep.PolicyLine))
	if imp.Status != sweep.StatusValidated || imp.TotalRows != 7 || imp.ValidRows != 2 || imp.ErrorRows != 5 {
		t.Fatalf("import = %s total %d valid %d errors %d; want validated 7/2/5", imp.Status, imp.TotalRows, imp.ValidRows, imp.ErrorRows)
	}
	want := staged{
		Rows: []string{"2:5", "3:6"},
		Errors: []string{
			"4:customerId:customerId 5 already appears on line 2. Remove this repeated row.",
			"5:customerId:Customer 7 is linked to a loan, and loans are never deleted. Unlink the customer from the loan first, then validate this import again.",
			"6:customerId:No customer with id 100000 exists. Check the id; if the customer was already deleted, remove the row.",
			"7:customerId:customerId 6 already appears on line 3. Remove this repeated row.",
			`8:customerId:customerId must be a whole number such as 1042; found "abc".`,
		},
	}
	if diff := cmp.Diff(want, f.staged(t, imp.ID)); diff != "" {
		t.Errorf("staged (-want +got):\n%s", diff)
	}

	// The same file under policy file is rejected whole, and keeps its errors.
	rej := f.validate(t, f.upload(t, csvOf("remove,5", "remove,6", "remove,0005", "remove,7", "remove,100000", "remove,6", "remove,abc"), sweep.PolicyFile))
	if rej.Status != sweep.StatusRejected || rej.ErrorRows != 5 || !strings.Contains(rej.Error, "5 of 7 rows have errors and the policy is file") {
		t.Errorf("policy file: %s, %d errors, %q", rej.Status, rej.ErrorRows, rej.Error)
	}
	if got := f.staged(t, rej.ID); len(got.Rows) != 0 || len(got.Errors) != 5 {
		t.Errorf("policy file staged %d rows and %d errors; want 0 and 5", len(got.Rows), len(got.Errors))
	}

	// Unlinking the customer and validating again accepts the row.
	f.db.SQL().MustExec(`DELETE FROM loan_customers WHERE tenant_id = $1 AND customer_id = 7`, tenant)
	again, err := f.db.RequestValidation(context.Background(), tenant, rej.ID)
	if err != nil {
		t.Fatal(err)
	}
	again = f.validate(t, again)
	if again.Validations != 2 || again.Status != sweep.StatusRejected || again.ErrorRows != 4 {
		t.Errorf("after unlinking: round %d, %s, %d errors; want round 2, rejected, 4 errors", again.Validations, again.Status, again.ErrorRows)
	}
}

// A task delivered again after its round was partly or wholly done (a worker
// killed before acknowledging) reaches the same rows and errors, not
// duplicates; two deliveries at once do too.
func TestValidateRedeliveryIsIdempotent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 200, 0)
	data := csvOf("remove,1", "remove,2", "remove,x", "remove,2", "remove,999999", "remove,3")
	first := f.validate(t, f.upload(t, data, sweep.PolicyLine))
	want := f.staged(t, first.ID)

	// As if the worker died after staging but before the status commit. The
	// database refuses validated -> validating (not an edge), so the state is
	// set with its edge guard off for this one statement.
	tx := f.db.SQL().MustBegin()
	tx.MustExec(`ALTER TABLE imports DISABLE TRIGGER imports_status_edge`)
	res, err := tx.Exec(`UPDATE imports SET status = 'validating' WHERE id = $1 AND status = 'validated'`, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("set up the redelivery: %d imports moved back to validating, want 1", n)
	}
	tx.MustExec(`ALTER TABLE imports ENABLE TRIGGER imports_status_edge`)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.db.GetImport(context.Background(), tenant, first.ID); got.Status != sweep.StatusValidating {
		t.Fatalf("import is %s before the redelivery, want validating", got.Status)
	}
	second := f.validate(t, first)
	if diff := cmp.Diff(want, f.staged(t, first.ID)); diff != "" {
		t.Errorf("after redelivery (-want +got):\n%s", diff)
	}
	if second.TotalRows != first.TotalRows || second.ValidRows != first.ValidRows || second.ErrorRows != first.ErrorRows {
		t.Errorf("counts changed on redelivery: %+v vs %+v", second, first)
	}

	// Two deliveries at the same time.
	imp := f.upload(t, data, sweep.PolicyLine)
	task, _ := jobs.NewImportValidateTask(imp)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = f.srv.Handler().ProcessTask(context.Background(), task) }()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, f.staged(t, imp.ID)); diff != "" {
		t.Errorf("after two concurrent deliveries (-want +got):\n%s", diff)
	}
}

func TestValidateRefusesUnknownPayloadVersion(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10, 0)
	imp := f.upload(t, csvOf("remove,1"), sweep.PolicyLine)
	task, _ := jobs.NewImportValidateTask(imp)
	bad := strings.Replace(string(task.Payload()), `"version":2`, `"version":7`, 1)
	err := f.srv.Handler().ProcessTask(context.Background(), asynqTask(jobs.TypeImportValidate, bad))
	if err == nil || !strings.Contains(err.Error(), "version 7 is not supported") {
		t.Errorf("version 7: %v, want a clear refusal", err)
	}
	if got, _ := f.db.GetImport(context.Background(), tenant, imp.ID); got.Status != sweep.StatusUploaded {
		t.Errorf("import is %s after a refused task, want uploaded", got.Status)
	}
}

// The worker's memory does not depend on the file: rows stream from the stored
// chunks to COPY. This reads a generated 500,000-row (7 MiB) file through the reader
// the worker uses and checks that it is consumed chunk by chunk.
func TestFileReaderStreamsChunks(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, 0)
	var b bytes.Buffer
	b.WriteString("action,customerId\n")
	for i := 1; i <= 500_000; i++ {
		fmt.Fprintf(&b, "remove,%d\n", i)
	}
	imp := f.upload(t, b.Bytes(), sweep.PolicyLine)
	chunks := f.count(t, "SELECT count(*) FROM import_files WHERE import_id = $1", imp.ID)
	if want := int64(b.Len()/store.FileChunkSize + 1); chunks != want {
		t.Errorf("file stored in %d chunks, want %d of %d bytes", chunks, want, store.FileChunkSize)
	}
	if chunks < 4 {
		t.Fatalf("file stored in %d chunks; the test needs at least 4", chunks)
	}
	got, err := io.ReadAll(f.db.FileReader(context.Background(), tenant, imp.ID))
	if err != nil || !bytes.Equal(got, b.Bytes()) {
		t.Errorf("read back %d bytes (%v), want the %d bytes stored", len(got), err, b.Len())
	}

	// Streaming: a reader that has handed out its first chunk holds at most
	// the next one and is fetching a third; it has not read the rest of the
	// file. Chunks taken away from the database now are never seen.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := f.db.FileReader(ctx, tenant, imp.ID)
	first := make([]byte, store.FileChunkSize)
	if _, err := io.ReadFull(r, first); err != nil {
		t.Fatal(err)
	}
	res, err := f.db.SQL().Exec(`DELETE FROM import_files WHERE import_id = $1 AND seq >= 3`, imp.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != chunks-3 {
		t.Fatalf("removed %d chunks, want %d", n, chunks-3)
	}
	rest, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(first) + len(rest); n != 3*store.FileChunkSize || !bytes.Equal(append(first, rest...), b.Bytes()[:n]) {
		t.Errorf("the reader gave %d bytes after the file lost all but its first 3 chunks; want exactly those 3 chunks (%d bytes): it read ahead more than one chunk",
			n, 3*store.FileChunkSize)
	}
}

// Valid ids are stored sorted, in blocks of the configured chunk size, each id
// with the line it came from.
func TestValidateWritesSortedBlocks(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 50, 0)
	f.configure(worker.Config{Concurrency: 1, ChunkSize: 2})
	imp := f.validate(t, f.upload(t, csvOf("remove,9", "remove,3", "remove,12", "remove,1", "remove,3", "remove,5"), sweep.PolicyLine))
	if imp.ValidRows != 5 || imp.ErrorRows != 1 {
		t.Fatalf("valid %d errors %d, want 5 and 1", imp.ValidRows, imp.ErrorRows)
	}
	var got []string
	err := f.db.SQL().Select(&got, `SELECT block || ':' || customer_ids::text || ':' || lines::text FROM import_blocks
		WHERE tenant_id = $1 AND import_id = $2 ORDER BY block`, tenant, imp.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"0:{1,3}:{5,3}", "1:{5,9}:{7,2}", "2:{12}:{4}"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("blocks (-want +got):\n%s", diff)
	}
}
