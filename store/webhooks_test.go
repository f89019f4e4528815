package store_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/store"
)

// The database's trigger and the root package name the same event for every
// status an import can enter.
func TestImportWebhookTypesAgree(t *testing.T) {
	db := testenv.DB(t)
	for _, s := range sweep.Statuses {
		var got sql.NullString
		if err := db.SQL().Get(&got, `SELECT sweep_import_webhook_type($1)`, s); err != nil {
			t.Fatal(err)
		}
		want, ok := sweep.ImportEventType(s)
		if got.Valid != ok || got.String != string(want) {
			t.Errorf("status %s: database sends %q (%v), the root package %q (%v)", s, got.String, got.Valid, want, ok)
		}
	}
}

// A delivery that keeps failing is given up only when its endpoint took
// other deliveries meanwhile; an endpoint failing all along is disabled
// instead, and what waits for it stays pending.
func TestWebhookGiveUpAndDisable(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	if _, err := db.Seed(ctx, store.SeedOptions{Tenant: 1, Customers: 1, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	secret, _ := sweep.NewWebhookSecret()
	attempt := func(ep, msg int64, res store.AttemptResult) (store.Outgoing, bool) {
		t.Helper()
		ds, err := db.Deliveries(ctx, 1, ep, store.DeliveryQuery{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if d.ID != msg {
				continue
			}
			o, ok, err := db.ClaimDelivery(ctx, store.DueDelivery{TenantID: 1, ID: d.ID, Attempt: d.Attempts + 1, MessageID: d.MessageID}, time.Minute)
			if err != nil || !ok {
				t.Fatalf("claim delivery %d: %v %v", d.ID, ok, err)
			}
			disabled, err := db.RecordAttempt(ctx, o, res)
			if err != nil {
				t.Fatal(err)
			}
			return o, disabled
		}
		t.Fatalf("no delivery %d", msg)
		return store.Outgoing{}, false
	}
	status := func(ep, id int64) sweep.DeliveryStatus {
		ds, _ := db.Deliveries(ctx, 1, ep, store.DeliveryQuery{Limit: 10})
		for _, d := range ds {
			if d.ID == id {
				return d.Status
			}
		}
		return ""
	}
	fail := func(giveUp time.Duration) store.AttemptResult {
		return store.AttemptResult{Code: 500, Error: "The receiver answered 500.", GiveUpAfter: giveUp}
	}

	// An endpoint that answers others: the one delivery it refuses is given up.
	ep, err := db.CreateWebhook(ctx, sweep.Webhook{TenantID: 1, URL: "https://a.example/"}, secret)
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := db.SendTestWebhook(ctx, 1, ep.ID, []byte(`{}`))
	d2, _ := db.SendTestWebhook(ctx, 1, ep.ID, []byte(`{}`))
	attempt(ep.ID, d1.ID, fail(time.Hour))
	attempt(ep.ID, d2.ID, store.AttemptResult{Delivered: true, Code: 200})
	time.Sleep(20 * time.Millisecond)
	if _, disabled := attempt(ep.ID, d1.ID, fail(10*time.Millisecond)); disabled || status(ep.ID, d1.ID) != sweep.DeliveryFailed {
		t.Errorf("a delivery refused while others went through: disabled %v, status %s; want it given up, the endpoint kept", disabled, status(ep.ID, d1.ID))
	}

	// An endpoint failing all along: disabled, its delivery waits.
	ep2, _ := db.CreateWebhook(ctx, sweep.Webhook{TenantID: 1, URL: "https://b.example/"}, secret)
	d3, _ := db.SendTestWebhook(ctx, 1, ep2.ID, []byte(`{}`))
	if _, disabled := attempt(ep2.ID, d3.ID, fail(10*time.Millisecond)); disabled {
		t.Error("disabled at its first failure")
	}
	time.Sleep(20 * time.Millisecond)
	if _, disabled := attempt(ep2.ID, d3.ID, fail(10*time.Millisecond)); !disabled || status(ep2.ID, d3.ID) != sweep.DeliveryPending {
		t.Errorf("an endpoint failing all along: disabled %v, delivery %s; want disabled, the delivery pending", disabled, status(ep2.ID, d3.ID))
	}
	if got, _ := db.GetWebhook(ctx, 1, ep2.ID); got.Enabled || got.DisabledReason == "" {
		t.Errorf("endpoint = %+v", got)
	}
}
