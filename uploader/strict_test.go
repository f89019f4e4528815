package uploader_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/uploader"
)

// statusOf reads an import's state from the database, not through the API.
func (a *api) statusOf(id any) sweep.Status {
	a.t.Helper()
	imp, err := a.db.GetImport(context.Background(), tenant, int64(id.(float64)))
	if err != nil {
		a.t.Fatal(err)
	}
	return imp.Status
}

// errorOf returns the code and message of an error answer.
func errorOf(t *testing.T, body []byte) (code, message string) {
	t.Helper()
	e, _ := decode(t, body)["error"].(map[string]any)
	c, _ := e["code"].(string)
	m, _ := e["message"].(string)
	return c, m
}

// Validate, pause, resume and cancel read their body as start does: none, or
// the JSON object {}; any other body is refused and the import is left as it
// was. Before, a text/plain body of garbage cancelled the import (202).
func TestStepsRefuseABodyTheyCannotRead(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	_, imp := a.upload("action,customerId\nremove,40\nremove,41\n")
	id := imp["id"]
	a.waitStatus(id)
	for _, step := range []string{"validate", "pause", "resume", "cancel"} {
		path := fmt.Sprintf("/v1/imports/%v/%s", id, step)
		for _, c := range []struct {
			name, body, contentType string
			want                    int
			code                    string
		}{
			{"text/plain garbage", "please cancel everything", "text/plain", 415, "unsupported"},
			{"JSON sent as a form (curl -d)", `{}`, "application/x-www-form-urlencoded", 415, "unsupported"},
			{"no content type", `{}`, "", 415, "unsupported"},
			{"JSON in UTF-16", `{}`, "application/json; charset=utf-16", 415, "unsupported"},
			{"an option the step does not take", `{"reason": "x"}`, "application/json", 400, "invalid"},
			{"an array", `[]`, "application/json", 400, "invalid"},
			{"null", `null`, "application/json", 400, "invalid"},
			{"trailing bytes", `{} x`, "application/json", 400, "invalid"},
			{"cut short", `{`, "application/json", 400, "invalid"},
		} {
			code, _, body := a.request("POST", path, strings.NewReader(c.body), "Content-Type", c.contentType)
			if got, msg := errorOf(t, body); code != c.want || got != c.code || !strings.Contains(msg, "nothing was done") {
				t.Errorf("%s with %s: %d %s; want %d %s saying nothing was done", step, c.name, code, body, c.want, c.code)
			}
			if s := a.statusOf(id); s != sweep.StatusValidated {
				t.Fatalf("%s with %s: import is %s; want it still validated", step, c.name, s)
			}
		}
	}
	if events, _ := a.events(id); slices.Contains(events, "cancel_requested") || slices.Contains(events, "cancelled") {
		t.Errorf("the timeline has a cancel after only refused requests: %v", events)
	}
	// The rule's other half: an empty body, or {} as JSON, is a step.
	code, _, body := a.request("POST", fmt.Sprintf("/v1/imports/%v/cancel", id), strings.NewReader(`{}`), "Content-Type", "application/json")
	if code != http.StatusAccepted || decode(t, body)["status"] != "cancelled" {
		t.Errorf("cancel with {} = %d %s; want 202 cancelled", code, body)
	}
	_, other := a.upload("action,customerId\nremove,42\n")
	a.waitStatus(other["id"])
	if code, _, body := a.request("POST", fmt.Sprintf("/v1/imports/%v/cancel", other["id"]), nil); code != http.StatusAccepted {
		t.Errorf("cancel without a body = %d %s; want 202", code, body)
	}
}

// escapeDigits writes every character of s percent-escaped: 12 is %31%32.
func escapeDigits(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "%%%02X", s[i])
	}
	return b.String()
}

