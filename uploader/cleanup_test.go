package uploader_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/uploader"
)

// asAdmin switches the api to a token with the admin scope.
func (a *api) asAdmin() *api {
	a.t.Helper()
	token, _, err := a.db.CreateToken(context.Background(), tenant, "compliance", []sweep.Scope{sweep.ScopeAdmin, sweep.ScopeImportsRead})
	if err != nil {
		a.t.Fatal(err)
	}
	b := *a
	b.token = token
	return &b
}

func (a *api) json(method, path, body string) (int, map[string]any) {
	a.t.Helper()
	code, _, b := a.request(method, path, strings.NewReader(body), "Content-Type", "application/json")
	if code == http.StatusNoContent {
		return code, nil
	}
	return code, decode(a.t, b)
}

func ints(v any) []int64 {
	var out []int64
	for _, x := range v.([]any) {
		out = append(out, int64(x.(float64)))
	}
	return out
}

// A compliance officer sets a nightly policy, previews it, runs it now: the
// batch deletes exactly the previewed customers, shows in the import history
// with source schedule, and the policy records what it found.
func TestCleanupPolicyPreviewThenRun(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{}).asAdmin()
	// Customers 10..29 and 7 (linked to a loan) have been inactive for 400
	// days; the others were active today.
	a.db.SQL().MustExec(`UPDATE customers SET last_activity_at = now() WHERE tenant_id = $1`, tenant)
	a.db.SQL().MustExec(`UPDATE customers SET last_activity_at = now() - interval '400 days'
		WHERE tenant_id = $1 AND (id BETWEEN 10 AND 29 OR id = 7)`, tenant)

	code, p := a.json("POST", "/v1/cleanup-policies",
		`{"name": "nightly inactive", "kind": "inactive", "params": {"days": 365}, "cron_spec": "0 2 * * *", "max_batch": 15}`)
	if code != http.StatusCreated || p["next_run_at"] == nil || !strings.Contains(p["description"].(string), "no activity for 365 days") {
		t.Fatalf("create = %d %v", code, p)
	}
	path := fmt.Sprintf("/v1/cleanup-policies/%v", p["id"])

	code, pv := a.json("POST", path+"/preview", "")
	want := []int64{10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24}
	if code != http.StatusOK || pv["count"] != float64(15) || !slices.Equal(ints(pv["customer_ids"]), want) {
		t.Fatalf("preview = %d %v; want 15 ids 10..24", code, pv)
	}

	code, imp := a.json("POST", path+"/run-now", "")
	if code != http.StatusAccepted || imp["source"] != "schedule" || imp["cleanup_policy_id"] != p["id"] {
		t.Fatalf("run-now = %d %v", code, imp)
	}
	done := a.waitFinal(imp["id"])
	if done["status"] != "completed" || done["deleted_rows"] != float64(15) {
		t.Fatalf("batch ended %v with %v deleted; want completed with 15", done["status"], done["deleted_rows"])
	}
	var audited []int64
	if err := a.db.SQL().Select(&audited, `SELECT customer_id FROM deletion_audit WHERE tenant_id = $1 AND import_id = $2 ORDER BY customer_id`, tenant, imp["id"]); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(audited, want) {
		t.Errorf("deleted %v, previewed %v", audited, want)
	}
	if n := a.count(`SELECT count(*) FROM customers WHERE tenant_id = $1 AND id BETWEEN 25 AND 29`, tenant); n != 5 {
		t.Errorf("customers 25..29 left = %d, want 5 (beyond max_batch)", n)
	}
	_, got := a.json("GET", path, "")
	if got["last_found"] != float64(15) || got["last_import_id"] != imp["id"] {
		t.Errorf("policy after the run: last_found %v, last_import_id %v", got["last_found"], got["last_import_id"])
	}
	_, hist := a.json("GET", fmt.Sprintf("/v1/imports?cleanup_policy_id=%v", p["id"]), "")
	if list := hist["imports"].([]any); len(list) != 1 || list[0].(map[string]any)["id"] != imp["id"] {
		t.Errorf("history of the policy = %v", hist)
	}

	// The next preview holds the rest: the 5 still inactive, never customer 7.
	_, pv = a.json("POST", path+"/preview", "")
	if !slices.Equal(ints(pv["customer_ids"]), []int64{25, 26, 27, 28, 29}) {
		t.Errorf("second preview = %v", pv["customer_ids"])
	}
}

