package uploader_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/devdata"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/lifecycle"
	"github.com/sweephq/sweep/store"
	"github.com/sweephq/sweep/uploader"
)

// rawMultipart builds a multipart body by hand, parts in the order given
// (name, value; a name "file" is sent as a file part), with or without its
// closing boundary.
func rawMultipart(closed bool, parts ...string) (body, contentType string) {
	const boundary = "sweepboundary"
	var b strings.Builder
	for i := 0; i+1 < len(parts); i += 2 {
		b.WriteString("--" + boundary + "\r\n")
		if parts[i] == "file" {
			b.WriteString(`Content-Disposition: form-data; name="file"; filename="n.csv"` + "\r\nContent-Type: text/csv\r\n\r\n")
		} else {
			fmt.Fprintf(&b, "Content-Disposition: form-data; name=%q\r\n\r\n", parts[i])
		}
		b.WriteString(parts[i+1])
		if closed || i+2 < len(parts) {
			b.WriteString("\r\n")
		}
	}
	if closed {
		b.WriteString("--" + boundary + "--\r\n")
	}
	return b.String(), "multipart/form-data; boundary=" + boundary
}

func (a *api) stored() (imports, chunks int) {
	a.t.Helper()
	return a.count(`SELECT count(*) FROM imports`), a.count(`SELECT count(*) FROM import_files`)
}

// Any 4xx answer to an upload stores nothing, whatever the order of its parts
// and whichever part is wrong, and a retry under the same Idempotency-Key is
// a new request, not a leftover. Each of these was answered 400 yet left an
// uploaded import behind that the reconciler later validated and, with
// auto_start, ran.
func TestRefusedUploadStoresNothing(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	file := "action,customerId\nremove,30\nremove,31\n"
	cut := "action,customerId\nremove,1500\nremove,19" // the file said remove,1995
	type req struct {
		name, body, contentType string
		want                    int
	}
	mp := func(name string, want int, closed bool, parts ...string) req {
		body, ct := rawMultipart(closed, parts...)
		return req{name, body, ct, want}
	}
	js := func(name string, want int, body string) req { return req{name, body, "application/json", want} }
	cases := []req{
		mp("bad run_at after the file", 400, true, "auto_start", "true", "file", file, "run_at", "2026-12-01 02:00"),
		mp("bad policy after the file", 400, true, "file", file, "policy", "bogus"),
		mp("auto_start yes after the file", 400, true, "file", file, "auto_start", "yes"),
		mp("two file parts", 400, true, "file", file, "file", file),
		mp("a field twice", 400, true, "policy", "line", "file", file, "policy", "file"),
		mp("unknown field after the file", 400, true, "file", file, "runAt", "2026-12-01T02:00:00Z"),
		mp("run_at in year 1", 400, true, "file", file, "run_at", "0001-01-01T00:00:00Z"),
		mp("run_at in year 9999", 400, true, "file", file, "run_at", "9999-12-31T00:00:00Z"),
		mp("body cut inside a row, no closing boundary", 400, false, "file", cut),
		mp("body cut after a line break, no closing boundary", 400, false, "file", file),
		mp("options, then the file cut short", 400, false, "auto_start", "true", "file", cut),
		js("bad policy after the ids", 400, `{"auto_start":true,"customer_ids":[30,31],"policy":"bogus"}`),
		js("customer_ids twice", 400, `{"customer_ids":[30],"customer_ids":[31]}`),
		js("body cut after the array", 400, `{"auto_start":true,"customer_ids":[30,31]`),
		js("body cut inside the array", 400, `{"auto_start":true,"customer_ids":[30,3`),
		js("auto_start \"yes\" after the ids", 400, `{"customer_ids":[30,31],"auto_start":"yes"}`),
		js("auto_start 1", 400, `{"customer_ids":[30,31],"auto_start":1}`),
		js("trailing bytes after the object", 400, `{"customer_ids":[30,31]} {"customer_ids":[32]}`),
		js("trailing garbage after the object", 400, `{"customer_ids":[30,31]}x`),
		js("unknown member", 400, `{"customer_ids":[30,31],"runAt":"2026-12-01T02:00:00Z"}`),
		js("run_at not a time", 400, `{"customer_ids":[30,31],"run_at":"tomorrow"}`),
		js("run_at a number", 400, `{"customer_ids":[30,31],"run_at":1764554400}`),
		js("policy a number", 400, `{"customer_ids":[30,31],"policy":1}`),
		js("a value of 200 KB", 413, `{"customer_ids":["`+strings.Repeat("1", 200<<10)+`"]}`),
		js("an unknown member of 200 KB", 400, `{"junk":"`+strings.Repeat("x", 200<<10)+`","customer_ids":[30]}`),
		js("empty", 400, ``),
		{"plain text", file, "text/plain", 415},
		{"form-encoded", "customer_ids=30", "application/x-www-form-urlencoded", 415},
	}
	for _, c := range cases {
		code, _, body := a.request("POST", "/v1/imports", strings.NewReader(c.body),
			"Content-Type", c.contentType, "Idempotency-Key", "retry-me")
		if code != c.want {
			t.Errorf("%s: answered %d %s; want %d", c.name, code, body, c.want)
			continue
		}
		e, _ := decode(t, body)["error"].(map[string]any)
		if msg, _ := e["message"].(string); msg == "" {
			t.Errorf("%s: no message saying what to fix: %s", c.name, body)
		}
		if n, chunks := a.stored(); n != 0 || chunks != 0 {
			t.Fatalf("%s: answered %d but left %d imports and %d file chunks", c.name, code, n, chunks)
		}
	}
	// The same key, now with a good request, makes a new import.
	body, ct := rawMultipart(true, "auto_start", "false", "file", file, "policy", "line")
	code, h, b := a.request("POST", "/v1/imports", strings.NewReader(body), "Content-Type", ct, "Idempotency-Key", "retry-me")
	if code != http.StatusAccepted || h.Get("Idempotent-Replayed") != "" {
		t.Fatalf("good request after refusals = %d %s", code, b)
	}
	if got := a.waitStatus(decode(t, b)["id"]); got["status"] != "validated" || got["valid_rows"] != 2.0 {
		t.Errorf("good request = %v", got)
	}
	if n := a.count(`SELECT count(*) FROM customers WHERE tenant_id = $1`, tenant); n != 100 {
		t.Errorf("customers = %d, want 100: nothing may be deleted", n)
	}
}

