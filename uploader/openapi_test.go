package uploader_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/uploader"
	"github.com/sweephq/sweep/wire"
)

func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(uploader.OpenAPI())
	if err != nil {
		t.Fatalf("load the OpenAPI document: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the OpenAPI document is not valid: %v", err)
	}
	return doc
}

func TestOpenAPIDocumentIsValid3_0(t *testing.T) {
	doc := loadOpenAPI(t)
	if !strings.HasPrefix(doc.OpenAPI, "3.0.") {
		t.Errorf("openapi = %q, want 3.0.x (clients and generators of 3.0 must read it)", doc.OpenAPI)
	}
	ids := map[string]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			if op.OperationID == "" || op.Summary == "" || len(op.Tags) == 0 {
				t.Errorf("%s: operationId, summary and tags are required", where)
			}
			if prev, ok := ids[op.OperationID]; ok {
				t.Errorf("%s: operationId %q is also %s's", where, op.OperationID, prev)
			}
			ids[op.OperationID] = where
			// An operation that takes a token says which scope, and answers
			// 401 and 403; one that takes none says so with security: [].
			scope, _ := op.Extensions["x-sweep-scope"].(string)
			switch {
			case op.Security == nil:
				t.Errorf("%s: no security: give [] for an operation without a token, or bearerAuth", where)
			case len(*op.Security) == 0 && scope != "":
				t.Errorf("%s: x-sweep-scope %q on an operation without a token", where, scope)
			case len(*op.Security) > 0:
				if !slices.Contains(sweep.Scopes, sweep.Scope(scope)) {
					t.Errorf("x-sweep-scope of %s = %q, want one of %v", where, scope, sweep.Scopes)
				}
				if !strings.Contains(op.Description, "`"+scope+"`") {
					t.Errorf("%s: the description does not name its scope %s", where, scope)
				}
				for _, code := range []int{401, 403, 429} {
					if op.Responses.Status(code) == nil {
						t.Errorf("%s: takes a token but does not document %d", where, code)
					}
				}
			}
		}
	}
}

// pathParam matches a {name} in a route pattern or a document's path.
var pathParam = regexp.MustCompile(`\{[^}]*\}`)

// TestOpenAPIDocumentHasEveryRoute holds the routes the server registers
// against the document's paths, both ways: a route the document lacks, or a
// path no route serves, fails.
func TestOpenAPIDocumentHasEveryRoute(t *testing.T) {
	doc := loadOpenAPI(t)
	// Patterns whose operation the document writes another way.
	aliases := map[string]string{
		// A subtree pattern: its handler reads Customers(<id>) itself.
		"DELETE /api/public/api/1/odata.svc/": "DELETE /api/public/api/1/odata.svc/Customers({})",
		"GET /{$}":                            "GET /",
	}
	excluded := testenv.ExcludedRoutes()

	var routes []string
	for _, pattern := range uploader.NewServer(uploader.Options{API: true}).Routes() {
		if reason := excluded[pattern]; reason != "" {
			t.Logf("not in the document, on purpose: %s (%s)", pattern, reason)
			continue
		}
		if !strings.Contains(pattern, " ") {
			t.Errorf("route %q has no method: give it one, or list it in testenv.ExcludedRoutes with the reason", pattern)
			continue
		}
		if a, ok := aliases[pattern]; ok {
			pattern = a
		}
		routes = append(routes, pathParam.ReplaceAllString(pattern, "{}"))
	}
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+pathParam.ReplaceAllString(path, "{}"))
		}
	}
	slices.Sort(routes)
	slices.Sort(documented)
	if diff := cmp.Diff(documented, routes); diff != "" {
		t.Errorf("routes of the server (+) and operations of uploader/openapi.json (-) differ:\n%s", diff)
	}
}

// TestOpenAPIExcludedRoutesExist keeps the exclusions honest: each names a
// route the server registers.
func TestOpenAPIExcludedRoutesExist(t *testing.T) {
	routes := uploader.NewServer(uploader.Options{API: true}).Routes()
	for pattern := range testenv.ExcludedRoutes() {
		if !slices.Contains(routes, pattern) {
			t.Errorf("testenv.ExcludedRoutes names %q, which the server does not register", pattern)
		}
	}
}

// TestOpenAPIOnlyWithTheAPI: a process without the api role serves only the
// routes every process has, all documented.
func TestOpenAPIOnlyWithTheAPI(t *testing.T) {
	got := uploader.NewServer(uploader.Options{}).Routes()
	want := []string{"GET /healthz", "GET /readyz", "GET /metrics"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("routes without the API (-want +got):\n%s", diff)
	}
}