// A dry-run batch is validated and left for review; nothing is deleted. A
// batch that finds nothing is recorded as a completed import of zero rows.
func TestCleanupDryRunAndEmptyBatch(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{}).asAdmin()
	a.db.SQL().MustExec(`UPDATE customers SET erasure_requested_at = CASE WHEN id IN (3, 4) THEN now() END WHERE tenant_id = $1`, tenant)
	_, p := a.json("POST", "/v1/cleanup-policies",
		`{"name": "erasure", "kind": "erasure_requested", "cron_spec": "@hourly", "dry_run": true}`)
	_, imp := a.json("POST", fmt.Sprintf("/v1/cleanup-policies/%v/run-now", p["id"]), "")
	done := a.waitFinal(imp["id"])
	if done["status"] != "validated" || done["valid_rows"] != float64(2) || done["auto_start"] != false {
		t.Errorf("dry-run batch = %v, %v valid, auto_start %v; want validated with 2 rows, not started", done["status"], done["valid_rows"], done["auto_start"])
	}
	if n := a.count(`SELECT count(*) FROM customers WHERE tenant_id = $1 AND id IN (3, 4)`, tenant); n != 2 {
		t.Errorf("a dry run deleted customers: %d of 2 left", n)
	}

	_, p = a.json("POST", "/v1/cleanup-policies",
		`{"name": "from import 424242", "kind": "created_by", "params": {"import_id": 424242}, "cron_spec": "0 3 * * *"}`)
	code, imp := a.json("POST", fmt.Sprintf("/v1/cleanup-policies/%v/run-now", p["id"]), "")
	if code != http.StatusAccepted || imp["status"] != "completed" || imp["total_rows"] != float64(0) {
		t.Errorf("empty batch = %d %v %v rows; want completed with 0 rows", code, imp["status"], imp["total_rows"])
	}
	_, got := a.json("GET", fmt.Sprintf("/v1/cleanup-policies/%v", p["id"]), "")
	if got["last_found"] != float64(0) || got["last_run_at"] == nil {
		t.Errorf("policy after an empty run: %v", got)
	}
}

