package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/client"
	"github.com/sweephq/sweep/internal/devdata"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/store"
	"github.com/sweephq/sweep/uploader"
	"github.com/sweephq/sweep/wire"
)

const tenant = 5200243

// startAPI runs sweep (API and worker) over a database whose tenant has
// customers 1-100, customer 7 linked to a loan, and returns a client with a
// token that reads and writes imports.
func startAPI(t *testing.T, limits uploader.Limits) (*client.Client, *store.DB) {
	t.Helper()
	db := testenv.DB(t)
	ctx := context.Background()
	if _, err := devdata.Seed(ctx, db, devdata.SeedOptions{Tenant: tenant, Customers: 100, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	db.SQL().MustExec(`DELETE FROM loan_customers WHERE tenant_id = $1`, tenant)
	db.SQL().MustExec(`INSERT INTO loans (tenant_id, id, principal_cents) VALUES ($1, 900, 1000) ON CONFLICT DO NOTHING`, tenant)
	db.SQL().MustExec(`INSERT INTO loan_customers (tenant_id, loan_id, customer_id) VALUES ($1, 900, 7)`, tenant)
	sw := testenv.StartSweep(t, db, testenv.SweepOptions{API: true, Limits: limits})
	token, _, err := db.CreateToken(ctx, tenant, "client-test", []sweep.Scope{sweep.ScopeImportsRead, sweep.ScopeImportsWrite})
	if err != nil {
		t.Fatal(err)
	}
	return client.New(sw.URL+"/", token), db
}

func waitSettled(t *testing.T, c *client.Client, id int64) wire.Import {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	imp, err := c.Wait(ctx, id, 50*time.Millisecond)
	if err != nil {
		t.Fatalf("wait for import %d: %v (last seen %s)", id, err, imp.Status)
	}
	return imp
}

// A whole import through the client: upload a file with bad rows, wait until
// it is validated and awaits its operator, read its errors and failed rows,
// start it with parallelism 2, wait until it completed, read its results,
// find it in the history, remove it.
func TestClientImportsAFile(t *testing.T) {
	t.Parallel()
	c, db := startAPI(t, uploader.Limits{})
	ctx := context.Background()

	me, err := c.Me(ctx)
	if err != nil || me.TenantID != tenant || me.TokenName != "client-test" {
		t.Fatalf("Me = %+v, %v", me, err)
	}
	file := "action,customerId\nremove,1\nremove,x2\nremove,3\nremove,7\n"
	imp, err := c.Upload(ctx, "customers.csv", strings.NewReader(file), client.UploadOptions{Policy: sweep.PolicyLine})
	if err != nil {
		t.Fatal(err)
	}
	if imp.ID == 0 || imp.FileName != "customers.csv" || imp.Settled || imp.Policy != sweep.PolicyLine {
		t.Fatalf("uploaded import = %+v", imp)
	}
	imp = waitSettled(t, c, imp.ID)
	if imp.Status != sweep.StatusValidated || !imp.AwaitsOperator || imp.StartsByItself || imp.HasRun ||
		imp.ValidRows != 2 || imp.ErrorRows != 2 || !slices.Contains(imp.Actions, "start") {
		t.Fatalf("validated import = %+v", imp)
	}

	page, err := c.Errors(ctx, imp.ID, client.ErrorsOptions{Limit: 1})
	if err != nil || page.Total != 2 || len(page.Errors) != 1 || page.Errors[0].Line != 3 || page.Errors[0].Value != "x2" || page.Next == "" {
		t.Fatalf("first errors page = %+v, %v", page, err)
	}
	page, err = c.Errors(ctx, imp.ID, client.ErrorsOptions{AfterLine: page.Errors[0].Line})
	if err != nil || len(page.Errors) != 1 || page.Errors[0].Line != 5 || page.Errors[0].Code != sweep.ELINKED {
		t.Fatalf("second errors page = %+v, %v", page, err)
	}
	var failed bytes.Buffer
	if err := c.FailedRows(ctx, imp.ID, &failed); err != nil || !strings.HasPrefix(failed.String(), "action,customerId,line,error\nremove,x2,3,") {
		t.Fatalf("failed rows = %q, %v", failed.String(), err)
	}

	started, err := c.Start(ctx, imp.ID, client.StartOptions{Parallelism: 2})
	if err != nil || started.Parallelism != 2 || started.Settled || !started.HasRun {
		t.Fatalf("Start = %+v, %v", started, err)
	}
	done := waitSettled(t, c, imp.ID)
	if done.Status != sweep.StatusCompletedWithErrors || done.DeletedRows != 2 || done.AwaitsOperator || done.Percent != 100 {
		t.Fatalf("finished import = %+v", done)
	}
	var results bytes.Buffer
	if err := c.Results(ctx, imp.ID, &results); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(results.String(), ",deleted,"); got != 2 || !strings.HasPrefix(results.String(), "line,customerId,outcome,detail\n") {
		t.Errorf("results: %d deleted rows in\n%s", got, results.String())
	}
	if n, _ := devdata.CountUnlinkedCustomers(ctx, db, tenant); n != 97 {
		t.Errorf("%d unlinked customers left; want 97", n)
	}

	list, err := c.Imports(ctx, client.ListOptions{Limit: 10})
	if err != nil || len(list.Imports) != 1 {
		t.Fatalf("Imports = %+v, %v", list, err)
	}
	if diff := cmp.Diff(done, list.Imports[0]); diff != "" {
		t.Errorf("the history shows the import otherwise (-Import +Imports):\n%s", diff)
	}
	if err := c.DeleteImport(ctx, imp.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Import(ctx, imp.ID); sweep.ErrorCode(err) != sweep.ENOTFOUND {
		t.Errorf("a removed import: %v; want %s", err, sweep.ENOTFOUND)
	}
}

// Every error answer of the API comes back as a *sweep.Error with the code
// the server chose and its message: 404, 409, 422 and 429 among them.
func TestClientErrorsCarryTheAPIsCode(t *testing.T) {
	t.Parallel()
	c, _ := startAPI(t, uploader.Limits{TenantTransfers: 1})
	ctx := context.Background()

	_, err := c.Import(ctx, 999)
	if sweep.ErrorCode(err) != sweep.ENOTFOUND || !strings.Contains(sweep.ErrorMessage(err), "999") {
		t.Errorf("unknown import: %v; want %s naming it", err, sweep.ENOTFOUND)
	}

	key := client.UploadOptions{IdempotencyKey: "client-test-1"}
	first, err := c.CreateFromIDs(ctx, []int64{10, 11}, key)
	if err != nil || first.Source != sweep.SourceAPI {
		t.Fatalf("CreateFromIDs = %+v, %v", first, err)
	}
	again, err := c.CreateFromIDs(ctx, []int64{10, 11}, key)
	if err != nil || again.ID != first.ID {
		t.Errorf("the same request under the same key: import %d, %v; want import %d", again.ID, err, first.ID)
	}
	if _, err := c.CreateFromIDs(ctx, []int64{12}, key); sweep.ErrorCode(err) != sweep.EKEYREUSED {
		t.Errorf("the key with other ids: %v; want %s", err, sweep.EKEYREUSED)
	}

	imp := waitSettled(t, c, first.ID)
	if _, err := c.Validate(ctx, imp.ID); sweep.ErrorCode(err) != sweep.ECONFLICT {
		t.Errorf("validating a validated import: %v; want %s", err, sweep.ECONFLICT)
	}
	if _, err := c.Cancel(ctx, imp.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Start(ctx, imp.ID, client.StartOptions{}); sweep.ErrorCode(err) != sweep.ECONFLICT {
		t.Errorf("starting a cancelled import: %v; want %s", err, sweep.ECONFLICT)
	}
	if _, err := c.Start(ctx, imp.ID, client.StartOptions{Parallelism: 17}); sweep.ErrorCode(err) != sweep.EINVALID {
		t.Errorf("parallelism 17: %v; want %s", err, sweep.EINVALID)
	}
	if err := c.DeleteCustomer(ctx, 7); sweep.ErrorCode(err) != sweep.EFORBIDDEN {
		t.Errorf("deleting a customer without the scope: %v; want %s", err, sweep.EFORBIDDEN)
	}
	if _, err := client.New(c.BaseURL(), "not-a-token").Me(ctx); sweep.ErrorCode(err) != sweep.EUNAUTHORIZED {
		t.Errorf("a bad token: %v; want %s", err, sweep.EUNAUTHORIZED)
	}

	// The tenant's one transfer slot held by an upload that does not end: the
	// next upload is refused with 429.
	pr, pw := io.Pipe()
	held := make(chan error, 1)
	taken := make(chan struct{})
	go func() {
		// The body is read only once the server has taken the request (the
		// client waits for 100 Continue), and then from its slot.
		body := &firstRead{r: io.MultiReader(strings.NewReader("action,customerId\n"), pr), seen: taken}
		_, err := c.Upload(ctx, "slow.csv", body, client.UploadOptions{})
		held <- err
	}()
	select {
	case <-taken:
	case err := <-held:
		t.Fatalf("the held upload ended before the server read it: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not take the held upload within 10 s")
	}
	select {
	case err := <-held:
		t.Fatalf("the held upload ended: %v", err)
	default:
	}
	if _, err := c.Upload(ctx, "quick.csv", strings.NewReader("action,customerId\nremove,20\n"), client.UploadOptions{}); sweep.ErrorCode(err) != sweep.EBUSY {
		t.Errorf("an upload while another holds the tenant's transfer: %v; want %s", err, sweep.EBUSY)
	}
	pw.CloseWithError(io.ErrUnexpectedEOF)
	if err := <-held; err == nil {
		t.Error("an upload cut short was accepted")
	}
}

// An answer that is not sweep's JSON, from a proxy in front of it, takes the
// code of its status.
func TestClientErrorsWithoutAnErrorBody(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		status int
		body   string
		want   string
	}{
		{http.StatusBadGateway, "<html><body>502 Bad Gateway</body></html>", sweep.EUNAVAILABLE},
		{http.StatusGatewayTimeout, "", sweep.EUNAVAILABLE},
		{http.StatusServiceUnavailable, `{"status":"unavailable"}`, sweep.EUNAVAILABLE},
		{http.StatusInternalServerError, "oops", sweep.EINTERNAL},
		{http.StatusNotFound, "404 page not found", sweep.ENOTFOUND},
		{http.StatusTooManyRequests, "slow down", sweep.EBUSY},
		{http.StatusUnprocessableEntity, "{}", sweep.EKEYREUSED},
		{http.StatusTeapot, "", sweep.EINTERNAL},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(tt.status)
			io.WriteString(w, tt.body)
		}))
		_, err := client.New(srv.URL, "t").Import(context.Background(), 1)
		srv.Close()
		var se *sweep.Error
		if !errors.As(err, &se) || se.Code != tt.want || !strings.Contains(se.Message, "/v1/imports/1") {
			t.Errorf("%d %q: %#v; want a *sweep.Error with code %s naming the request", tt.status, tt.body, err, tt.want)
		}
		if got := wire.FromErrorStatusCode(tt.status); got != tt.want {
			t.Errorf("FromErrorStatusCode(%d) = %s; want %s", tt.status, got, tt.want)
		}
	}
}

