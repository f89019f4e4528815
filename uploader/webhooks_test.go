package uploader_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/devdata"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/uploader"
	"github.com/sweephq/sweep/wire"
	"github.com/sweephq/sweep/worker"
)

// hit is one request a receiver got.
type hit struct {
	at     time.Time
	header http.Header
	body   []byte
}

func (h hit) id() string { return h.header.Get("webhook-id") }

func (h hit) message(t *testing.T) wire.WebhookMessage {
	t.Helper()
	var m wire.WebhookMessage
	if err := json.Unmarshal(h.body, &m); err != nil {
		t.Fatalf("webhook body is not a message: %v: %s", err, h.body)
	}
	return m
}

// receiver is a webhook receiver: it records every request and answers what
// answer says for the n-th request of a webhook-id (1 for the first).
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	hits   []hit
	answer func(n int, w http.ResponseWriter)
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{t: t, answer: func(int, http.ResponseWriter) {}}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.hits = append(rc.hits, hit{at: time.Now(), header: r.Header.Clone(), body: body})
		n := 0
		for _, h := range rc.hits {
			if h.id() == r.Header.Get("webhook-id") {
				n++
			}
		}
		answer := rc.answer
		rc.mu.Unlock()
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("webhook sent as %s with Content-Type %q", r.Method, r.Header.Get("Content-Type"))
		}
		answer(n, w)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) setAnswer(f func(n int, w http.ResponseWriter)) {
	rc.mu.Lock()
	rc.answer = f
	rc.mu.Unlock()
}

func (rc *receiver) all() []hit {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]hit(nil), rc.hits...)
}

// byID returns the requests of one webhook-id, in order.
func (rc *receiver) byID(id string) []hit {
	var out []hit
	for _, h := range rc.all() {
		if h.id() == id {
			out = append(out, h)
		}
	}
	return out
}