// POST /start with a body it cannot read refuses (415) instead of starting
// now without it: curl -d sends form encoding unless told otherwise.
func TestStartRefusesABodyItCannotRead(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	_, imp := a.upload("action,customerId\nremove,40\nremove,41\n")
	id := imp["id"]
	a.waitStatus(id)
	path := fmt.Sprintf("/v1/imports/%v/start", id)
	nextWeek := time.Now().Add(7 * 24 * time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)
	for _, c := range []struct {
		name, body, contentType string
		want                    int
	}{
		{"form-encoded JSON (curl -d)", `{"run_at":"` + nextWeek + `"}`, "application/x-www-form-urlencoded", 415},
		{"no content type", `{"run_at":"` + nextWeek + `"}`, "", 415},
		{"text/plain", `{"run_at":"` + nextWeek + `"}`, "text/plain", 415},
		{"unknown member", `{"runAt":"` + nextWeek + `"}`, "application/json", 400},
		{"trailing bytes", `{"run_at":"` + nextWeek + `"} x`, "application/json", 400},
		{"cut short", `{"run_at":"` + nextWeek, "application/json", 400},
		{"run_at in year 9999", `{"run_at":"9999-01-01T00:00:00Z"}`, "application/json", 400},
		{"parallelism 0", `{"parallelism":0}`, "application/json", 400},
		{"parallelism as a string", `{"parallelism":"2"}`, "application/json", 400},
		{"run_at twice, then null", `{"run_at":"` + nextWeek + `","run_at":null}`, "application/json", 400},
		{"run_at and RUN_AT", `{"run_at":"` + nextWeek + `","RUN_AT":"` + time.Now().UTC().Format(time.RFC3339) + `"}`, "application/json", 400},
		{"null", `null`, "application/json", 400},
	} {
		req, _ := http.NewRequest("POST", a.url+path, strings.NewReader(c.body))
		if c.contentType != "" {
			req.Header.Set("Content-Type", c.contentType)
		}
		code, _, body := a.do(req)
		if code != c.want {
			t.Errorf("%s: %d %s; want %d", c.name, code, body, c.want)
		}
		if c.want == 415 && !strings.Contains(string(body), "application/json") {
			t.Errorf("%s: %s should say to send Content-Type: application/json", c.name, body)
		}
		if got, _ := a.db.GetImport(context.Background(), tenant, int64(id.(float64))); got.Status != sweep.StatusValidated {
			t.Fatalf("%s: import is %s after a refused start; want validated", c.name, got.Status)
		}
	}
	code, _, body := a.request("POST", path, strings.NewReader(`{"run_at":"`+nextWeek+`"}`), "Content-Type", "application/json; charset=utf-8")
	got := decode(t, body)
	if code != http.StatusAccepted || got["status"] != "queued" || got["run_at"] != nextWeek {
		t.Fatalf("start with run_at = %d %v; want queued at %s", code, got, nextWeek)
	}
	// Its run task waits in Redis for that time, not for now.
	tasks, err := asynq.NewInspectorFromRedisClient(a.rdb).ListScheduledTasks(jobs.QueueDefault)
	if err != nil || len(tasks) != 1 || tasks[0].Type != jobs.TypeImportRun || tasks[0].NextProcessAt.UTC().Format(time.RFC3339) != nextWeek {
		t.Errorf("scheduled tasks %v (%v); want the run task due at %s", tasks, err, nextWeek)
	}
	if n := a.count(`SELECT count(*) FROM customers WHERE tenant_id = $1 AND id IN (40, 41)`, tenant); n != 2 {
		t.Errorf("customers of an import set for next week = %d, want 2", n)
	}
}