// What goes on the wire: Start sends a JSON body only with an option, an
// upload sends its options before the file, and the token and idempotency
// key go in their headers.
func TestClientRequests(t *testing.T) {
	t.Parallel()
	type seen struct {
		Method, Path, ContentType, Auth, Key, Body string
		Parts                                      []string
	}
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := seen{Method: r.Method, Path: r.URL.RequestURI(), ContentType: r.Header.Get("Content-Type"),
			Auth: r.Header.Get("Authorization"), Key: r.Header.Get("Idempotency-Key")}
		if mr, err := r.MultipartReader(); err == nil {
			for p, err := mr.NextPart(); err == nil; p, err = mr.NextPart() {
				b, _ := io.ReadAll(p)
				s.Parts = append(s.Parts, p.FormName()+"="+string(b))
			}
		} else {
			b, _ := io.ReadAll(r.Body)
			s.Body = string(b)
		}
		if s.ContentType != "" && strings.HasPrefix(s.ContentType, "multipart/form-data") {
			s.ContentType = "multipart/form-data"
		}
		got = append(got, s)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(wire.Import{ID: 4, Status: sweep.StatusQueued})
	}))
	defer srv.Close()
	c := client.New(srv.URL, "tok")
	ctx := context.Background()
	runAt := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
	calls := []func() error{
		func() error { _, err := c.Start(ctx, 4, client.StartOptions{}); return err },
		func() error { _, err := c.Start(ctx, 4, client.StartOptions{Parallelism: 2}); return err },
		func() error { _, err := c.Start(ctx, 4, client.StartOptions{RunAt: runAt}); return err },
		func() error {
			_, err := c.Upload(ctx, "a.csv", strings.NewReader("action,customerId\n"),
				client.UploadOptions{Policy: sweep.PolicyFile, AutoStart: true, RunAt: runAt, IdempotencyKey: "k1"})
			return err
		},
		func() error { _, err := c.Imports(ctx, client.ListOptions{Limit: 5, Before: 9}); return err },
	}
	for i, call := range calls {
		if err := call(); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	want := []seen{
		{Method: "POST", Path: "/v1/imports/4/start", Auth: "Bearer tok"},
		{Method: "POST", Path: "/v1/imports/4/start", Auth: "Bearer tok", ContentType: "application/json", Body: `{"parallelism":2}`},
		{Method: "POST", Path: "/v1/imports/4/start", Auth: "Bearer tok", ContentType: "application/json", Body: `{"run_at":"2026-12-01T02:00:00Z"}`},
		{Method: "POST", Path: "/v1/imports", Auth: "Bearer tok", ContentType: "multipart/form-data", Key: "k1",
			Parts: []string{"policy=file", "auto_start=true", "run_at=2026-12-01T02:00:00Z", "file=action,customerId\n"}},
		{Method: "GET", Path: "/v1/imports?before=9&limit=5", Auth: "Bearer tok"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

// firstRead closes seen when its reader is first read.
type firstRead struct {
	r    io.Reader
	seen chan struct{}
	once sync.Once
}

func (f *firstRead) Read(p []byte) (int, error) {
	f.once.Do(func() { close(f.seen) })
	return f.r.Read(p)
}