// waitFor waits until the receiver got a message of type typ (and matching
// ok, when given) and returns its first request.
func (rc *receiver) waitFor(typ sweep.EventType, ok func(wire.WebhookMessage) bool) hit {
	rc.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, h := range rc.all() {
			if m := h.message(rc.t); m.Type == typ && (ok == nil || ok(m)) {
				return h
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	rc.t.Fatalf("no %s webhook within 30s; got %d requests", typ, len(rc.all()))
	return hit{}
}

// verify checks a request's signatures the way the Standard Webhooks
// specification says, written here from the specification rather than with
// sweep's own signer: every v1 signature is the base64 HMAC-SHA256, keyed with
// a secret's bytes, of "id.timestamp.body". It returns the secrets that
// signed, in the order of the header, and fails on a signature none made.
func verify(t *testing.T, h hit, secrets ...string) []string {
	t.Helper()
	id, ts := h.header.Get("webhook-id"), h.header.Get("webhook-timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		t.Errorf("webhook-timestamp %q is not the time of the attempt in unix seconds", ts)
	}
	var signed []string
	for _, sig := range strings.Fields(h.header.Get("webhook-signature")) {
		version, value, _ := strings.Cut(sig, ",")
		found := false
		for _, s := range secrets {
			key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
			if err != nil {
				t.Fatalf("secret %q is not whsec_ and base64", s)
			}
			mac := hmac.New(sha256.New, key)
			mac.Write([]byte(id + "." + ts + "."))
			mac.Write(h.body)
			if version == "v1" && hmac.Equal([]byte(value), []byte(base64.StdEncoding.EncodeToString(mac.Sum(nil)))) {
				signed, found = append(signed, s), true
			}
		}
		if !found {
			t.Errorf("signature %q of %s was made with none of the secrets", sig, id)
		}
	}
	// And a Standard Webhooks library accepts it with each of those secrets.
	for _, s := range signed {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(h.body, h.header); err != nil {
			t.Errorf("the standard-webhooks library refuses %s signed with a secret of the endpoint: %v", id, err)
		}
	}
	return signed
}

// hooks is an API with a token that manages webhooks and deletes customers.
type hooks struct {
	*api
	admin string
}

func newHooks(t *testing.T) *hooks {
	a := newAPI(t, uploader.Limits{})
	admin, _, err := a.db.CreateToken(context.Background(), tenant, "integrations",
		[]sweep.Scope{sweep.ScopeAdmin, sweep.ScopeCustomersDelete, sweep.ScopeImportsRead})
	if err != nil {
		t.Fatal(err)
	}
	return &hooks{api: a, admin: admin}
}

// call makes an admin request with a JSON body (nil: none) and decodes the
// answer into out (when given), failing unless it has status want.
func (h *hooks) call(method, path string, body any, want int, out any) []byte {
	h.t.Helper()
	var r io.Reader
	header := []string{"Authorization", "Bearer " + h.admin}
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
		header = append(header, "Content-Type", "application/json")
	}
	code, _, b := h.request(method, path, r, header...)
	if code != want {
		h.t.Fatalf("%s %s = %d, want %d: %s", method, path, code, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			h.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return b
}

func (h *hooks) subscribe(url string, events ...sweep.EventType) wire.Webhook {
	h.t.Helper()
	var w wire.Webhook
	h.call("POST", "/v1/webhooks", wire.NewWebhook{URL: url, Events: events}, http.StatusCreated, &w)
	if !strings.HasPrefix(w.Secret, "whsec_") {
		h.t.Fatalf("new endpoint's secret = %q, want whsec_…", w.Secret)
	}
	return w
}

// sendTest sends a webhook.test event to endpoint id and returns its delivery.
func (h *hooks) sendTest(id int64) wire.Delivery {
	h.t.Helper()
	var d wire.Delivery
	h.call("POST", fmt.Sprintf("/v1/webhooks/%d/test", id), nil, http.StatusAccepted, &d)
	return d
}

func (h *hooks) deliveries(id int64) []wire.Delivery {
	h.t.Helper()
	var l wire.DeliveryList
	h.call("GET", fmt.Sprintf("/v1/webhooks/%d/deliveries", id), nil, http.StatusOK, &l)
	return l.Deliveries
}

// An integrator subscribes an endpoint, an import runs and a customer is
// deleted: each event arrives once, signed, with the import as the API shows
// it at that moment; the delivery log says so.
func TestWebhooksThroughTheAPI(t *testing.T) {
	h := newHooks(t)
	rc := newReceiver(t)
	ep := h.subscribe(rc.srv.URL + "/hooks")
	onlyDone := newReceiver(t)
	doneEP := h.subscribe(onlyDone.srv.URL, sweep.EventImportCompleted)

	var list wire.WebhookList
	h.call("GET", "/v1/webhooks", nil, http.StatusOK, &list)
	if len(list.Webhooks) != 2 || list.Webhooks[0].Secret != "" || list.Webhooks[0].URL != rc.srv.URL+"/hooks" {
		t.Fatalf("list = %+v, want both endpoints without their secrets", list)
	}

	code, imp := h.upload("action,customerId\nremove,5\nremove,6\n", "auto_start", "true")
	if code != http.StatusAccepted {
		t.Fatalf("upload = %d %v", code, imp)
	}
	id := int64(imp["id"].(float64))
	forImport := func(m wire.WebhookMessage) bool {
		var i wire.Import
		return json.Unmarshal(m.Data, &i) == nil && i.ID == id
	}
	validated := rc.waitFor(sweep.EventImportValidated, forImport)
	completed := rc.waitFor(sweep.EventImportCompleted, forImport)
	h.call("DELETE", "/v1/customers/8", nil, http.StatusNoContent, nil)
	deleted := rc.waitFor(sweep.EventCustomerDeleted, nil)

	for _, hit := range []hit{validated, completed, deleted} {
		if got := verify(t, hit, ep.Secret); len(got) != 1 {
			t.Errorf("%s signed by %d secrets, want the endpoint's one", hit.id(), len(got))
		}
		if m := hit.message(t); m.TenantID != tenant || m.Timestamp.IsZero() {
			t.Errorf("message %+v: want tenant %d and the event's time", m, tenant)
		}
	}
	var v, c wire.Import
	json.Unmarshal(validated.message(t).Data, &v)
	json.Unmarshal(completed.message(t).Data, &c)
	// The import as it was at each event, though it ran on at once.
	if v.Status != sweep.StatusValidated || v.ValidRows != 2 || v.DeletedRows != 0 || v.Links.Self != fmt.Sprintf("/v1/imports/%d", id) {
		t.Errorf("import.validated carries %+v, want the validated import", v)
	}
	if c.Status != sweep.StatusCompleted || c.DeletedRows != 2 || !c.Settled {
		t.Errorf("import.completed carries %+v, want the completed import", c)
	}
	// What the run did, table by table, as the plan counts it.
	if len(v.ErasedRows) != 0 || c.ErasedRows["public.customers deleted"] != 2 {
		t.Errorf("erased rows: validated %v, completed %v; want none, then the two customers", v.ErasedRows, c.ErasedRows)
	}
	var cd wire.CustomerDeleted
	if err := json.Unmarshal(deleted.message(t).Data, &cd); err != nil || cd.CustomerID != 8 || cd.DeletedBy != "integrations" || cd.DeletedAt.IsZero() {
		t.Errorf("customer.deleted carries %+v (%v)", cd, err)
	}

	// The endpoint subscribed to import.completed alone gets that alone.
	// Every event of this test is recorded by now, with its deliveries: the
	// endpoint's log is all it will ever be sent.
	onlyDone.waitFor(sweep.EventImportCompleted, forImport)
	if log := settledLog(t, h, doneEP.ID); len(log) != 1 || log[0].Type != sweep.EventImportCompleted {
		t.Errorf("the import.completed endpoint's deliveries = %+v; want import.completed alone", log)
	}
	for _, hit := range onlyDone.all() {
		if typ := hit.message(t).Type; typ != sweep.EventImportCompleted {
			t.Errorf("an endpoint subscribed to import.completed got %s", typ)
		}
	}

	// Once each: every webhook-id came once, and the log agrees.
	seen := map[string]int{}
	for _, hit := range rc.all() {
		seen[hit.id()]++
	}
	// The receiver may see a delivery before the dispatcher has written its
	// answer down: read the log once nothing in it is pending.
	log := settledLog(t, h, ep.ID)
	if len(log) != len(seen) || len(log) != 3 {
		t.Fatalf("delivery log has %d entries, the receiver saw %d ids (%v); want 3", len(log), len(seen), seen)
	}
	for _, d := range log {
		if seen[d.WebhookID] != 1 || d.Status != sweep.DeliverySucceeded || d.Attempts != 1 || d.LastStatusCode != 200 || d.DeliveredAt == nil {
			t.Errorf("delivery %+v: want succeeded at the first attempt, received once (received %d times)", d, seen[d.WebhookID])
		}
	}
	if log[0].Type != sweep.EventCustomerDeleted || log[0].CustomerID != 8 || log[2].Type != sweep.EventImportValidated || log[2].ImportID != id {
		t.Errorf("log, newest first = %+v", log)
	}
}

// A receiver that answers 500 twice gets the same event again, spaced as
// configured (200 ms, then 400 ms, ±20 %), with the same webhook-id and body;
// Retry-After is honoured; a rotated secret signs beside the old one while
// that is kept.
func TestWebhookRetriesAndSecretRotation(t *testing.T) {
	h := newHooks(t)
	rc := newReceiver(t)
	ep := h.subscribe(rc.srv.URL)
	rc.setAnswer(func(n int, w http.ResponseWriter) {
		if n <= 2 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	d := h.sendTest(ep.ID)
	if d.Type != sweep.EventWebhookTest || d.Status != sweep.DeliveryPending || !strings.HasPrefix(d.WebhookID, "msg_") {
		t.Fatalf("test delivery = %+v", d)
	}
	waitDelivery(t, h, ep.ID, d.ID, func(d wire.Delivery) bool { return d.Status == sweep.DeliverySucceeded })
	hits := rc.byID(d.WebhookID)
	if len(hits) != 3 {
		t.Fatalf("%d attempts reached the receiver, want 3", len(hits))
	}
	for i, min := range []time.Duration{160 * time.Millisecond, 320 * time.Millisecond} {
		if gap := hits[i+1].at.Sub(hits[i].at); gap < min || gap > 5*time.Second {
			t.Errorf("attempt %d came %v after attempt %d; want the configured backoff (at least %v)", i+2, gap, i+1, min)
		}
	}
	for _, hit := range hits {
		verify(t, hit, ep.Secret)
		if !bytes.Equal(hit.body, hits[0].body) {
			t.Errorf("attempts carry different bodies:\n%s\n%s", hit.body, hits[0].body)
		}
	}
	final := waitDelivery(t, h, ep.ID, d.ID, func(wire.Delivery) bool { return true })
	if final.Attempts != 3 || final.LastStatusCode != 200 || final.LastError != "" {
		t.Errorf("delivery after success = %+v", final)
	}

	// Retry-After: 2 puts the next attempt 2 s later, not 200 ms.
	rc.setAnswer(func(n int, w http.ResponseWriter) {
		if n == 1 {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	d = h.sendTest(ep.ID)
	waitFailed := waitDelivery(t, h, ep.ID, d.ID, func(d wire.Delivery) bool { return d.Attempts == 1 && d.LastStatusCode == 503 })
	if !strings.Contains(waitFailed.LastError, "503") || waitFailed.NextAttemptAt == nil {
		t.Errorf("failed delivery = %+v, want the 503 and its next attempt", waitFailed)
	}
	waitDelivery(t, h, ep.ID, d.ID, func(d wire.Delivery) bool { return d.Status == sweep.DeliverySucceeded })
	if hits := rc.byID(d.WebhookID); len(hits) != 2 || hits[1].at.Sub(hits[0].at) < 2*time.Second {
		t.Errorf("after Retry-After: 2, %d attempts; want the second 2 s or more after the first", len(hits))
	}
	rc.setAnswer(func(int, http.ResponseWriter) {})

	// Rotation keeping the old secret: both sign.
	var rotated wire.Webhook
	h.call("POST", fmt.Sprintf("/v1/webhooks/%d/rotate-secret", ep.ID), map[string]string{"keep_old_for": "1h"}, http.StatusOK, &rotated)
	if rotated.Secret == ep.Secret || !strings.HasPrefix(rotated.Secret, "whsec_") || rotated.PreviousSecretExpiresAt == nil ||
		time.Until(*rotated.PreviousSecretExpiresAt) < 59*time.Minute {
		t.Fatalf("rotation = %+v", rotated)
	}
	d = h.sendTest(ep.ID)
	waitDelivery(t, h, ep.ID, d.ID, func(d wire.Delivery) bool { return d.Status == sweep.DeliverySucceeded })
	during := rc.byID(d.WebhookID)[0]
	if got := verify(t, during, ep.Secret, rotated.Secret); len(got) != 2 || got[0] != rotated.Secret || got[1] != ep.Secret {
		t.Errorf("during the rotation signed by %d known secrets, want the new one then the old one", len(got))
	}
	// Rotation dropping the old one at once: the new one alone.
	var again wire.Webhook
	h.call("POST", fmt.Sprintf("/v1/webhooks/%d/rotate-secret", ep.ID), map[string]string{"keep_old_for": "0s"}, http.StatusOK, &again)
	d = h.sendTest(ep.ID)
	waitDelivery(t, h, ep.ID, d.ID, func(d wire.Delivery) bool { return d.Status == sweep.DeliverySucceeded })
	after := rc.byID(d.WebhookID)[0]
	if got := verify(t, after, again.Secret); len(got) != 1 || len(strings.Fields(after.header.Get("webhook-signature"))) != 1 {
		t.Errorf("after a rotation without keeping the old secret: %q", after.header.Get("webhook-signature"))
	}
	if wh, _ := standardwebhooks.NewWebhook(rotated.Secret); wh.Verify(after.body, after.header) == nil {
		t.Error("the secret rotated away still verifies")
	}
	var got wire.Webhook
	h.call("GET", fmt.Sprintf("/v1/webhooks/%d", ep.ID), nil, http.StatusOK, &got)
	if got.Secret != "" || got.PreviousSecretExpiresAt != nil {
		t.Errorf("GET shows %+v; want no secret and no previous one kept", got)
	}
}

// settledLog waits until no delivery of the endpoint is pending, and returns
// its log.
func settledLog(t *testing.T, h *hooks, endpoint int64) []wire.Delivery {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		log := h.deliveries(endpoint)
		if !slices.ContainsFunc(log, func(d wire.Delivery) bool { return d.Status == sweep.DeliveryPending }) {
			return log
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries still pending after 30s: %+v", log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitDelivery(t *testing.T, h *hooks, endpoint, id int64, ok func(wire.Delivery) bool) wire.Delivery {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, d := range h.deliveries(endpoint) {
			if d.ID == id && ok(d) {
				return d
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %d not as wanted within 30s: %+v", id, h.deliveries(endpoint))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Two tenants, each with an endpoint: neither receives the other's events,
// and neither token reaches the other's endpoints.
func TestWebhooksNeverCrossTenants(t *testing.T) {
	h := newHooks(t)
	const other = 7100001
	ctx := context.Background()
	if _, err := devdata.Seed(ctx, h.db, devdata.SeedOptions{Tenant: other, Customers: 20, Seed: 9}); err != nil {
		t.Fatal(err)
	}
	h.db.SQL().MustExec(`DELETE FROM loan_customers WHERE tenant_id = $1`, other)
	otherAdmin, _, err := h.db.CreateToken(ctx, other, "other", []sweep.Scope{sweep.ScopeAdmin, sweep.ScopeCustomersDelete})
	if err != nil {
		t.Fatal(err)
	}
	mine, theirs := newReceiver(t), newReceiver(t)
	myEP := h.subscribe(mine.srv.URL)
	oh := &hooks{api: h.api, admin: otherAdmin}
	theirEP := oh.subscribe(theirs.srv.URL)

	h.call("DELETE", "/v1/customers/9", nil, http.StatusNoContent, nil)
	oh.call("DELETE", "/v1/customers/9", nil, http.StatusNoContent, nil)
	h.sendTest(myEP.ID)
	oh.sendTest(theirEP.ID)
	mine.waitFor(sweep.EventCustomerDeleted, nil)
	theirs.waitFor(sweep.EventCustomerDeleted, nil)
	mine.waitFor(sweep.EventWebhookTest, nil)
	theirs.waitFor(sweep.EventWebhookTest, nil)
	// Both tenants' events are recorded with their deliveries: once each
	// endpoint's log is delivered, its receiver got all it ever will.
	for _, ep := range []struct {
		h  *hooks
		id int64
	}{{h, myEP.ID}, {oh, theirEP.ID}} {
		if log := settledLog(t, ep.h, ep.id); len(log) != 2 {
			t.Errorf("endpoint %d's deliveries = %+v; want its tenant's 2 events", ep.id, log)
		}
	}
	for who, rc := range map[int64]*receiver{tenant: mine, other: theirs} {
		for _, hit := range rc.all() {
			if m := hit.message(t); m.TenantID != who {
				t.Errorf("tenant %d's receiver got tenant %d's %s", who, m.TenantID, m.Type)
			}
		}
		if n := len(rc.all()); n != 2 {
			t.Errorf("tenant %d's receiver got %d requests, want its 2 events", who, n)
		}
	}
	for _, req := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/v1/webhooks/%d", nil},
		{"PATCH", "/v1/webhooks/%d", map[string]bool{"enabled": false}},
		{"POST", "/v1/webhooks/%d/rotate-secret", nil},
		{"POST", "/v1/webhooks/%d/test", nil},
		{"GET", "/v1/webhooks/%d/deliveries", nil},
		{"DELETE", "/v1/webhooks/%d", nil},
	} {
		oh.call(req.method, fmt.Sprintf(req.path, myEP.ID), req.body, http.StatusNotFound, nil)
	}
	var l wire.WebhookList
	oh.call("GET", "/v1/webhooks", nil, http.StatusOK, &l)
	if len(l.Webhooks) != 1 || l.Webhooks[0].ID != theirEP.ID {
		t.Errorf("the other tenant lists %+v", l.Webhooks)
	}
	h.call("GET", fmt.Sprintf("/v1/webhooks/%d", myEP.ID), nil, http.StatusOK, nil) // untouched
}

// An endpoint failing for longer than the configured time is disabled with
// the reason shown; nothing is sent to it meanwhile; enabled again, what
// waited is sent.
func TestWebhookEndpointDisabledAfterFailing(t *testing.T) {
	db := testenv.DB(t)
	cfg := testenv.TestWebhooks()
	cfg.DisableAfter = time.Second
	sw := testenv.StartSweep(t, db, testenv.SweepOptions{API: true, Webhooks: &cfg})
	if _, err := devdata.Seed(context.Background(), db, devdata.SeedOptions{Tenant: tenant, Customers: 10, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	admin, _, err := db.CreateToken(context.Background(), tenant, "integrations", []sweep.Scope{sweep.ScopeAdmin})
	if err != nil {
		t.Fatal(err)
	}
	h := &hooks{api: &api{t: t, db: db, url: sw.URL, rdb: sw.Redis}, admin: admin}
	rc := newReceiver(t)
	rc.setAnswer(func(_ int, w http.ResponseWriter) { w.WriteHeader(http.StatusInternalServerError) })
	ep := h.subscribe(rc.srv.URL)
	d := h.sendTest(ep.ID)

	deadline := time.Now().Add(30 * time.Second)
	var got wire.Webhook
	for h.call("GET", fmt.Sprintf("/v1/webhooks/%d", ep.ID), nil, http.StatusOK, &got); got.Enabled; h.call("GET", fmt.Sprintf("/v1/webhooks/%d", ep.ID), nil, http.StatusOK, &got) {
		if time.Now().After(deadline) {
			t.Fatalf("endpoint still enabled after 30s: %+v", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(got.DisabledReason, "failed since") || !strings.Contains(got.DisabledReason, "500") || got.DisabledAt == nil {
		t.Errorf("disabled endpoint = %+v; want the reason with the last error", got)
	}
	sent := len(rc.all())
	h.call("POST", fmt.Sprintf("/v1/webhooks/%d/test", ep.ID), nil, http.StatusConflict, nil)
	// Proof that the dispatcher passed over it: once its waiting delivery is
	// due, a test sent to another endpoint of the tenant, which the
	// dispatcher takes after it, arrives.
	if log := h.deliveries(ep.ID); len(log) == 1 && log[0].NextAttemptAt != nil {
		for time.Now().Before(*log[0].NextAttemptAt) {
			time.Sleep(20 * time.Millisecond)
		}
	}
	canary := newReceiver(t)
	h.sendTest(h.subscribe(canary.srv.URL).ID)
	canary.waitFor(sweep.EventWebhookTest, nil)
	if n := len(rc.all()); n != sent {
		t.Errorf("a disabled endpoint got %d more requests", n-sent)
	}
	log := h.deliveries(ep.ID)
	if len(log) != 1 || log[0].Status != sweep.DeliveryPending || log[0].Attempts < 2 || !strings.Contains(log[0].LastError, "500") {
		t.Fatalf("log while disabled = %+v; want the delivery waiting, with its attempts and last error", log)
	}

	rc.setAnswer(func(int, http.ResponseWriter) {})
	got = wire.Webhook{} // members the answer leaves out must read as empty
	h.call("PATCH", fmt.Sprintf("/v1/webhooks/%d", ep.ID), map[string]bool{"enabled": true}, http.StatusOK, &got)
	if !got.Enabled || got.DisabledReason != "" || got.FailingSince != nil {
		t.Errorf("enabled again = %+v", got)
	}
	waitDelivery(t, h, ep.ID, d.ID, func(d wire.Delivery) bool { return d.Status == sweep.DeliverySucceeded })

	// A person disabling it is named in the reason.
	got = wire.Webhook{}
	h.call("PATCH", fmt.Sprintf("/v1/webhooks/%d", ep.ID), map[string]bool{"enabled": false}, http.StatusOK, &got)
	if got.Enabled || got.DisabledReason != "Disabled by integrations." {
		t.Errorf("disabled by a person = %+v", got)
	}
}

// Receivers are outside sweep's trust: http, private, link-local and
// metadata addresses are refused unless allowed, a name is checked at every
// connection, and a redirect is never followed.
func TestWebhookReceiversOutsideTrust(t *testing.T) {
	db := testenv.DB(t)
	strict := worker.WebhookConfig{}
	sw := testenv.StartSweep(t, db, testenv.SweepOptions{API: true, Webhooks: &strict})
	if _, err := devdata.Seed(context.Background(), db, devdata.SeedOptions{Tenant: tenant, Customers: 10, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	admin, _, err := db.CreateToken(context.Background(), tenant, "integrations", []sweep.Scope{sweep.ScopeAdmin})
	if err != nil {
		t.Fatal(err)
	}
	h := &hooks{api: &api{t: t, db: db, url: sw.URL, rdb: sw.Redis}, admin: admin}
	for _, bad := range []string{
		"http://hooks.example.com/sweep", "https://169.254.169.254/latest/meta-data/", "https://[fd00:ec2::254]/",
		"https://127.0.0.1:8443/", "https://localhost/", "https://10.0.0.8/", "https://user:secret@hooks.example.com/",
		"hooks.example.com/sweep", "",
	} {
		b := h.call("POST", "/v1/webhooks", wire.NewWebhook{URL: bad}, http.StatusBadRequest, nil)
		if !strings.Contains(string(b), "invalid") {
			t.Errorf("POST %q: %s", bad, b)
		}
	}
	// Strict JSON: unknown members, wrong types and other content types.
	for _, tc := range []struct {
		body, contentType string
		want              int
	}{
		{`{"url": "https://hooks.example.com/", "event": ["import.completed"]}`, "application/json", http.StatusBadRequest},
		{`{"url": "https://hooks.example.com/", "events": ["import.done"]}`, "application/json", http.StatusBadRequest},
		{`{"url": "https://hooks.example.com/", "events": "import.completed"}`, "application/json", http.StatusBadRequest},
		{`{"url": "https://hooks.example.com/"`, "application/json", http.StatusBadRequest},
		{`{"url": "https://hooks.example.com/"} {}`, "application/json", http.StatusBadRequest},
		{`url=https://hooks.example.com/`, "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType},
		{`{"url": "https://hooks.example.com/", "enabled": false}`, "application/json", http.StatusBadRequest},
		{`{"url": "https://hooks.example.com/", "description": "a\u0000b"}`, "application/json", http.StatusBadRequest},
		{`{"url": "https://hooks.example.com/", "description": "\u001b]0;pwned\u0007"}`, "application/json", http.StatusBadRequest},
		{`{"url": "https://hooks.example.com/", "description": "invoice \u202egnp.exe"}`, "application/json", http.StatusBadRequest},
		{`{"url": "https://[::1%25lo]:19002/"}`, "application/json", http.StatusBadRequest},
		{`{"url": " https://hooks.example.com/"}`, "application/json", http.StatusBadRequest},
		{`{"url": "https://hooks.example.com/", "events": [" import.completed"]}`, "application/json", http.StatusBadRequest},
	} {
		code, _, b := h.request("POST", "/v1/webhooks", strings.NewReader(tc.body), "Authorization", "Bearer "+admin, "Content-Type", tc.contentType)
		if code != tc.want {
			t.Errorf("POST %s (%s) = %d, want %d: %s", tc.body, tc.contentType, code, tc.want, b)
		}
	}
	var l wire.WebhookList
	h.call("GET", "/v1/webhooks", nil, http.StatusOK, &l)
	if len(l.Webhooks) != 0 {
		t.Fatalf("refused requests left endpoints behind: %+v", l.Webhooks)
	}
	// Allowed by the API but not by the worker (a name that resolves to a
	// blocked address looks the same to it): the worker connects to nothing.
	ep := wire.Webhook{}
	rc := newReceiver(t)
	if _, err := db.SQL().Exec(`INSERT INTO webhook_endpoints (tenant_id, url, secret) VALUES ($1, $2, 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')`,
		tenant, strings.Replace(rc.srv.URL, "http://", "https://", 1)); err != nil {
		t.Fatal(err)
	}
	h.call("GET", "/v1/webhooks", nil, http.StatusOK, &l)
	ep = l.Webhooks[0]
	d := h.sendTest(ep.ID)
	failed := waitDelivery(t, h, ep.ID, d.ID, func(d wire.Delivery) bool { return d.Attempts >= 1 && d.LastError != "" })
	if !strings.Contains(failed.LastError, "127.0.0.1") || !strings.Contains(failed.LastError, "not sent") {
		t.Errorf("delivery to a blocked address: %+v", failed)
	}
	if n := len(rc.all()); n != 0 {
		t.Errorf("the blocked receiver got %d requests", n)
	}
}

// A redirect is a failed attempt that names where it pointed; the target is
// never reached.
func TestWebhookRedirectsAreNotFollowed(t *testing.T) {
	h := newHooks(t)
	target := newReceiver(t)
	rc := newReceiver(t)
	rc.setAnswer(func(_ int, w http.ResponseWriter) {
		w.Header().Set("Location", target.srv.URL+"/elsewhere")
		w.WriteHeader(http.StatusTemporaryRedirect)
	})
	ep := h.subscribe(rc.srv.URL)
	d := h.sendTest(ep.ID)
	failed := waitDelivery(t, h, ep.ID, d.ID, func(d wire.Delivery) bool { return d.Attempts >= 1 && d.LastStatusCode == 307 })
	if !strings.Contains(failed.LastError, "redirect") || !strings.Contains(failed.LastError, "/elsewhere") || failed.Status != sweep.DeliveryPending {
		t.Errorf("redirected delivery = %+v", failed)
	}
	if n := len(target.all()); n != 0 {
		t.Errorf("the redirect's target got %d requests", n)
	}
}

// Limits hold under concurrent requests: 20 endpoints per tenant, one test
// event on its way per endpoint, and a test racing a disable or a delete is
// answered, never a 500.
func TestWebhookLimitsHoldUnderConcurrency(t *testing.T) {
	h := newHooks(t)
	rc := newReceiver(t)
	rc.setAnswer(func(_ int, w http.ResponseWriter) { w.WriteHeader(http.StatusInternalServerError) })
	codes := make(chan int, 30)
	var wg sync.WaitGroup
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, _ := json.Marshal(wire.NewWebhook{URL: rc.srv.URL})
			code, _, _ := h.request("POST", "/v1/webhooks", bytes.NewReader(b), "Authorization", "Bearer "+h.admin, "Content-Type", "application/json")
			codes <- code
		}()
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	var l wire.WebhookList
	h.call("GET", "/v1/webhooks", nil, http.StatusOK, &l)
	if count[http.StatusCreated] != 20 || count[http.StatusConflict] != 10 || len(l.Webhooks) != 20 {
		t.Fatalf("30 concurrent creations: %v, %d endpoints; want 20 made and 10 refused with 409", count, len(l.Webhooks))
	}

	ep := l.Webhooks[0]
	h.sendTest(ep.ID)
	b := h.call("POST", fmt.Sprintf("/v1/webhooks/%d/test", ep.ID), nil, http.StatusConflict, nil)
	if !strings.Contains(string(b), "still on its way") {
		t.Errorf("a second test while the first waits: %s", b)
	}

	other := l.Webhooks[1]
	for round := range 10 {
		var wg sync.WaitGroup
		for i := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var code int
				switch i % 3 {
				case 0:
					code, _, _ = h.request("POST", fmt.Sprintf("/v1/webhooks/%d/test", other.ID), nil, "Authorization", "Bearer "+h.admin)
				case 1:
					code, _, _ = h.request("PATCH", fmt.Sprintf("/v1/webhooks/%d", other.ID), strings.NewReader(`{"enabled": false}`), "Authorization", "Bearer "+h.admin, "Content-Type", "application/json")
				default:
					code, _, _ = h.request("PATCH", fmt.Sprintf("/v1/webhooks/%d", other.ID), strings.NewReader(`{"enabled": true}`), "Authorization", "Bearer "+h.admin, "Content-Type", "application/json")
				}
				if code >= 500 {
					t.Errorf("round %d: a request racing others answered %d", round, code)
				}
			}()
		}
		wg.Wait()
	}
	h.call("DELETE", fmt.Sprintf("/v1/webhooks/%d", other.ID), nil, http.StatusNoContent, nil)
	h.call("POST", fmt.Sprintf("/v1/webhooks/%d/test", other.ID), nil, http.StatusNotFound, nil)
}

// Receivers that never answer in time hold up no one: another tenant's event
// arrives and an import runs to its end while every attempt to them hangs.
func TestSlowReceiversHoldUpNoOne(t *testing.T) {
	h := newHooks(t)
	release := make(chan struct{})
	defer close(release)
	var slow []*receiver
	for range 6 {
		rc := newReceiver(t)
		rc.setAnswer(func(int, http.ResponseWriter) { <-release })
		h.subscribe(rc.srv.URL)
		slow = append(slow, rc)
	}
	for _, c := range []int{20, 21, 22} {
		h.call("DELETE", fmt.Sprintf("/v1/customers/%d", c), nil, http.StatusNoContent, nil)
	}
	for _, rc := range slow[:2] { // attempts to them are under way
		rc.waitFor(sweep.EventCustomerDeleted, nil)
	}

	const other = 7100002
	ctx := context.Background()
	if _, err := devdata.Seed(ctx, h.db, devdata.SeedOptions{Tenant: other, Customers: 5, Seed: 9}); err != nil {
		t.Fatal(err)
	}
	otherAdmin, _, _ := h.db.CreateToken(ctx, other, "other", []sweep.Scope{sweep.ScopeAdmin})
	oh := &hooks{api: h.api, admin: otherAdmin}
	fast := newReceiver(t)
	ep := oh.subscribe(fast.srv.URL)
	start := time.Now()
	oh.sendTest(ep.ID)
	fast.waitFor(sweep.EventWebhookTest, nil)
	t.Logf("another tenant's event arrived %v after it was sent", time.Since(start).Round(time.Millisecond))

	code, imp := h.upload("action,customerId\nremove,30\nremove,31\n", "auto_start", "true")
	if code != http.StatusAccepted {
		t.Fatalf("upload = %d %v", code, imp)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, _, b := h.request("GET", fmt.Sprintf("/v1/imports/%v", imp["id"]), nil)
		if m := decode(t, b); m["status"] == "completed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the import did not complete within 30 s while the slow receivers hung")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, rc := range slow {
		for _, hit := range rc.all() {
			if hit.message(t).TenantID != tenant {
				t.Errorf("a slow receiver got another tenant's event")
			}
		}
	}
}