// An id has one spelling: /v1/imports/%31 is not import 1 on any route, and
// a step through it does nothing. Before, GET answered the import (200).
func TestEscapedIDsNameNothing(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	_, imp := a.upload("action,customerId\nremove,5\n")
	id := fmt.Sprint(imp["id"])
	a.waitStatus(imp["id"])
	esc := escapeDigits(id)
	for _, r := range []struct{ method, path string }{
		{"GET", "/v1/imports/" + esc},
		{"GET", "/v1/imports/" + esc + "/errors"},
		{"GET", "/v1/imports/" + esc + "/results"},
		{"GET", "/v1/imports/" + esc + "/events"},
		{"GET", "/v1/imports/" + esc + "/impact"},
		{"POST", "/v1/imports/" + esc + "/cancel"},
		{"POST", "/v1/imports/" + esc + "/start"},
		{"DELETE", "/v1/imports/" + esc},
		{"GET", "/v1/imports/" + id[:len(id)-1] + escapeDigits(id[len(id)-1:])},
	} {
		code, _, body := a.request(r.method, r.path, nil)
		if c, _ := errorOf(t, body); code != http.StatusNotFound || c != "not_found" {
			t.Errorf("%s %s = %d %s; want 404 not_found", r.method, r.path, code, body)
		}
	}
	if s := a.statusOf(imp["id"]); s != sweep.StatusValidated {
		t.Errorf("import is %s after steps through an escaped id; want validated", s)
	}
	admin := a.asAdmin()
	code, p := admin.json("POST", "/v1/cleanup-policies", `{"name": "old", "kind": "inactive", "params": {"days": 365}, "cron_spec": "0 2 * * *", "max_batch": 10}`)
	if code != http.StatusCreated {
		t.Fatalf("create policy = %d %v", code, p)
	}
	if code, _, body := admin.request("GET", "/v1/cleanup-policies/"+escapeDigits(fmt.Sprint(p["id"])), nil); code != http.StatusNotFound {
		t.Errorf("GET an escaped policy id = %d %s; want 404", code, body)
	}
	deleter, _, err := a.db.CreateToken(context.Background(), tenant, "deleter", []sweep.Scope{sweep.ScopeCustomersDelete})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range [][]string{
		{"DELETE", "/v1/customers/%362"},
		{"DELETE", "/api/public/api/1/odata.svc/Customers(%362)"},
	} {
		if code, _, body := a.request(h[0], h[1], nil, "Authorization", "Bearer "+deleter, "Autopal-Instance-Id", fmt.Sprint(tenant)); code != http.StatusNotFound {
			t.Errorf("%s %s = %d %s; want 404", h[0], h[1], code, body)
		}
	}
	if n := a.count(`SELECT count(*) FROM customers WHERE tenant_id = $1 AND id = 62`, tenant); n != 1 {
		t.Error("customer 62 was deleted through an escaped id")
	}
}

// run_at is a time written one way, never null: a space around it or a null
// is refused with what to send, wherever run_at is taken, and nothing is
// stored or started. Before, " 2026-…" was taken and "run_at": null with
// auto_start started the deletion at once.
func TestRunAtIsATimeOrLeftOut(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	nextWeek := time.Now().Add(7 * 24 * time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)
	_, imp := a.upload("action,customerId\nremove,40\nremove,41\n")
	a.waitStatus(imp["id"])
	start := fmt.Sprintf("/v1/imports/%v/start", imp["id"])
	for _, c := range []struct{ name, body, says string }{
		{"null", `{"run_at": null}`, "leave run_at out to start now"},
		{"empty", `{"run_at": ""}`, "leave run_at out to start now"},
		{"a leading space", `{"run_at": " ` + nextWeek + `"}`, "without spaces"},
		{"a trailing space", `{"run_at": "` + nextWeek + ` "}`, "without spaces"},
	} {
		code, _, body := a.request("POST", start, strings.NewReader(c.body), "Content-Type", "application/json")
		if _, msg := errorOf(t, body); code != http.StatusBadRequest || !strings.Contains(msg, c.says) {
			t.Errorf("start with run_at %s = %d %s; want 400 saying %q", c.name, code, body, c.says)
		}
		if s := a.statusOf(imp["id"]); s != sweep.StatusValidated {
			t.Fatalf("start with run_at %s: import is %s; want validated", c.name, s)
		}
	}
	before, _ := a.stored()
	for _, c := range []struct{ name, body, says string }{
		{"null", `{"customer_ids": [50, 51], "auto_start": true, "run_at": null}`, "leave run_at out to start now"},
		{"a leading space", `{"customer_ids": [50, 51], "auto_start": true, "run_at": " ` + nextWeek + `"}`, "without spaces"},
	} {
		code, _, body := a.request("POST", "/v1/imports", strings.NewReader(c.body), "Content-Type", "application/json")
		if _, msg := errorOf(t, body); code != http.StatusBadRequest || !strings.Contains(msg, c.says) {
			t.Errorf("JSON import with run_at %s = %d %s; want 400 saying %q", c.name, code, body, c.says)
		}
	}
	for _, c := range []struct{ name, value, says string }{
		{"empty", "", "leave run_at out to start now"},
		{"a leading space", " " + nextWeek, "without spaces"},
		{"a trailing newline", nextWeek + "\n", "without spaces"},
	} {
		code, got := a.upload("action,customerId\nremove,52\n", "auto_start", "true", "run_at", c.value)
		if msg := fmt.Sprint(got["error"]); code != http.StatusBadRequest || !strings.Contains(msg, c.says) {
			t.Errorf("upload with run_at %s = %d %v; want 400 saying %q", c.name, code, got, c.says)
		}
	}
	if after, _ := a.stored(); after != before {
		t.Errorf("imports = %d after refused uploads; want %d", after, before)
	}
	// Nothing stored means nothing to run: every customer is there.
	if n := a.count(`SELECT count(*) FROM customers WHERE tenant_id = $1 AND id IN (40, 41, 50, 51, 52)`, tenant); n != 5 {
		t.Errorf("%d of 5 customers left after refused requests", n)
	}
}