// Policies are checked with messages that say what to fix, need the admin
// scope, and belong to one tenant.
func TestCleanupPolicyRules(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	admin := a.asAdmin()
	for _, c := range []struct{ body, want string }{
		{`{"name": "x", "kind": "everyone", "cron_spec": "@daily"}`, "kind must be one of inactive, created_by, erasure_requested"},
		{`{"name": "x", "kind": "inactive", "cron_spec": "@daily"}`, "params.days"},
		{`{"name": "x", "kind": "inactive", "params": {"days": 30}, "cron_spec": "every night"}`, "cron_spec \"every night\" is not valid"},
		{`{"name": "x", "kind": "created_by", "params": {"import_id": 4, "source": "crm"}, "cron_spec": "@daily"}`, "exactly one of"},
		{`{"name": "x", "kind": "inactive", "params": {"days": 30}, "cron_spec": "@daily", "max_batch": 0}`, "max_batch must be between 1"},
		{`{"name": "x", "kind": "inactive", "params": {"days": 30}, "cron_spec": "@daily", "where": "1=1"}`, "unknown member \"where\""},
	} {
		code, body := admin.json("POST", "/v1/cleanup-policies", c.body)
		msg := fmt.Sprint(body["error"])
		if code != http.StatusBadRequest || !strings.Contains(msg, c.want) {
			t.Errorf("POST %s = %d %s; want 400 saying %q", c.body, code, msg, c.want)
		}
	}
	code, p := admin.json("POST", "/v1/cleanup-policies", `{"name": "old", "kind": "inactive", "params": {"days": 30}, "cron_spec": "@daily"}`)
	if code != http.StatusCreated {
		t.Fatalf("create = %d %v", code, p)
	}
	if code, _ := admin.json("POST", "/v1/cleanup-policies", `{"name": "old", "kind": "inactive", "params": {"days": 9}, "cron_spec": "@daily"}`); code != http.StatusConflict {
		t.Errorf("same name twice = %d, want 409", code)
	}
	path := fmt.Sprintf("/v1/cleanup-policies/%v", p["id"])
	code, upd := admin.json("PATCH", path, `{"enabled": false, "params": {"days": 90}}`)
	if code != http.StatusOK || upd["enabled"] != false || upd["params"].(map[string]any)["days"] != float64(90) || upd["cron_spec"] != "@daily" {
		t.Errorf("patch = %d %v", code, upd)
	}
	if code, _ := a.json("GET", "/v1/cleanup-policies", ""); code != http.StatusForbidden {
		t.Errorf("without the admin scope = %d, want 403", code)
	}
	a.db.EnsureTenant(context.Background(), 77, "other")
	other, _, _ := a.db.CreateToken(context.Background(), 77, "other tenant", []sweep.Scope{sweep.ScopeAdmin})
	for _, m := range []string{"GET", "PATCH", "DELETE"} {
		code, _, _ := a.request(m, path, strings.NewReader(`{}`), "Authorization", "Bearer "+other)
		if code != http.StatusNotFound {
			t.Errorf("%s another tenant's policy = %d, want 404", m, code)
		}
	}
	if code, _, _ := a.request("POST", path+"/run-now", nil, "Authorization", "Bearer "+other); code != http.StatusNotFound {
		t.Errorf("run-now of another tenant's policy = %d, want 404", code)
	}
	if code, _ := admin.json("DELETE", path, ""); code != http.StatusNoContent {
		t.Errorf("delete = %d, want 204", code)
	}
	if code, _ := admin.json("GET", path, ""); code != http.StatusNotFound {
		t.Errorf("deleted policy = %d, want 404", code)
	}
}

