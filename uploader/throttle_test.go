package uploader_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/devdata"
	"github.com/sweephq/sweep/uploader"
)

// An import's run window and speed cap, at upload and later: given in any
// accepted spelling they come back in one form; a bad one is refused with
// what to fix and stores nothing; PATCH changes them until the run ends.
func TestRunSettingsThroughTheAPI(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	code, imp := a.upload("action,customerId\nremove,40\n", "run_window", "mon–fri 22:00 - 06:00 America/Denver", "max_rows_per_second", "500")
	if code != http.StatusAccepted || imp["run_window"] != "Mon-Fri 22:00-06:00 America/Denver" || imp["max_rows_per_second"] != float64(500) {
		t.Fatalf("upload with a window and a cap = %d %v", code, imp)
	}
	before := a.count(`SELECT count(*) FROM imports WHERE tenant_id = $1`, tenant)
	for _, c := range []struct {
		fields []string
		want   string
	}{
		{[]string{"run_window", "Mon-Fri 22:00-06:00"}, "zone"},
		{[]string{"run_window", "Mon-Fri 25:00-06:00 UTC"}, "25:00"},
		{[]string{"run_window", ""}, "leave it out"},
		{[]string{"max_rows_per_second", "-1"}, "max_rows_per_second"},
		{[]string{"max_rows_per_second", "fast"}, "whole number"},
		{[]string{"max_rows_per_second", "+5"}, "whole number"},
		{[]string{"max_rows_per_second", "05"}, "whole number"},
		{[]string{"max_rows_per_second", "5", "max_rows_per_second", "6"}, "twice"},
	} {
		code, got := a.upload("action,customerId\nremove,41\n", c.fields...)
		msg := fmt.Sprint(got["error"])
		if code != http.StatusBadRequest || !strings.Contains(msg, c.want) {
			t.Errorf("upload with %q = %d %s; want 400 saying %q", c.fields, code, msg, c.want)
		}
	}
	for _, body := range []string{
		`{"customer_ids": [41], "run_window": 5}`,
		`{"customer_ids": [41], "max_rows_per_second": "500"}`,
		`{"customer_ids": [41], "max_rows_per_second": 1.5}`,
	} {
		if code, _, b := a.request("POST", "/v1/imports", strings.NewReader(body), "Content-Type", "application/json"); code != http.StatusBadRequest {
			t.Errorf("POST %s = %d %s; want 400", body, code, b)
		}
	}
	if after := a.count(`SELECT count(*) FROM imports WHERE tenant_id = $1`, tenant); after != before {
		t.Errorf("refused uploads stored %d imports", after-before)
	}

	id := imp["id"]
	path := fmt.Sprintf("/v1/imports/%v", id)
	patch := func(body string, header ...string) (int, map[string]any) {
		code, _, b := a.request("PATCH", path, strings.NewReader(body), header...)
		return code, decode(t, b)
	}
	js := []string{"Content-Type", "application/json"}
	if code, got := patch(`{"max_rows_per_second": 100}`); code != http.StatusUnsupportedMediaType {
		t.Errorf("PATCH without a JSON content type = %d %v; want 415", code, got)
	}
	for _, body := range []string{``, `{}`, `{"max_rows_per_second": 100, "speed": 1}`, `{"MAX_ROWS_PER_SECOND": 100}`,
		`{"max_rows_per_second": -5}`, `{"run_window": "sometimes"}`, `{"max_rows_per_second": 100} {}`, `{"max_rows_per_second": 1`} {
		if code, got := patch(body, js...); code != http.StatusBadRequest {
			t.Errorf("PATCH %q = %d %v; want 400", body, code, got)
		}
	}
	if code, got := patch(`{"max_rows_per_second": null, "run_window": "daily 01:00-05:00 UTC"}`, js...); code != http.StatusOK ||
		got["max_rows_per_second"] != nil || got["run_window"] != "daily 01:00-05:00 UTC" {
		t.Errorf("PATCH a new window, no cap = %d %v", code, got)
	}
	if code, got := patch(`{"run_window": null}`, js...); code != http.StatusOK || got["run_window"] != nil {
		t.Errorf("PATCH the window away = %d %v", code, got)
	}
	a.waitStatus(id)
	if code, _, b := a.request("POST", path+"/cancel", nil); code != http.StatusAccepted {
		t.Fatalf("cancel = %d %s", code, b)
	}
	if code, got := patch(`{"max_rows_per_second": 100}`, js...); code != http.StatusConflict {
		t.Errorf("PATCH a cancelled import = %d %v; want 409", code, got)
	}
	if code, _, _ := a.request("PATCH", "/v1/imports/999999", strings.NewReader(`{"max_rows_per_second": 1}`), js...); code != http.StatusNotFound {
		t.Errorf("PATCH an unknown import = %d; want 404", code)
	}
}

