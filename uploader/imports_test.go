package uploader_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/devdata"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/store"
	"github.com/sweephq/sweep/uploader"
)

const tenant = 5200243

// api is a running sweep: the HTTP API and a worker taking tasks from a real
// Redis, over a seeded database.
type api struct {
	t     *testing.T
	db    *store.DB
	url   string
	token string
	rdb   redis.UniversalClient // the Redis the worker takes tasks from
}

func newAPI(t *testing.T, limits uploader.Limits) *api {
	t.Helper()
	return newAPIWith(t, limits, nil)
}

// newAPIWith is newAPI with the worker's and the API's metrics in reg.
func newAPIWith(t *testing.T, limits uploader.Limits, reg *prometheus.Registry) *api {
	t.Helper()
	db := testenv.DB(t)
	ctx := context.Background()
	if _, err := devdata.Seed(ctx, db, devdata.SeedOptions{Tenant: tenant, Customers: 100, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	// Customer 7 is linked to a loan; the rest are free.
	db.SQL().MustExec(`DELETE FROM loan_customers WHERE tenant_id = $1`, tenant)
	db.SQL().MustExec(`INSERT INTO loans (tenant_id, id, principal_cents) VALUES ($1, 900, 1000) ON CONFLICT DO NOTHING`, tenant)
	db.SQL().MustExec(`INSERT INTO loan_customers (tenant_id, loan_id, customer_id) VALUES ($1, 900, 7)`, tenant)
	sw := testenv.StartSweep(t, db, testenv.SweepOptions{API: true, Limits: limits, Registry: reg})
	token, _, err := db.CreateToken(ctx, tenant, "ops", []sweep.Scope{sweep.ScopeImportsRead, sweep.ScopeImportsWrite})
	if err != nil {
		t.Fatal(err)
	}
	return &api{t: t, db: db, url: sw.URL, token: token, rdb: sw.Redis}
}

func (a *api) do(req *http.Request) (int, http.Header, []byte) {
	a.t.Helper()
	if _, set := req.Header["Authorization"]; !set {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func (a *api) request(method, path string, body io.Reader, header ...string) (int, http.Header, []byte) {
	a.t.Helper()
	req, _ := http.NewRequest(method, a.url+path, body)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return a.do(req)
}

// upload posts a file the way curl -F does; fields come after the file.
func (a *api) upload(data string, fields ...string) (int, map[string]any) {
	a.t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, _ := mw.CreateFormFile("file", "customers.csv")
	fw.Write([]byte(data))
	for i := 0; i+1 < len(fields); i += 2 {
		mw.WriteField(fields[i], fields[i+1])
	}
	mw.Close()
	code, _, body := a.request("POST", "/v1/imports", &b, "Content-Type", mw.FormDataContentType())
	return code, decode(a.t, body)
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not JSON: %v: %s", err, b)
	}
	return m
}

// waitStatus polls the import until it leaves uploaded/validating.
func (a *api) waitStatus(id any) map[string]any {
	a.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, _, body := a.request("GET", fmt.Sprintf("/v1/imports/%v", id), nil)
		if code != http.StatusOK {
			a.t.Fatalf("GET import %v = %d %s", id, code, body)
		}
		m := decode(a.t, body)
		if s := m["status"]; s != "uploaded" && s != "validating" {
			return m
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("import %v still %v after 20s", id, m["status"])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const mixed = "action,customerId,name\n" +
	"remove,5,Ann\n" +
	"remove,6,Bob\n" +
	"delete,8,Cy\n" +
	"remove,12a,Di\n" +
	"remove,0005,Ed\n" +
	"\n" +
	"remove,99999,Flo\n" +
	"remove,=1+2,Gus\n" +
	"remove,7,Hal\n"

// The operator's flow: upload a file with good and bad rows, poll it to
// validated, read the errors as JSON and download the failed rows as CSV.
func TestUploadValidateAndDownloadFailedRows(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	code, imp := a.upload(mixed)
	if code != http.StatusAccepted || imp["status"] != "uploaded" || imp["file_name"] != "customers.csv" || imp["policy"] != "line" {
		t.Fatalf("upload = %d %v", code, imp)
	}
	got := a.waitStatus(imp["id"])
	for k, want := range map[string]any{"status": "validated", "total_rows": 8.0, "valid_rows": 2.0, "error_rows": 6.0} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
	if diff := cmp.Diff([]any{"start", "cancel", "delete"}, got["actions"]); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}

	code, hdr, body := a.request("GET", fmt.Sprintf("/v1/imports/%v/errors", imp["id"]), nil, "Accept", "text/csv")
	if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") {
		t.Fatalf("errors as CSV = %d %s", code, hdr.Get("Content-Type"))
	}
	wantCSV := "action,customerId,name,line,error\n" +
		"delete,8,Cy,4,\"action must be remove; found \"\"delete\"\". sweep only removes customers: write remove, or take the row out of the file.\"\n" +
		"remove,12a,Di,5,\"customerId must be a whole number such as 1042; found \"\"12a\"\".\"\n" +
		"remove,0005,Ed,6,customerId 5 already appears on line 2. Remove this repeated row.\n" +
		"remove,99999,Flo,8,\"No customer with id 99999 exists. Check the id; if the customer was already deleted, remove the row.\"\n" +
		"remove,'=1+2,Gus,9,\"customerId must be a whole number such as 1042; found \"\"=1+2\"\".\"\n" +
		"remove,7,Hal,10,\"Customer 7 is linked to a loan, and loans are never deleted. Unlink the customer from the loan first, then validate this import again.\"\n"
	if diff := cmp.Diff(wantCSV, string(body)); diff != "" {
		t.Errorf("failed rows CSV (-want +got):\n%s", diff)
	}

	code, _, body = a.request("GET", fmt.Sprintf("/v1/imports/%v/errors?limit=2", imp["id"]), nil)
	page := decode(t, body)
	errs, _ := page["errors"].([]any)
	if code != http.StatusOK || len(errs) != 2 || page["total"] != 6.0 || page["next"] != fmt.Sprintf("/v1/imports/%v/errors?limit=2&after_line=5", imp["id"]) {
		t.Errorf("errors page = %d %s", code, body)
	}
	first, _ := errs[0].(map[string]any)
	if first["line"] != 4.0 || first["column"] != "action" || first["value"] != "delete" {
		t.Errorf("first error = %v", first)
	}

	// The downloaded file, fixed, uploads as a clean import: the extra line and
	// error columns are ignored.
	fixedCSV := strings.NewReplacer("delete,8", "remove,8", "12a", "12", "remove,0005,Ed", "remove,15,Ed", "remove,99999", "remove,16", "'=1+2", "17", "remove,7,Hal", "remove,18,Hal").Replace(wantCSV)
	code, imp2 := a.upload(fixedCSV)
	if code != http.StatusAccepted {
		t.Fatalf("upload fixed file = %d %v", code, imp2)
	}
	if got := a.waitStatus(imp2["id"]); got["status"] != "validated" || got["valid_rows"] != 6.0 || got["error_rows"] != 0.0 {
		t.Errorf("fixed file: %v valid %v errors %v; want validated 6/0 (%v)", got["status"], got["valid_rows"], got["error_rows"], got["error"])
	}
}

func TestPolicyFileRejectsTheWholeFile(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	_, imp := a.upload(mixed, "policy", "file")
	got := a.waitStatus(imp["id"])
	if got["status"] != "rejected" || got["valid_rows"] != 2.0 || got["error_rows"] != 6.0 ||
		!strings.Contains(fmt.Sprint(got["error"]), "6 of 8 rows have errors and the policy is file") {
		t.Errorf("policy file: %v", got)
	}
	if diff := cmp.Diff([]any{"validate", "delete"}, got["actions"]); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
	code, _, body := a.request("POST", fmt.Sprintf("/v1/imports/%v/start", imp["id"]), nil)
	if code != http.StatusNotFound && code != http.StatusConflict {
		t.Errorf("start a rejected import = %d %s", code, body)
	}
	// Re-validation from rejected runs a new round; from validated it is a 409.
	code, _, body = a.request("POST", fmt.Sprintf("/v1/imports/%v/validate", imp["id"]), nil)
	if code != http.StatusAccepted || decode(t, body)["status"] != "validating" {
		t.Errorf("re-validate rejected = %d %s", code, body)
	}
	a.waitStatus(imp["id"])
	_, ok := a.upload("action,customerId\nremove,5\n")
	a.waitStatus(ok["id"])
	code, _, body = a.request("POST", fmt.Sprintf("/v1/imports/%v/validate", ok["id"]), nil)
	if e := decode(t, body)["error"].(map[string]any); code != http.StatusConflict || e["code"] != "conflict" || !strings.Contains(e["message"].(string), "The import is validated") {
		t.Errorf("re-validate validated = %d %s", code, body)
	}
}

func TestFileLevelRejection(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	_, imp := a.upload("action,customer_id\nremove,5\n")
	got := a.waitStatus(imp["id"])
	if got["status"] != "rejected" || !strings.Contains(fmt.Sprint(got["error"]), `there is "customer_id": rename it to customerId`) {
		t.Errorf("renamed header: %v", got)
	}
	_, _, body := a.request("GET", fmt.Sprintf("/v1/imports/%v/errors", imp["id"]), nil)
	if e := decode(t, body); e["file_error"] != got["error"] {
		t.Errorf("errors of a rejected file = %s", body)
	}
}

func TestIdempotencyKeyCreatesOneImport(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	body := `{"customer_ids": [5, 6, "7", -1]}`
	code1, h1, b1 := a.request("POST", "/v1/imports", strings.NewReader(body), "Content-Type", "application/json", "Idempotency-Key", "k-1")
	code2, h2, b2 := a.request("POST", "/v1/imports", strings.NewReader(body), "Content-Type", "application/json", "Idempotency-Key", "k-1")
	if code1 != http.StatusAccepted || code2 != http.StatusOK || h2.Get("Idempotent-Replayed") != "true" || h1.Get("Idempotent-Replayed") != "" {
		t.Fatalf("first = %d, repeat = %d %v", code1, code2, h2)
	}
	i1, i2 := decode(t, b1), decode(t, b2)
	if i1["id"] != i2["id"] || i1["source"] != "api" {
		t.Errorf("ids %v and %v, source %v; want one import from the api", i1["id"], i2["id"], i1["source"])
	}
	if n := a.count(`SELECT count(*) FROM imports WHERE tenant_id = $1`, tenant); n != 1 {
		t.Errorf("%d imports after a repeated request, want 1", n)
	}
	got := a.waitStatus(i1["id"])
	if got["valid_rows"] != 2.0 || got["error_rows"] != 2.0 {
		t.Errorf("JSON ids validated as %v valid, %v errors; want 2 and 2 (7 is linked, -1 is not an id)", got["valid_rows"], got["error_rows"])
	}
	// Another key makes another import.
	code, _, _ := a.request("POST", "/v1/imports", strings.NewReader(body), "Content-Type", "application/json", "Idempotency-Key", "k-2")
	if code != http.StatusAccepted {
		t.Errorf("new key = %d", code)
	}
}

func TestLimitsAnswer413(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{MaxUploadBytes: 1000, MaxRows: 3})
	code, body := a.upload("action,customerId\n" + strings.Repeat("remove,1\n", 200))
	e, _ := body["error"].(map[string]any)
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(fmt.Sprint(e["message"]), "larger than 1000 bytes") {
		t.Errorf("too many bytes = %d %v", code, body)
	}
	code, body = a.upload("action,customerId\nremove,1\nremove,2\nremove,3\nremove,4\n")
	e, _ = body["error"].(map[string]any)
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(fmt.Sprint(e["message"]), "at most 3 rows") {
		t.Errorf("too many rows = %d %v", code, body)
	}
	code2, _, b2 := a.request("POST", "/v1/imports", strings.NewReader(`{"customer_ids":[1,2,3,4]}`), "Content-Type", "application/json")
	if code2 != http.StatusRequestEntityTooLarge {
		t.Errorf("too many JSON ids = %d %s", code2, b2)
	}
	n, chunks := a.count(`SELECT count(*) FROM imports`), a.count(`SELECT count(*) FROM import_files`)
	if n != 0 || chunks != 0 {
		t.Errorf("refused uploads left %d imports and %d file chunks", n, chunks)
	}
	code, body = a.upload("action,customerId\nremove,1\nremove,2\nremove,3\n")
	if code != http.StatusAccepted {
		t.Errorf("a file at the limits = %d %v", code, body)
	}
}

func TestAuthAndTenantIsolation(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	_, imp := a.upload("action,customerId\nremove,5\n")
	path := fmt.Sprintf("/v1/imports/%v", imp["id"])

	code, hdr, body := a.request("GET", path, nil, "Authorization", "")
	if code != http.StatusUnauthorized || hdr.Get("WWW-Authenticate") == "" || decode(t, body)["error"].(map[string]any)["code"] != "unauthorized" {
		t.Errorf("no token = %d %s", code, body)
	}
	code, _, _ = a.request("GET", path, nil, "Authorization", "Bearer swp_not-a-token")
	if code != http.StatusUnauthorized {
		t.Errorf("bad token = %d", code)
	}
	ctx := context.Background()
	readOnly, _, _ := a.db.CreateToken(ctx, tenant, "viewer", []sweep.Scope{sweep.ScopeImportsRead})
	code, _, body = a.request("DELETE", path, nil, "Authorization", "Bearer "+readOnly)
	if code != http.StatusForbidden || !strings.Contains(string(body), "imports:write scope") {
		t.Errorf("read-only token deleting = %d %s", code, body)
	}

	// Another tenant sees nothing of this one.
	a.db.EnsureTenant(ctx, 42, "other")
	other, _, _ := a.db.CreateToken(ctx, 42, "other", []sweep.Scope{sweep.ScopeImportsRead, sweep.ScopeImportsWrite})
	for _, r := range []struct{ method, path string }{
		{"GET", path}, {"GET", path + "/errors"}, {"GET", path + "/errors?format=csv"}, {"POST", path + "/validate"}, {"DELETE", path},
	} {
		code, _, body := a.request(r.method, r.path, nil, "Authorization", "Bearer "+other)
		if code != http.StatusNotFound {
			t.Errorf("other tenant %s %s = %d %s, want 404", r.method, r.path, code, body)
		}
	}
	_, _, body = a.request("GET", "/v1/imports", nil, "Authorization", "Bearer "+other)
	if list := decode(t, body)["imports"].([]any); len(list) != 0 {
		t.Errorf("other tenant lists %d imports", len(list))
	}
	_, _, body = a.request("GET", "/v1/imports", nil)
	if list := decode(t, body)["imports"].([]any); len(list) != 1 {
		t.Errorf("own tenant lists %d imports, want 1", len(list))
	}

	// Delete: the import and its file go; a second delete is a 404.
	a.waitStatus(imp["id"])
	if code, _, body := a.request("DELETE", path, nil); code != http.StatusNoContent {
		t.Errorf("delete = %d %s", code, body)
	}
	if code, _, _ := a.request("GET", path, nil); code != http.StatusNotFound {
		t.Errorf("get after delete = %d", code)
	}
}

func TestSampleAndInstructions(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{MaxRows: 500})
	code, hdr, body := a.request("GET", "/v1/sample.csv", nil, "Authorization", "")
	if code != http.StatusOK || hdr.Get("Content-Type") != "text/csv; charset=utf-8" || string(body) != "action,customerId\nremove,1042\nremove,1043\nremove,20517\n" {
		t.Errorf("sample = %d %q", code, body)
	}
	// The sample passes the format rules it illustrates.
	fr, err := sweep.NewFileReader(bytes.NewReader(body), 0)
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	for {
		rec, err := fr.Next()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("sample after %d rows: %v", rows, err)
		}
		rows++
		if rec.Err != nil {
			t.Errorf("sample line %d: %s", rec.Line, rec.Err.Message)
		}
	}
	if rows != 3 {
		t.Errorf("the sample has %d rows, want 3", rows)
	}
	code, _, body = a.request("GET", "/v1/instructions", nil, "Authorization", "")
	ins := decode(t, body)
	if code != http.StatusOK || ins["limits"].(map[string]any)["max_rows"] != 500.0 || len(ins["rules"].([]any)) < 4 {
		t.Errorf("instructions = %d %s", code, body)
	}
}
