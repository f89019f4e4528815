package uploader_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/devdata"
	"github.com/sweephq/sweep/uploader"
)

// waitFinal polls the import until it reaches a state no worker changes.
func (a *api) waitFinal(id any) map[string]any {
	a.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, _, body := a.request("GET", fmt.Sprintf("/v1/imports/%v", id), nil)
		m := decode(a.t, body)
		switch m["status"] {
		case "completed", "completed_with_errors", "cancelled", "failed", "rejected":
			return m
		case "validated":
			if m["auto_start"] != true {
				return m
			}
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("import %v still %v after 60s", id, m["status"])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (a *api) count(q string, args ...any) int {
	a.t.Helper()
	var n int
	if err := a.db.SQL().Get(&n, q, args...); err != nil {
		a.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// The whole flow through the API: upload, validate, start, completed; then
// every related table, the loans, the audit and the counts, row by row.
func TestUploadValidateStartCompleted(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	a.db.AuditRelatedCounts = true // the worker shares this pool
	loans := a.count(`SELECT count(*) FROM loans`)
	otherTenant := a.count(`SELECT count(*) FROM customers WHERE tenant_id <> $1`, tenant)
	_, imp := a.upload("action,customerId\nremove,5\nremove,6\nremove,7\nremove,oops\nremove,8\n")
	got := a.waitStatus(imp["id"])
	if got["status"] != "validated" || got["valid_rows"] != 3.0 {
		t.Fatalf("validated %v with %v valid rows", got["status"], got["valid_rows"])
	}
	code, _, body := a.request("POST", fmt.Sprintf("/v1/imports/%v/start", imp["id"]), nil)
	if code != http.StatusAccepted || decode(t, body)["status"] != "queued" {
		t.Fatalf("start = %d %s", code, body)
	}
	final := a.waitFinal(imp["id"])
	want := map[string]any{"status": "completed_with_errors", "processed_rows": 3.0, "deleted_rows": 3.0,
		"skipped_rows": 0.0, "error_rows": 2.0, "percent": 100.0, "rows_left": 0.0}
	for k, v := range want {
		if final[k] != v {
			t.Errorf("%s = %v, want %v", k, final[k], v)
		}
	}
	if final["started_at"] == nil || final["finished_at"] == nil {
		t.Errorf("started_at %v, finished_at %v", final["started_at"], final["finished_at"])
	}
	for _, c := range []int{5, 6, 8} {
		if n := a.count(`SELECT count(*) FROM customers WHERE tenant_id = $1 AND id = $2`, tenant, c); n != 0 {
			t.Errorf("customer %d still exists", c)
		}
		for _, table := range devdata.RelatedTables {
			if n := a.count(fmt.Sprintf(`SELECT count(*) FROM %s WHERE tenant_id = $1 AND customer_id = $2`, table), tenant, c); n != 0 {
				t.Errorf("%s keeps %d rows of customer %d", table, n, c)
			}
		}
		var related map[string]int
		var raw []byte
		if err := a.db.SQL().Get(&raw, `SELECT related_rows FROM deletion_audit WHERE tenant_id = $1 AND customer_id = $2 AND import_id = $3`, tenant, c, imp["id"]); err != nil {
			t.Fatalf("audit of customer %d: %v", c, err)
		}
		if err := json.Unmarshal(raw, &related); err != nil {
			t.Fatalf("audit of customer %d: %v", c, err)
		}
		if related["public.customer_phones deleted"] != 2 || related["public.customer_addresses deleted"] != 1 || len(related) != len(devdata.RelatedTables) {
			t.Errorf("audit of customer %d counts %v, want every kind (2 phones, 1 address, ...)", c, related)
		}
	}
	if n := a.count(`SELECT count(*) FROM customers WHERE tenant_id = $1 AND id = 7`, tenant); n != 1 {
		t.Error("customer 7, linked to a loan, was deleted")
	}
	if n := a.count(`SELECT count(*) FROM loans`); n != loans {
		t.Errorf("loans = %d, want %d untouched", n, loans)
	}
	if n := a.count(`SELECT count(*) FROM customers WHERE tenant_id <> $1`, tenant); n != otherTenant {
		t.Errorf("other tenants' customers = %d, want %d", n, otherTenant)
	}
	if n := a.count(`SELECT count(*) FROM deletion_audit WHERE tenant_id = $1`, tenant); n != 3 {
		t.Errorf("audit rows = %d, want 3", n)
	}
	// The audit holds ids and counts, never personal data.
	if n := a.count(`SELECT count(*) FROM deletion_audit a WHERE a::text ~* '(Olivia|Smith|example\.com|Main St)'`); n != 0 {
		t.Errorf("%d audit rows hold personal data", n)
	}

	code, _, body = a.request("GET", fmt.Sprintf("/v1/imports/%v/results", imp["id"]), nil)
	wantCSV := "line,customerId,outcome,detail\n2,5,deleted,\n3,6,deleted,\n" +
		"4,7,error,\"Customer 7 is linked to a loan, and loans are never deleted. Unlink the customer from the loan first, then validate this import again.\"\n" +
		"5,oops,error,\"customerId must be a whole number such as 1042; found \"\"oops\"\".\"\n6,8,deleted,\n"
	if diff := cmp.Diff(wantCSV, string(body)); code != http.StatusOK || diff != "" {
		t.Errorf("results = %d (-want +got):\n%s", code, diff)
	}
	// Starting twice is a conflict naming the state.
	code, _, body = a.request("POST", fmt.Sprintf("/v1/imports/%v/start", imp["id"]), nil)
	if code != http.StatusConflict || !strings.Contains(string(body), "completed_with_errors") {
		t.Errorf("second start = %d %s", code, body)
	}
}

// Two imports holding the same customer delete it once; the later one reports
// the row as already deleted.
func TestTwoImportsSameCustomer(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	_, i1 := a.upload("action,customerId\nremove,10\nremove,11\n")
	_, i2 := a.upload("action,customerId\nremove,11\nremove,12\n")
	a.waitStatus(i1["id"])
	a.waitStatus(i2["id"])
	a.request("POST", fmt.Sprintf("/v1/imports/%v/start", i1["id"]), nil)
	a.waitFinal(i1["id"])
	a.request("POST", fmt.Sprintf("/v1/imports/%v/start", i2["id"]), nil)
	f2 := a.waitFinal(i2["id"])
	if f2["status"] != "completed_with_errors" || f2["deleted_rows"] != 1.0 || f2["skipped_rows"] != 1.0 {
		t.Errorf("second import: %v deleted %v skipped %v", f2["status"], f2["deleted_rows"], f2["skipped_rows"])
	}
	_, _, body := a.request("GET", fmt.Sprintf("/v1/imports/%v/results", i2["id"]), nil)
	if !strings.Contains(string(body), "2,11,skipped_already_deleted,") {
		t.Errorf("results:\n%s", body)
	}
	if n := a.count(`SELECT count(*) FROM deletion_audit WHERE tenant_id = $1 AND customer_id = 11`, tenant); n != 1 {
		t.Errorf("customer 11 audited %d times, want once", n)
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	// A queued import, scheduled for later, never starts once cancelled.
	_, imp := a.upload("action,customerId\nremove,20\n")
	a.waitStatus(imp["id"])
	later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	code, _, body := a.request("POST", fmt.Sprintf("/v1/imports/%v/start", imp["id"]), strings.NewReader(`{"run_at":"`+later+`"}`),
		"Content-Type", "application/json")
	q := decode(t, body)
	if code != http.StatusAccepted || q["status"] != "queued" || q["run_at"] == nil {
		t.Fatalf("scheduled start = %d %s", code, body)
	}
	code, _, body = a.request("POST", fmt.Sprintf("/v1/imports/%v/cancel", imp["id"]), nil)
	c := decode(t, body)
	if code != http.StatusAccepted || c["status"] != "cancelled" || !strings.Contains(fmt.Sprint(c["error"]), "nothing was deleted") {
		t.Errorf("cancel queued = %d %s", code, body)
	}
	if n := a.count(`SELECT count(*) FROM customers WHERE tenant_id = $1 AND id = 20`, tenant); n != 1 {
		t.Error("a cancelled import deleted its customer")
	}
	code, _, _ = a.request("POST", fmt.Sprintf("/v1/imports/%v/cancel", imp["id"]), nil)
	if code != http.StatusConflict {
		t.Errorf("cancel twice = %d, want 409", code)
	}
	// Deleting it is allowed now.
	if code, _, _ := a.request("DELETE", fmt.Sprintf("/v1/imports/%v", imp["id"]), nil); code != http.StatusNoContent {
		t.Errorf("delete cancelled import = %d", code)
	}
}

func TestDeleteOneCustomer(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	ctx := context.Background()
	token, tokenID, _ := a.db.CreateToken(ctx, tenant, "crm", []sweep.Scope{sweep.ScopeCustomersDelete})
	auth := "Bearer " + token

	code, _, body := a.request("DELETE", "/v1/customers/30", nil, "Authorization", auth)
	if code != http.StatusNoContent || len(body) != 0 {
		t.Fatalf("delete = %d %s", code, body)
	}
	if n := a.count(`SELECT count(*) FROM customer_phones WHERE tenant_id = $1 AND customer_id = 30`, tenant); n != 0 {
		t.Errorf("phones of the deleted customer: %d", n)
	}
	if n := a.count(`SELECT count(*) FROM deletion_audit WHERE tenant_id = $1 AND customer_id = 30 AND api_token_id = $2 AND source = 'api'
		AND related_rows = '{"public.customer_notes deleted": 1, "public.customer_emails deleted": 1, "public.customer_phones deleted": 2, "public.customer_addresses deleted": 1, "public.customer_documents deleted": 1, "public.customer_employers deleted": 1, "public.customer_references deleted": 2, "public.customer_credit_scores deleted": 1, "public.customer_social_profiles deleted": 1, "public.customer_payment_accounts deleted": 1, "public.customer_custom_field_values deleted": 1}'`, tenant, tokenID); n != 1 {
		t.Errorf("audit rows naming the token with every kind counted: %d, want 1", n)
	}
	code, _, body = a.request("DELETE", "/v1/customers/30", nil, "Authorization", auth)
	if code != http.StatusNotFound {
		t.Errorf("delete again = %d %s", code, body)
	}
	code, _, body = a.request("DELETE", "/v1/customers/7", nil, "Authorization", auth)
	e := decode(t, body)["error"].(map[string]any)
	if code != http.StatusConflict || e["code"] != "linked_to_loan" || e["message"] != "Customer 7 is linked to a loan, and loans are never deleted. Unlink the customer from the loan first, then delete the customer again." {
		t.Errorf("delete linked = %d %s", code, body)
	}
	// The import token has no customers:delete scope.
	if code, _, _ := a.request("DELETE", "/v1/customers/31", nil); code != http.StatusForbidden {
		t.Errorf("without the scope = %d, want 403", code)
	}

	// The platform's own path shape.
	path := "/api/public/api/1/odata.svc/Customers(31)"
	code, _, body = a.request("DELETE", path, nil, "Authorization", auth, "Autopal-Instance-Id", fmt.Sprint(tenant))
	if code != http.StatusNoContent {
		t.Errorf("odata delete = %d %s", code, body)
	}
	code, _, _ = a.request("DELETE", path, nil, "Authorization", auth, "Autopal-Instance-Id", "42")
	if code != http.StatusForbidden {
		t.Errorf("odata delete for another instance = %d, want 403", code)
	}
	code, _, _ = a.request("DELETE", path, nil, "Authorization", auth)
	if code != http.StatusBadRequest {
		t.Errorf("odata delete without the instance header = %d, want 400", code)
	}
}