// An Idempotency-Key binds the request it was first used with: the same
// request again is replayed (200), another request under it is 422 and makes
// nothing.
func TestIdempotencyKeyBindsItsRequest(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	send := func(body, ct string) (int, map[string]any) {
		code, _, b := a.request("POST", "/v1/imports", strings.NewReader(body), "Content-Type", ct, "Idempotency-Key", "nightly-7")
		return code, decode(t, b)
	}
	file, ct := rawMultipart(true, "file", "action,customerId\nremove,50\n", "policy", "line")
	code, first := send(file, ct)
	if code != http.StatusAccepted {
		t.Fatalf("first = %d %v", code, first)
	}
	// The same request, its options in another order, is the same request.
	same, ct2 := rawMultipart(true, "policy", "line", "file", "action,customerId\nremove,50\n")
	if code, again := send(same, ct2); code != http.StatusOK || again["id"] != first["id"] {
		t.Errorf("same request = %d %v; want 200 with import %v", code, again, first["id"])
	}
	other, ct3 := rawMultipart(true, "file", "action,customerId\nremove,51\n", "policy", "line")
	otherPolicy, ct4 := rawMultipart(true, "file", "action,customerId\nremove,50\n", "policy", "file")
	for _, c := range []struct{ name, body, ct string }{
		{"other ids", other, ct3},
		{"other policy", otherPolicy, ct4},
		{"JSON list", `{"customer_ids":[50]}`, "application/json"},
	} {
		code, got := send(c.body, c.ct)
		e, _ := got["error"].(map[string]any)
		msg, _ := e["message"].(string)
		if code != http.StatusUnprocessableEntity || e["code"] != sweep.EKEYREUSED ||
			!strings.Contains(msg, `"nightly-7"`) || !strings.Contains(msg, fmt.Sprintf("import %v", first["id"])) {
			t.Errorf("%s under the same key = %d %v; want 422 %s naming the key and import %v", c.name, code, got, sweep.EKEYREUSED, first["id"])
		}
	}
	if n, _ := a.stored(); n != 1 {
		t.Errorf("imports = %d, want 1", n)
	}
}

// Keys clients send live apart from the keys sweep makes for its cleanup
// batches: a client sending a batch's predictable key cannot stop the batch.
func TestClientKeyCannotSuppressACleanupBatch(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	ctx := context.Background()
	p, err := a.db.CreatePolicy(ctx, sweep.CleanupPolicy{TenantID: tenant, Name: "erasure", Kind: sweep.CleanupInactive,
		Params: sweep.CleanupParams{Days: 30}, CronSpec: "0 2 * * *", MaxBatch: 100, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	due := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
	code, _, b := a.request("POST", "/v1/imports", strings.NewReader(`{"customer_ids":[60]}`),
		"Content-Type", "application/json", "Idempotency-Key", store.BatchKey(p.ID, due))
	if code != http.StatusAccepted {
		t.Fatalf("client upload with the batch's key = %d %s", code, b)
	}
	claim, err := a.db.ClaimRunNow(ctx, tenant, p.ID, due, sweep.Requester{})
	if err != nil {
		t.Fatal(err)
	}
	batch, existed, err := a.db.CreateBatch(ctx, claim)
	if err != nil || existed || batch.Source != sweep.SourceSchedule || batch.ID == int64(decode(t, b)["id"].(float64)) {
		t.Fatalf("batch = %+v existed %v (%v); want a new schedule import of its own", batch, existed, err)
	}
}

// Ids in paths have one spelling: "+3", "03", "3\n" name nothing, and a
// customer id with a line feed deletes nobody.
func TestPathIDsAreStrict(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	_, imp := a.upload("action,customerId\nremove,5\n")
	a.waitStatus(imp["id"])
	if code, _, body := a.request("GET", fmt.Sprintf("/v1/imports/%v", imp["id"]), nil); code != 200 {
		t.Fatalf("canonical id = %d %s", code, body)
	}
	for _, p := range []string{"/v1/imports/+1", "/v1/imports/01", "/v1/imports/1%0A", "/v1/imports/%201", "/v1/imports/1e0"} {
		if code, _, body := a.request("GET", p, nil); code != http.StatusNotFound {
			t.Errorf("GET %s = %d %s; want 404", p, code, body)
		}
	}
	deleter, _, err := a.db.CreateToken(context.Background(), tenant, "deleter", []sweep.Scope{sweep.ScopeCustomersDelete})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/v1/customers/62%0A", "/v1/customers/062", "/v1/customers/+62", "/v1/customers/62%20"} {
		if code, _, body := a.request("DELETE", p, nil, "Authorization", "Bearer "+deleter); code != http.StatusNotFound {
			t.Errorf("DELETE %s = %d %s; want 404", p, code, body)
		}
	}
	if n := a.count(`SELECT count(*) FROM customers WHERE tenant_id = $1 AND id = 62`, tenant); n != 1 {
		t.Error("customer 62 was deleted through a path that is not its id")
	}
}

// Ten concurrent requests under one key make one import: one is answered
// 202, the others replay it with 200, and none fails.
func TestConcurrentRequestsUnderOneKeyMakeOneImport(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{TenantTransfers: 16, Transfers: 16})
	type answer struct {
		code int
		id   any
	}
	answers := make(chan answer, 10)
	for range 10 {
		go func() {
			code, _, b := a.request("POST", "/v1/imports", strings.NewReader(`{"customer_ids":[70,71,72]}`),
				"Content-Type", "application/json", "Idempotency-Key", "together")
			var id any
			if code < 300 {
				id = decode(t, b)["id"]
			}
			answers <- answer{code, id}
		}()
	}
	codes := map[int]int{}
	ids := map[any]bool{}
	for range 10 {
		ans := <-answers
		codes[ans.code]++
		ids[ans.id] = true
	}
	if codes[http.StatusAccepted] != 1 || codes[http.StatusOK] != 9 || len(ids) != 1 {
		t.Errorf("answers = %v with import ids %v; want one 202 and nine 200, all one import", codes, ids)
	}
	if n, _ := a.stored(); n != 1 {
		t.Errorf("imports = %d, want 1", n)
	}
}