func TestServeOpenAPI(t *testing.T) {
	srv := httptest.NewServer(testenv.Contract(t, uploader.NewServer(uploader.Options{API: true})))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/openapi.json") // no token
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /openapi.json = %d %q, want 200 application/json", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if !bytes.Equal(b, uploader.OpenAPI()) {
		t.Errorf("GET /openapi.json served %d bytes that are not the embedded document", len(b))
	}
	var doc struct {
		OpenAPI string `json:"openapi"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || doc.OpenAPI != "3.0.3" {
		t.Errorf("served document: openapi %q, err %v", doc.OpenAPI, err)
	}
}

// TestOpenAPIEnumsFollowTheDomain keeps the document's enumerations equal to
// the domain's lists.
func TestOpenAPIEnumsFollowTheDomain(t *testing.T) {
	doc := loadOpenAPI(t)
	enum := func(name string) []string {
		s := doc.Components.Schemas[name]
		if s == nil {
			t.Fatalf("no schema %s", name)
		}
		var out []string
		for _, v := range s.Value.Enum {
			out = append(out, v.(string))
		}
		return out
	}
	strs := func(v any) []string {
		var out []string
		b, _ := json.Marshal(v)
		json.Unmarshal(b, &out)
		return out
	}
	for _, c := range []struct {
		schema string
		want   []string
	}{
		{"ImportStatus", strs(sweep.Statuses)},
		{"Scope", strs(sweep.Scopes)},
		{"HoldReason", strs(sweep.HoldReasons)},
		{"CleanupKind", strs(sweep.CleanupKinds)},
		{"EventType", strs(sweep.EventTypes)},
		{"MessageType", append(strs(sweep.EventTypes), string(sweep.EventWebhookTest))},
		{"ImportSource", strs([]sweep.Source{sweep.SourceUpload, sweep.SourceAPI, sweep.SourceUpstream, sweep.SourceSchedule})},
		{"ValidationPolicy", strs([]sweep.Policy{sweep.PolicyLine, sweep.PolicyFile})},
		{"DeliveryStatus", strs([]sweep.DeliveryStatus{sweep.DeliveryPending, sweep.DeliverySucceeded, sweep.DeliveryFailed})},
	} {
		if diff := cmp.Diff(c.want, enum(c.schema)); diff != "" {
			t.Errorf("enum of %s (-domain +document):\n%s", c.schema, diff)
		}
	}
}

// TestOpenAPIWebhookMessages holds the webhook messages, built from the wire
// types sweep sends them with, against the document's WebhookMessage.
func TestOpenAPIWebhookMessages(t *testing.T) {
	at := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	eta := int64(12)
	imp := wire.FromImport(sweep.Import{ID: 42, Status: sweep.StatusCompletedWithErrors, Source: sweep.SourceUpload,
		Policy: sweep.PolicyLine, FileName: "customers.csv", CreatedBy: "ops", CreatedAt: at, UpdatedAt: at, FinishedAt: &at,
		ValidRows: 10, ProcessedRows: 10, DeletedRows: 9, SkippedRows: 1, ErrorRows: 2, TotalRows: 12,
		Approval: &sweep.Approval{RequestedBy: "ops", RequestedAt: at, ApprovedBy: "lead", ApprovedAt: &at}})
	imp.ETASeconds = &eta
	for _, c := range []struct {
		typ  sweep.EventType
		data any
	}{
		{sweep.EventImportCompleted, imp},
		{sweep.EventCustomerDeleted, wire.CustomerDeleted{CustomerID: 1042, DeletedAt: at, DeletedBy: "ops"}},
		{sweep.EventWebhookTest, wire.WebhookTest{WebhookID: 3, Message: "A test event from sweep."}},
	} {
		data, err := json.Marshal(c.data)
		if err != nil {
			t.Fatal(err)
		}
		body, err := json.Marshal(wire.WebhookMessage{Type: c.typ, Timestamp: at, TenantID: 5200243, Data: data})
		if err != nil {
			t.Fatal(err)
		}
		if err := testenv.ContractSchema("WebhookMessage", body); err != nil {
			t.Errorf("%s message does not match WebhookMessage: %v", c.typ, err)
		}
	}
	// And the schema is not so loose that anything passes.
	bad := []byte(`{"type":"customer.deleted","timestamp":"2026-11-26T08:00:00Z","tenant_id":1,"data":{"customer_id":1,"deleted_at":"2026-11-26T08:00:00Z","deleted_by":"ops","name":"Ann"}}`)
	if err := testenv.ContractSchema("WebhookMessage", bad); err == nil {
		t.Error("a customer.deleted message with a name passed WebhookMessage")
	}
}