// Policies are bounded so that every stored policy can be previewed and run:
// days within 100 years, max_batch within its limit, a schedule that fires at
// most once an hour and names its time zone as CRON_TZ=, and a name without
// control characters. A refused create or update stores nothing.
func TestCleanupPolicyBounds(t *testing.T) {
	t.Parallel()
	admin := newAPI(t, uploader.Limits{}).asAdmin()
	policy := func(kind, params, cron string) string {
		return fmt.Sprintf(`{"name": "bounded", "kind": %q, "params": %s, "cron_spec": %q}`, kind, params, cron)
	}
	for _, c := range []struct{ body, want string }{
		{policy("inactive", `{"days": 99999999999}`, "@daily"), "params.days between 1 and 36500"},
		{policy("inactive", `{"days": 36501}`, "@daily"), "params.days between 1 and 36500"},
		{policy("inactive", `{"days": 0}`, "@daily"), "params.days between 1 and 36500"},
		{policy("erasure_requested", `{"days": 99999999999}`, "@daily"), "params.days between 0 and 36500"},
		{policy("erasure_requested", `{"days": -1}`, "@daily"), "params.days between 0 and 36500"},
		{`{"name": "x", "kind": "inactive", "params": {"days": 30}, "cron_spec": "@daily", "max_batch": 1000001}`, "max_batch must be between 1 and 1000000"},
		{`{"name": "x\u001b[2J", "kind": "inactive", "params": {"days": 30}, "cron_spec": "@daily"}`, "name must not contain control characters"},
		{policy("inactive", `{"days": 30}`, "@every 1s"), "at most once an hour"},
		{policy("inactive", `{"days": 30}`, "@every 1ms"), "at most once an hour"},
		{policy("inactive", `{"days": 30}`, "@every 59m59s"), "at most once an hour"},
		{policy("inactive", `{"days": 30}`, "* * * * *"), "at most once an hour"},
		{policy("inactive", `{"days": 30}`, "*/5 * * * *"), "at most once an hour"},
		{policy("inactive", `{"days": 30}`, "0,30 2 * * *"), "at most once an hour"},
		{policy("inactive", `{"days": 30}`, "CRON_TZ=Europe/Berlin * 2 * * *"), "at most once an hour"},
		{policy("inactive", `{"days": 30}`, "TZ=Europe/Berlin 0 2 * * *"), "CRON_TZ=Europe/Berlin 0 2 * * *"},
		{policy("inactive", `{"days": 30}`, "TZ=UTC"), "CRON_TZ="},
		{policy("inactive", `{"days": 30}`, "CRON_TZ=UTC"), "after the time zone"},
		{policy("inactive", `{"days": 30}`, "CRON_TZ=Mars/Olympus 0 2 * * *"), "is not valid"},
	} {
		code, body := admin.json("POST", "/v1/cleanup-policies", c.body)
		msg := fmt.Sprint(body["error"])
		if code != http.StatusBadRequest || !strings.Contains(msg, c.want) {
			t.Errorf("POST %s = %d %s; want 400 saying %q", c.body, code, msg, c.want)
		}
	}
	if n := admin.count(`SELECT count(*) FROM cleanup_policies`); n != 0 {
		t.Fatalf("refused policies stored: %d", n)
	}
	for i, spec := range []string{"@hourly", "@every 1h", "@every 36h", "0 * * * *", "0 2 * * *", "CRON_TZ=Europe/Berlin 0 2 * * *", "15 */2 * * 1-5", "@weekly"} {
		code, p := admin.json("POST", "/v1/cleanup-policies", fmt.Sprintf(`{"name": "ok %d", "kind": "erasure_requested", "params": {"days": 36500}, "cron_spec": %q}`, i, spec))
		if code != http.StatusCreated {
			t.Errorf("cron_spec %q = %d %v; want 201", spec, code, p)
		}
	}

	// An update is held to the same rules, and a refused one changes nothing:
	// the policy still previews.
	code, p := admin.json("POST", "/v1/cleanup-policies", policy("inactive", `{"days": 30}`, "@daily"))
	if code != http.StatusCreated {
		t.Fatalf("create = %d %v", code, p)
	}
	path := fmt.Sprintf("/v1/cleanup-policies/%v", p["id"])
	for body, want := range map[string]string{
		`{"params": {"days": 99999999999}}`: "params.days between 1 and 36500",
		`{"cron_spec": "@every 1s"}`:        "at most once an hour",
		`{"max_batch": 2000000}`:            "max_batch must be between 1 and 1000000",
	} {
		code, got := admin.json("PATCH", path, body)
		if msg := fmt.Sprint(got["error"]); code != http.StatusBadRequest || !strings.Contains(msg, want) {
			t.Errorf("PATCH %s = %d %s; want 400 saying %q", body, code, msg, want)
		}
	}
	if code, pv := admin.json("POST", path+"/preview", ""); code != http.StatusOK {
		t.Errorf("preview after refused updates = %d %v", code, pv)
	}
	if _, got := admin.json("GET", path, ""); got["cron_spec"] != "@daily" || got["params"].(map[string]any)["days"] != float64(30) {
		t.Errorf("policy after refused updates = %v", got)
	}
}