// A manual hold of every run of a tenant: only an admin token sets or ends
// it, any token of the tenant sees it, and another tenant does not.
func TestManualHoldThroughTheAPI(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	ctx := context.Background()
	admin, _, err := a.db.CreateToken(ctx, tenant, "lead", []sweep.Scope{sweep.ScopeAdmin})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := devdata.Seed(ctx, a.db, devdata.SeedOptions{Tenant: tenant + 1, Customers: 1}); err != nil {
		t.Fatal(err)
	}
	other, _, err := a.db.CreateToken(ctx, tenant+1, "other lead", []sweep.Scope{sweep.ScopeAdmin, sweep.ScopeImportsRead})
	if err != nil {
		t.Fatal(err)
	}
	as := func(token string) []string {
		return []string{"Authorization", "Bearer " + token, "Content-Type", "application/json"}
	}
	if code, _, b := a.request("PUT", "/v1/throttle/hold", strings.NewReader(`{"reason": "x"}`), "Content-Type", "application/json"); code != http.StatusForbidden {
		t.Errorf("hold with an imports:write token = %d %s; want 403", code, b)
	}
	if code, _, b := a.request("PUT", "/v1/throttle/hold", strings.NewReader(`{"reason": "a\u001b[31m"}`), as(admin)...); code != http.StatusBadRequest {
		t.Errorf("hold with a control character in the reason = %d %s; want 400", code, b)
	}
	if code, _, b := a.request("PUT", "/v1/throttle/hold", strings.NewReader(`{"why": "x"}`), as(admin)...); code != http.StatusBadRequest {
		t.Errorf("hold with an unknown member = %d %s; want 400", code, b)
	}
	code, _, b := a.request("PUT", "/v1/throttle/hold", strings.NewReader(`{"reason": "month-end close"}`), as(admin)...)
	got := decode(t, b)
	if code != http.StatusOK || got["held"] != true || !strings.Contains(fmt.Sprint(got["manual_holds"]), "held by lead: month-end close") {
		t.Fatalf("hold = %d %v", code, got)
	}
	if _, _, b := a.request("GET", "/v1/throttle", nil); decode(t, b)["held"] != true {
		t.Errorf("the tenant's read token does not see the hold: %s", b)
	}
	if _, _, b := a.request("GET", "/v1/throttle", nil, as(other)...); decode(t, b)["held"] != false {
		t.Errorf("another tenant sees this tenant's hold: %s", b)
	}
	code, _, b = a.request("DELETE", "/v1/throttle/hold", nil, as(admin)...)
	if got := decode(t, b); code != http.StatusOK || got["held"] != false {
		t.Errorf("release = %d %v", code, got)
	}
}

// A cleanup policy's run window: set at creation in any accepted spelling,
// shown in one form, carried by the batches it makes, changed or removed by
// PATCH; a bad one is refused with what to fix.
func TestCleanupPolicyRunWindow(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{}).asAdmin()
	if code, got := a.json("POST", "/v1/cleanup-policies",
		`{"name": "weekend", "kind": "inactive", "params": {"days": 365}, "cron_spec": "0 2 * * *", "run_window": "weekends 01:00-05:00"}`); code != http.StatusBadRequest {
		t.Errorf("create with a bad window = %d %v; want 400", code, got)
	}
	code, p := a.json("POST", "/v1/cleanup-policies",
		`{"name": "weekend", "kind": "inactive", "params": {"days": 365}, "cron_spec": "0 2 * * *", "dry_run": true, "run_window": "sat , sun 01:00-05:00 Europe/Berlin"}`)
	if code != http.StatusCreated || p["run_window"] != "Sat,Sun 01:00-05:00 Europe/Berlin" {
		t.Fatalf("create with a window = %d %v", code, p)
	}
	path := fmt.Sprintf("/v1/cleanup-policies/%v", p["id"])
	code, imp := a.json("POST", path+"/run-now", "")
	if code != http.StatusAccepted || imp["run_window"] != "Sat,Sun 01:00-05:00 Europe/Berlin" {
		t.Errorf("the policy's batch = %d %v; want it to carry the policy's window", code, imp)
	}
	if code, got := a.json("PATCH", path, `{"run_window": ""}`); code != http.StatusOK || got["run_window"] != nil {
		t.Errorf("PATCH the window away = %d %v", code, got)
	}
}