// Idempotency-Key is printable ASCII, sent once; a key of spaces is refused,
// not taken as no key (which would make a retry a second import).
func TestIdempotencyKeyItself(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	for _, key := range []string{"   ", "\xff\xfe", "caf\u00e9", strings.Repeat("k", 256)} {
		req, _ := http.NewRequest("POST", a.url+"/v1/imports", strings.NewReader(`{"customer_ids":[80]}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header["Idempotency-Key"] = []string{key}
		if code, _, body := a.do(req); code != http.StatusBadRequest {
			t.Errorf("key %q = %d %s; want 400", key, code, body)
		}
	}
	if n, _ := a.stored(); n != 0 {
		t.Errorf("imports = %d, want 0", n)
	}
}

// Blank lines, which the reader skips, do not count against the row limit at
// upload.
func TestBlankLinesDoNotCountAsRows(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{MaxRows: 2})
	if code, body := a.upload("action,customerId\nremove,30\n\n  \r\nremove,31\n\n\n"); code != http.StatusAccepted {
		t.Errorf("two rows and blank lines with a limit of 2 rows = %d %v", code, body)
	}
	if code, body := a.upload("action,customerId\nremove,30\nremove,31\nremove,32\n"); code != http.StatusRequestEntityTooLarge {
		t.Errorf("three rows with a limit of 2 = %d %v", code, body)
	}
}

// An upload is answered 202 once stored, even when the queue cannot be
// reached then: the reconciler queues its validation, so a 5xx never means
// "stored after all".
func TestUploadWhileRedisIsDownIsAccepted(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	if _, err := devdata.Seed(ctx, db, devdata.SeedOptions{Tenant: tenant, Customers: 10, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	rdb, err := jobs.OpenRedis("redis://127.0.0.1:1/0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	life := lifecycle.New(db, rdb, quiet)
	srv := httptest.NewServer(testenv.Contract(t, uploader.NewServer(uploader.Options{DB: db, Redis: rdb, API: true, Logger: quiet, Lifecycle: life, Queues: life})))
	t.Cleanup(srv.Close)
	token, _, err := db.CreateToken(ctx, tenant, "ops", []sweep.Scope{sweep.ScopeImportsWrite})
	if err != nil {
		t.Fatal(err)
	}
	a := &api{t: t, db: db, url: srv.URL, token: token}
	code, _, body := a.request("POST", "/v1/imports", strings.NewReader(`{"customer_ids":[3]}`), "Content-Type", "application/json")
	if code != http.StatusAccepted {
		t.Fatalf("upload with Redis down = %d %s; want 202 (stored, queued by the reconciler)", code, body)
	}
	if got := decode(t, body); got["status"] != "uploaded" {
		t.Errorf("import = %v; want uploaded", got)
	}
}