// A JSON body in another charset than UTF-8 is refused (415) on every route
// that reads JSON, rather than read as UTF-8; charset=UTF-8 in any case is
// JSON. Before, charset=utf-16 was read as UTF-8 and acted on.
func TestJSONMustBeUTF8(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	nextWeek := time.Now().Add(7 * 24 * time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)
	_, imp := a.upload("action,customerId\nremove,40\n")
	a.waitStatus(imp["id"])
	path := fmt.Sprintf("/v1/imports/%v", imp["id"])
	before, _ := a.stored()
	for _, r := range []struct{ method, path, body string }{
		{"POST", path + "/start", `{"run_at": "` + nextWeek + `"}`},
		{"PATCH", path, `{"max_rows_per_second": 10}`},
		{"POST", "/v1/imports", `{"customer_ids": [50]}`},
	} {
		for _, charset := range []string{"utf-16", "UTF-16LE", "iso-8859-1"} {
			code, _, body := a.request(r.method, r.path, strings.NewReader(r.body), "Content-Type", "application/json; charset="+charset)
			if c, msg := errorOf(t, body); code != http.StatusUnsupportedMediaType || c != "unsupported" || !strings.Contains(msg, "UTF-8") {
				t.Errorf("%s %s as %s = %d %s; want 415 asking for UTF-8", r.method, r.path, charset, code, body)
			}
		}
	}
	if s := a.statusOf(imp["id"]); s != sweep.StatusValidated {
		t.Errorf("import is %s after refused requests; want validated", s)
	}
	if got := decode(t, func() []byte { _, _, b := a.request("GET", path, nil); return b }()); got["max_rows_per_second"] != nil {
		t.Errorf("max_rows_per_second = %v after a refused change", got["max_rows_per_second"])
	}
	if after, _ := a.stored(); after != before {
		t.Errorf("imports = %d after a refused upload; want %d", after, before)
	}
	code, _, body := a.request("POST", path+"/start", strings.NewReader(`{"run_at": "`+nextWeek+`"}`), "Content-Type", "application/json; charset=UTF-8")
	if code != http.StatusAccepted {
		t.Errorf("start with charset=UTF-8 = %d %s; want 202", code, body)
	}
}

// A query parameter is given once and only where the route takes it: twice,
// empty or unknown is refused with a sentence naming it. Before, limit=1&
// limit=2 took the first and format=xml was ignored.
func TestQueryParametersAreGivenOnce(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	_, imp := a.upload("action,customerId\nremove,5\nremove,oops\n")
	a.waitStatus(imp["id"])
	path := fmt.Sprintf("/v1/imports/%v", imp["id"])
	admin := a.asAdmin()
	code, hook := admin.json("POST", "/v1/webhooks", `{"url": "https://hooks.example.com/sweep"}`)
	if code != http.StatusCreated {
		t.Fatalf("create webhook = %d %v", code, hook)
	}
	deliveries := fmt.Sprintf("/v1/webhooks/%v/deliveries", hook["id"])
	for _, c := range []struct {
		as          *api
		path, names string
	}{
		{a, "/v1/imports?limit=1&limit=2", "limit"},
		{a, "/v1/imports?limit=", "limit"},
		{a, "/v1/imports?format=xml", "format"},
		{a, "/v1/imports?limt=5", "limt"},
		{a, path + "?format=xml", "format"},
		{a, path + "/errors?format=xml", "format"},
		{a, path + "/errors?limit=1&limit=2", "limit"},
		{a, path + "/errors?after_line=1&after_line=9", "after_line"},
		{a, path + "/errors?format=csv&limit=5", "limit"},
		{a, path + "/results?format=xml", "format"},
		{a, path + "/events?limit=1", "limit"},
		{a, path + "/impact?format=xml", "format"},
		{admin, "/v1/cleanup-policies?limit=1", "limit"},
		{admin, "/v1/webhooks?format=xml", "format"},
		{admin, deliveries + "?status=failed&status=pending", "status"},
		{admin, deliveries + "?format=xml", "format"},
	} {
		code, _, body := c.as.request("GET", c.path, nil)
		if e, msg := errorOf(t, body); code != http.StatusBadRequest || e != "invalid" || !strings.Contains(msg, c.names) {
			t.Errorf("GET %s = %d %s; want 400 naming %s", c.path, code, body, c.names)
		}
	}
	for _, p := range []string{"/v1/imports?limit=1", path + "/errors?limit=1&after_line=0", path + "/errors?format=csv", path + "/errors?format=json"} {
		if code, _, body := a.request("GET", p, nil); code != http.StatusOK {
			t.Errorf("GET %s = %d %s; want 200", p, code, body)
		}
	}
	if code, _, body := admin.request("GET", deliveries+"?status=failed&limit=5", nil); code != http.StatusOK {
		t.Errorf("GET deliveries with status and limit = %d %s; want 200", code, body)
	}
	// A step with a query string it does not take does nothing.
	if code, _, body := a.request("POST", path+"/cancel?force=true", nil); code != http.StatusBadRequest {
		t.Errorf("cancel?force=true = %d %s; want 400", code, body)
	}
	if s := a.statusOf(imp["id"]); s != sweep.StatusValidated {
		t.Errorf("import is %s after a refused cancel; want validated", s)
	}
}

