package uploader_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/client"
	"github.com/sweephq/sweep/uploader"
	"github.com/sweephq/sweep/wire"
)

// GET /v1/imports/{id}/impact: the impact of a validated import to a token
// with imports:read; 404 for an import that is not the tenant's, 409 for one
// that has not validated, 403 without the scope.
func TestImpactRoute(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	ctx := context.Background()
	// 5 and 6 go; 7 is linked to a loan; a repeated 5, an unknown id and a
	// bad one are skipped.
	_, imp := a.upload("action,customerId\nremove,5\nremove,6\nremove,7\nremove,5\nremove,100000\nremove,x\n")
	if got := a.waitStatus(imp["id"]); got["status"] != "validated" {
		t.Fatalf("import is %v", got["status"])
	}
	path := fmt.Sprintf("/v1/imports/%v/impact", imp["id"])
	code, _, body := a.request("GET", path, nil)
	if code != http.StatusOK {
		t.Fatalf("GET %s = %d %s", path, code, body)
	}
	var m wire.Impact
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	want := []wire.SkipCount{{Reason: "format", Rows: 1}, {Reason: "duplicate", Rows: 1}, {Reason: "not_found", Rows: 1}, {Reason: "linked_to_loan", Rows: 1}}
	if m.Customers != 2 || m.RelatedRows != 26 || len(m.Related) != 11 || m.Related[1] != (wire.RelatedCount{Kind: "public.customer_phones", Action: "deleted", Rows: 4}) ||
		m.SkippedRows != 4 || !cmp.Equal(m.Skipped, want) || !cmp.Equal(m.Sample, []int64{5, 6}) || m.EstimatedSeconds != 1 || m.Basis == "" {
		t.Errorf("impact = %s", body)
	}
	// The Go client reads the same answer.
	if got, err := client.New(a.url, a.token).Impact(ctx, int64(imp["id"].(float64))); err != nil || !cmp.Equal(got, m) {
		t.Errorf("wire.Impact = %+v, %v", got, err)
	}

	// Not the tenant's, or no such import: 404.
	otherTenant := int64(tenant + 1)
	if err := a.db.EnsureTenant(ctx, otherTenant, "other"); err != nil {
		t.Fatal(err)
	}
	otherImp, _, err := a.db.CreateImport(ctx, sweep.NewImport{TenantID: otherTenant, Source: sweep.SourceUpload, Policy: sweep.PolicyLine},
		strings.NewReader("action,customerId\nremove,5\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fmt.Sprintf("/v1/imports/%d/impact", otherImp.ID), "/v1/imports/999999999/impact", "/v1/imports/0x1/impact"} {
		if code, _, body := a.request("GET", p, nil); code != http.StatusNotFound || !strings.Contains(string(body), `"not_found"`) {
			t.Errorf("GET %s = %d %s; want 404", p, code, body)
		}
	}

	// Not validated yet (stored without its validation task): 409 naming
	// its state.
	uploaded, _, err := a.db.CreateImport(ctx, sweep.NewImport{TenantID: tenant, Source: sweep.SourceUpload, Policy: sweep.PolicyLine},
		strings.NewReader("action,customerId\nremove,8\n"))
	if err != nil {
		t.Fatal(err)
	}
	if code, _, body := a.request("GET", fmt.Sprintf("/v1/imports/%d/impact", uploaded.ID), nil); code != http.StatusConflict || !strings.Contains(string(body), "uploaded") {
		t.Errorf("impact of an uploaded import = %d %s; want 409 naming the state", code, body)
	}
	if _, err := client.New(a.url, a.token).Impact(ctx, uploaded.ID); sweep.ErrorCode(err) != sweep.ECONFLICT {
		t.Errorf("wire.Impact of an uploaded import: %v; want a conflict", err)
	}

	// Without imports:read: 403.
	writer, _, err := a.db.CreateToken(ctx, tenant, "writer", []sweep.Scope{sweep.ScopeImportsWrite})
	if err != nil {
		t.Fatal(err)
	}
	if code, _, body := a.request("GET", path, nil, "Authorization", "Bearer "+writer); code != http.StatusForbidden {
		t.Errorf("GET %s without imports:read = %d %s; want 403", path, code, body)
	}
}
