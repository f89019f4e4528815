package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/devdata"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/store"
)

// A worker killed with -9 while its receiver holds a delivery open: a new
// worker sends that event again once the attempt's lease ends, with the same
// webhook-id, body and a valid signature, and every event reaches the
// receiver under exactly one webhook-id.
func TestWebhookSurvivesAKilledWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("the webhook drill runs worker processes; skipped with -short")
	}
	t.Parallel()
	bin := buildSweep(t)
	ctx := context.Background()
	dbURL, redisURL := testenv.DatabaseURL(t), testenv.RedisURL(t)
	db := testenv.OpenDB(t, dbURL)
	if _, err := devdata.Seed(ctx, db, devdata.SeedOptions{Tenant: crashTenant, Customers: 10, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	db.SQL().MustExec(`DELETE FROM loan_customers WHERE tenant_id = $1`, crashTenant)

	type request struct {
		id, ts, sig string
		body        []byte
	}
	var (
		mu      sync.Mutex
		got     []request
		holding = make(chan struct{})
		release = make(chan struct{})
		held    sync.Once
	)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, request{r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature"), body})
		first := len(got) == 2
		mu.Unlock()
		if first { // the second event's first attempt hangs until the worker is gone
			held.Do(func() { close(holding) })
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
	}))
	defer rc.Close()
	defer close(release)

	secret, err := sweep.NewWebhookSecret()
	if err != nil {
		t.Fatal(err)
	}
	ep, err := db.CreateWebhook(ctx, sweep.Webhook{TenantID: crashTenant, URL: rc.URL}, secret)
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"SWEEP_WEBHOOK_ALLOW_HTTP=true", "SWEEP_WEBHOOK_ALLOW_NETWORKS=127.0.0.1", "SWEEP_WEBHOOK_RETRY_BASE=200ms"}
	w := startWorker(t, bin, dbURL, redisURL, env...)
	// Three events, each recorded by the transaction that causes it: two
	// single deletes and a test event.
	for _, c := range []int64{1, 2} {
		if err := db.DeleteCustomer(ctx, crashTenant, c, 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.SendTestWebhook(ctx, crashTenant, ep.ID, []byte(`{"message":"drill"}`)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-holding:
	case <-time.After(time.Minute):
		t.Fatal("the receiver got no second request within a minute")
	}
	w.kill()
	killedAt := time.Now()
	startWorker(t, bin, dbURL, redisURL, env...)

	deadline := time.Now().Add(2 * time.Minute)
	var log []sweep.Delivery
	for {
		log, err = db.Deliveries(ctx, crashTenant, ep.ID, store.DeliveryQuery{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		done := len(log) == 3
		for _, d := range log {
			done = done && d.Status == sweep.DeliverySucceeded
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries not all made 2 minutes after the kill: %+v", log)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("all delivered %v after the kill", time.Since(killedAt).Round(100*time.Millisecond))

	mu.Lock()
	defer mu.Unlock()
	key, _ := base64.StdEncoding.DecodeString(secret[len("whsec_"):])
	bodies := map[string][]byte{}
	for _, r := range got {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(r.id + "." + r.ts + "."))
		mac.Write(r.body)
		if r.sig != "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
			t.Errorf("request of %s has signature %q, not the endpoint's", r.id, r.sig)
		}
		if b, ok := bodies[r.id]; ok && !bytes.Equal(b, r.body) {
			t.Errorf("webhook-id %s came with two bodies:\n%s\n%s", r.id, b, r.body)
		}
		bodies[r.id] = r.body
	}
	// One webhook-id per event: a receiver that keeps the ids it has seen
	// sees each event once. The held attempt's event came again after the
	// kill; others in flight at the kill may too (at least once).
	ids := make([]string, len(got))
	again := false
	for i, r := range got {
		ids[i] = r.id
		again = again || (i > 1 && r.id == got[1].id)
	}
	if len(bodies) != 3 || !again {
		t.Errorf("the receiver saw %v; want three events, the held one sent again after the kill", ids)
	}
	for _, d := range log {
		if _, ok := bodies[d.MessageID]; !ok {
			t.Errorf("delivery %s succeeded but the receiver never saw it", d.MessageID)
		}
	}
	t.Logf("requests by webhook-id, in order: %v", ids)
}