// An import's actions are the steps the token reading it may take: the
// requester is never offered approve or reject (it would get 403), a token
// without imports:approve neither, and a token without imports:write no
// step of its own. Before, every reader was offered approve and reject.
func TestActionsAreWhatTheCallerMayDo(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	approver := a.approvals(1)
	// The requester holds the scope; it still may not decide its own.
	a.db.SQL().MustExec(`UPDATE api_tokens SET scopes = array_append(scopes, 'imports:approve') WHERE tenant_id = $1 AND name = 'ops'`, tenant)
	reader, _, err := a.db.CreateToken(context.Background(), tenant, "auditor", []sweep.Scope{sweep.ScopeImportsRead})
	if err != nil {
		t.Fatal(err)
	}
	_, imp := a.upload("action,customerId\nremove,60\nremove,61\n")
	a.waitStatus(imp["id"])
	path := fmt.Sprintf("/v1/imports/%v", imp["id"])
	code, _, body := a.request("POST", path+"/start", nil)
	started := decode(t, body)
	if code != http.StatusAccepted || started["status"] != "awaiting_approval" {
		t.Fatalf("start = %d %s; want awaiting_approval", code, body)
	}
	actions := func(v map[string]any) []string {
		var out []string
		for _, x := range v["actions"].([]any) {
			out = append(out, x.(string))
		}
		return out
	}
	listed := func(token string) map[string]any {
		_, _, b := a.request("GET", "/v1/imports", nil, "Authorization", "Bearer "+token)
		for _, v := range decode(t, b)["imports"].([]any) {
			if m := v.(map[string]any); m["id"] == imp["id"] {
				return m
			}
		}
		t.Fatalf("import %v not in the list", imp["id"])
		return nil
	}
	one := func(token string) map[string]any {
		_, _, b := a.request("GET", path, nil, "Authorization", "Bearer "+token)
		return decode(t, b)
	}
	for _, c := range []struct {
		who  string
		got  map[string]any
		want []string
	}{
		{"the requester's start answer", started, []string{"cancel", "delete"}},
		{"the requester, one import", one(a.token), []string{"cancel", "delete"}},
		{"the requester, the list", listed(a.token), []string{"cancel", "delete"}},
		{"the approver, one import", one(approver), []string{"approve", "reject"}},
		{"the approver, the list", listed(approver), []string{"approve", "reject"}},
		{"a reader", one(reader), nil},
	} {
		if got := actions(c.got); !slices.Equal(got, c.want) {
			t.Errorf("%s: actions %v; want %v", c.who, got, c.want)
		}
	}
	// What they are offered is what they may do.
	js := []string{"Content-Type", "application/json"}
	if code, _, b := a.request("POST", path+"/approve", strings.NewReader(`{"confirm_customers": 2}`), js...); code != http.StatusForbidden {
		t.Errorf("the requester's approval = %d %s; want 403", code, b)
	}
	code, _, body = a.request("POST", path+"/approve", strings.NewReader(`{"confirm_customers": 2}`), append(js, "Authorization", "Bearer "+approver)...)
	if got := decode(t, body); code != http.StatusAccepted || got["status"] != "queued" || len(actions(got)) != 0 {
		t.Errorf("the approver's approval = %d %s; want 202 queued offering the approver nothing (no imports:write)", code, body)
	}
}