// The policy endpoints read JSON only: a body sent as a form (what curl -d
// sends without -H 'Content-Type: application/json') or as text is refused
// with 415, and a body with bytes after the JSON object is refused with 400;
// neither stores or changes anything.
func TestCleanupPolicyBodyMustBeJSON(t *testing.T) {
	t.Parallel()
	admin := newAPI(t, uploader.Limits{}).asAdmin()
	const good = `{"name": "nightly", "kind": "inactive", "params": {"days": 30}, "cron_spec": "@daily"}`
	send := func(method, path, body string, header ...string) (int, map[string]any) {
		t.Helper()
		code, _, b := admin.request(method, path, strings.NewReader(body), append([]string{"Authorization", "Bearer " + admin.token}, header...)...)
		return code, decode(t, b)
	}
	for _, c := range []struct {
		body, contentType string
		code              int
		errCode, want     string
	}{
		{good, "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType, sweep.EUNSUPPORTED, "Content-Type: application/json"},
		{good, "text/plain", http.StatusUnsupportedMediaType, sweep.EUNSUPPORTED, "Content-Type: application/json"},
		{good, "", http.StatusUnsupportedMediaType, sweep.EUNSUPPORTED, "Content-Type: application/json"},
		{good + ` {"name": "second"}`, "application/json", http.StatusBadRequest, sweep.EINVALID, "after its JSON object"},
		{good + `x`, "application/json", http.StatusBadRequest, sweep.EINVALID, "after its JSON object"},
		{good[:40], "application/json", http.StatusBadRequest, sweep.EINVALID, "must be one JSON object"},
		{"", "application/json", http.StatusBadRequest, sweep.EINVALID, "The body is empty"},
		// A misspelt parameter is refused, never read as 0 (a grace period
		// of no days over every flagged customer).
		{`{"name": "typo", "kind": "erasure_requested", "params": {"dayz": 30}, "cron_spec": "@daily"}`, "application/json", http.StatusBadRequest, sweep.EINVALID, `unknown member "dayz"`},
		{`{"name": "typo", "kind": "inactive", "params": {"days": 30, "days": 0}, "cron_spec": "@daily"}`, "application/json", http.StatusBadRequest, sweep.EINVALID, "days is given twice"},
		{`{"name": "typo", "kind": "inactive", "params": [30], "cron_spec": "@daily"}`, "application/json", http.StatusBadRequest, sweep.EINVALID, "params must be an object"},
		{`{"name": "typo", "kind": "inactive", "params": {"days": "30"}, "cron_spec": "@daily"}`, "application/json", http.StatusBadRequest, sweep.EINVALID, "params must be an object"},
	} {
		var h []string
		if c.contentType != "" {
			h = []string{"Content-Type", c.contentType}
		}
		code, body := send("POST", "/v1/cleanup-policies", c.body, h...)
		e, _ := body["error"].(map[string]any)
		if code != c.code || e["code"] != c.errCode || !strings.Contains(fmt.Sprint(e["message"]), c.want) {
			t.Errorf("POST %.30q as %q = %d %v; want %d %s saying %q", c.body, c.contentType, code, body, c.code, c.errCode, c.want)
		}
	}
	if n := admin.count(`SELECT count(*) FROM cleanup_policies`); n != 0 {
		t.Fatalf("refused requests stored %d policies", n)
	}

	code, p := send("POST", "/v1/cleanup-policies", good, "Content-Type", "application/json; charset=utf-8")
	if code != http.StatusCreated {
		t.Fatalf("create with charset = %d %v", code, p)
	}
	path := fmt.Sprintf("/v1/cleanup-policies/%v", p["id"])
	if code, body := send("PATCH", path, `{"enabled": false}`, "Content-Type", "application/x-www-form-urlencoded"); code != http.StatusUnsupportedMediaType {
		t.Errorf("PATCH as a form = %d %v; want 415", code, body)
	}
	if code, body := send("PATCH", path, `{"enabled": false}{"dry_run": true}`, "Content-Type", "application/json"); code != http.StatusBadRequest {
		t.Errorf("PATCH with trailing bytes = %d %v; want 400", code, body)
	}
	if _, got := send("GET", path, ""); got["enabled"] != true || got["dry_run"] != false {
		t.Errorf("policy after refused updates = %v; want it unchanged", got)
	}
}
