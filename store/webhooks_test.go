package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/devdata"
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
	if _, err := devdata.Seed(ctx, db, devdata.SeedOptions{Tenant: 1, Customers: 1, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	secret, _ := sweep.NewWebhookSecret()
	dispatched := map[int64]store.DueDelivery{}
	attempt := func(_, id int64, res store.AttemptResult) (store.Outgoing, bool) {
		t.Helper()
		for range 100 {
			due, err := db.DispatchDeliveries(ctx, 100, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range due {
				dispatched[d.ID] = d
			}
			if d, ok := dispatched[id]; ok {
				delete(dispatched, id)
				o, ok, err := db.ClaimDelivery(ctx, d, time.Minute)
				if err != nil || !ok {
					t.Fatalf("claim delivery %d: %v %v", id, ok, err)
				}
				disabled, err := db.RecordAttempt(ctx, o, res)
				if err != nil {
					t.Fatal(err)
				}
				return o, disabled
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("delivery %d was never dispatched", id)
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
	d1, d2 := emit(t, db, 1, ep.ID), emit(t, db, 1, ep.ID)
	attempt(ep.ID, d1.ID, fail(time.Hour))
	attempt(ep.ID, d2.ID, store.AttemptResult{Delivered: true, Code: 200})
	// Times are moved rather than waited for: d1 was made two hours ago.
	db.SQL().MustExec(`UPDATE webhook_deliveries SET created_at = now() - interval '2 hours' WHERE tenant_id = 1 AND id = $1`, d1.ID)
	db.SQL().MustExec(`UPDATE webhook_endpoints SET last_success_at = now() - interval '1 hour' WHERE tenant_id = 1 AND id = $1`, ep.ID)
	if _, disabled := attempt(ep.ID, d1.ID, fail(time.Hour)); disabled || status(ep.ID, d1.ID) != sweep.DeliveryFailed {
		t.Errorf("a delivery refused while others went through: disabled %v, status %s; want it given up, the endpoint kept", disabled, status(ep.ID, d1.ID))
	}

	// An endpoint failing all along: disabled, its delivery waits.
	ep2, _ := db.CreateWebhook(ctx, sweep.Webhook{TenantID: 1, URL: "https://b.example/"}, secret)
	d3 := emit(t, db, 1, ep2.ID)
	if _, disabled := attempt(ep2.ID, d3.ID, fail(time.Hour)); disabled {
		t.Error("disabled at its first failure")
	}
	// Failing for two hours, and the delivery as old: the endpoint goes, the
	// delivery waits for it.
	db.SQL().MustExec(`UPDATE webhook_endpoints SET failing_since = now() - interval '2 hours' WHERE tenant_id = 1 AND id = $1`, ep2.ID)
	db.SQL().MustExec(`UPDATE webhook_deliveries SET created_at = now() - interval '2 hours' WHERE tenant_id = 1 AND id = $1`, d3.ID)
	if _, disabled := attempt(ep2.ID, d3.ID, fail(time.Hour)); !disabled || status(ep2.ID, d3.ID) != sweep.DeliveryPending {
		t.Errorf("an endpoint failing all along: disabled %v, delivery %s; want disabled, the delivery pending", disabled, status(ep2.ID, d3.ID))
	}
	if got, _ := db.GetWebhook(ctx, 1, ep2.ID); got.Enabled || got.DisabledReason == "" {
		t.Errorf("endpoint = %+v", got)
	}
}

// Dispatching serves tenants and endpoints in turn within their limits, takes
// a delivery once while its lease lasts, dispatches again one whose task was
// lost, and lets go at once of one whose endpoint was disabled meanwhile.
func TestWebhookDispatchIsFairAndLeased(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	for _, tenant := range []int64{1, 2} {
		if _, err := devdata.Seed(ctx, db, devdata.SeedOptions{Tenant: tenant, Customers: 1, Seed: 1}); err != nil {
			t.Fatal(err)
		}
	}
	secret, _ := sweep.NewWebhookSecret()
	for i := range 5 {
		ep, err := db.CreateWebhook(ctx, sweep.Webhook{TenantID: 1, URL: fmt.Sprintf("https://slow%d.example/", i)}, secret)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			emit(t, db, 1, ep.ID)
		}
	}
	other, _ := db.CreateWebhook(ctx, sweep.Webhook{TenantID: 2, URL: "https://b.example/"}, secret)
	mine := emit(t, db, 2, other.ID)

	first, err := db.DispatchDeliveries(ctx, 100, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	perTenant := map[int64]int{}
	for _, d := range first {
		perTenant[d.TenantID]++
	}
	if perTenant[1] != store.MaxInFlightPerTenant || perTenant[2] != 1 {
		t.Errorf("first dispatch: %v deliveries by tenant; want tenant 1 held to %d, tenant 2's one taken", perTenant, store.MaxInFlightPerTenant)
	}
	if again, _ := db.DispatchDeliveries(ctx, 100, time.Minute); len(again) != 0 {
		t.Errorf("a second dispatch took %d deliveries still leased or over the limits", len(again))
	}

	// A task lost on its way (or stuck behind others past its lease): the
	// delivery is dispatched again under a new number, and whichever of the
	// two tasks reaches a worker first makes the attempt; the other finds
	// nothing to do.
	var lost store.DueDelivery
	for _, d := range first {
		if d.TenantID == 2 {
			lost = d
		}
	}
	db.SQL().MustExec(`UPDATE webhook_deliveries SET dispatched_until = now() - interval '1 second' WHERE tenant_id = 2 AND id = $1`, mine.ID)
	redone, _ := db.DispatchDeliveries(ctx, 100, time.Minute)
	if len(redone) != 1 || redone[0].ID != mine.ID || redone[0].Dispatch != lost.Dispatch+1 {
		t.Fatalf("after the lease: %+v; want delivery %d dispatched again", redone, mine.ID)
	}
	o, ok, err := db.ClaimDelivery(ctx, lost, time.Minute)
	if !ok || err != nil {
		t.Fatalf("the late task could not make the due attempt: %v %v", ok, err)
	}
	if _, ok, err := db.ClaimDelivery(ctx, redone[0], time.Minute); ok || err != nil {
		t.Errorf("a second attempt started while the first is in flight: %v %v", ok, err)
	}
	if _, err := db.RecordAttempt(ctx, o, store.AttemptResult{Code: 500, Error: "The receiver answered 500.", GiveUpAfter: time.Hour}); err != nil {
		t.Fatal(err)
	}

	// Disabled meanwhile: the claim lets go, and enabling dispatches it anew.
	next, _ := db.DispatchDeliveries(ctx, 100, time.Minute)
	if len(next) != 1 || next[0].ID != mine.ID {
		t.Fatalf("after a failed attempt due again at once: %+v", next)
	}
	off, on := false, true
	if _, err := db.UpdateWebhook(ctx, 2, other.ID, store.WebhookChange{Enabled: &off, By: "ops"}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := db.ClaimDelivery(ctx, next[0], time.Minute); ok || err != nil {
		t.Errorf("claimed for a disabled endpoint: %v %v", ok, err)
	}
	if _, err := db.UpdateWebhook(ctx, 2, other.ID, store.WebhookChange{Enabled: &on, By: "ops"}); err != nil {
		t.Fatal(err)
	}
	back, _ := db.DispatchDeliveries(ctx, 100, time.Minute)
	if len(back) != 1 || back[0].ID != mine.ID {
		t.Errorf("enabled again: %+v; want its delivery dispatched at once", back)
	}
	if o, ok, err := db.ClaimDelivery(ctx, back[0], time.Minute); !ok || err != nil || o.Attempt != 2 {
		t.Errorf("claim after enabling: %+v %v %v", o, ok, err)
	}
}

// Past the limit of attempts in flight in all, every tenant still gets its
// turn before any gets a second.
func TestWebhookDispatchServesEveryTenant(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	secret, _ := sweep.NewWebhookSecret()
	const tenants = 20
	for tenant := int64(1); tenant <= tenants; tenant++ {
		if _, err := devdata.Seed(ctx, db, devdata.SeedOptions{Tenant: tenant, Customers: 1, Seed: 1}); err != nil {
			t.Fatal(err)
		}
		ep, err := db.CreateWebhook(ctx, sweep.Webhook{TenantID: tenant, URL: "https://t.example/"}, secret)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			emit(t, db, tenant, ep.ID)
		}
	}
	got, err := db.DispatchDeliveries(ctx, sweep.DefaultWebhookConcurrency, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	per := map[int64]int{}
	for _, d := range got {
		per[d.TenantID]++
	}
	if len(got) != sweep.DefaultWebhookConcurrency || len(per) != tenants {
		t.Errorf("dispatched %d deliveries to %d tenants; want %d in all, every one of the %d tenants served", len(got), len(per), sweep.DefaultWebhookConcurrency, tenants)
	}
	if more, _ := db.DispatchDeliveries(ctx, sweep.DefaultWebhookConcurrency, time.Minute); len(more) != 0 {
		t.Errorf("past the limit in all, %d more were dispatched", len(more))
	}
}

// A tenant's saturated endpoints do not take the turns of its others.
func TestWebhookDispatchSlowEndpointsLeaveRoom(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	if _, err := devdata.Seed(ctx, db, devdata.SeedOptions{Tenant: 1, Customers: 1, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	secret, _ := sweep.NewWebhookSecret()
	slow, _ := db.CreateWebhook(ctx, sweep.Webhook{TenantID: 1, URL: "https://slow.example/"}, secret)
	fast, _ := db.CreateWebhook(ctx, sweep.Webhook{TenantID: 1, URL: "https://fast.example/"}, secret)
	for range 5 {
		emit(t, db, 1, slow.ID) // the oldest due rows
	}
	if held, _ := db.DispatchDeliveries(ctx, 100, time.Minute); len(held) != store.MaxInFlightPerEndpoint {
		t.Fatalf("the slow endpoint's first dispatch: %d, want %d", len(held), store.MaxInFlightPerEndpoint)
	}
	for range 5 {
		emit(t, db, 1, fast.ID)
	}
	// The slow endpoint is at its limit with older rows due: the tenant's
	// other places go to the fast one.
	got, _ := db.DispatchDeliveries(ctx, 100, time.Minute)
	fastIDs := map[int64]bool{}
	ds, _ := db.Deliveries(ctx, 1, fast.ID, store.DeliveryQuery{Limit: 10})
	for _, f := range ds {
		fastIDs[f.ID] = true
	}
	n := 0
	for _, d := range got {
		if fastIDs[d.ID] {
			n++
		}
	}
	if len(got) != store.MaxInFlightPerTenant-store.MaxInFlightPerEndpoint || n != len(got) {
		t.Errorf("dispatched %d (%d to the fast endpoint); want the tenant's %d free places, all to the fast endpoint", len(got), n, store.MaxInFlightPerTenant-store.MaxInFlightPerEndpoint)
	}
}

// emit records a customer.deleted event for one endpoint, as a single delete
// does for every subscribed one, and returns its delivery.
func emit(t *testing.T, db *store.DB, tenant, endpoint int64) sweep.Delivery {
	t.Helper()
	var msg int64
	if err := db.SQL().Get(&msg, `SELECT sweep_webhook_emit($1, 'customer.deleted', NULL, 1, '{"customer_id": 1}', $2)`, tenant, endpoint); err != nil {
		t.Fatal(err)
	}
	ds, err := db.Deliveries(context.Background(), tenant, endpoint, store.DeliveryQuery{Limit: 1})
	if err != nil || len(ds) != 1 {
		t.Fatalf("delivery of event %d: %v %v", msg, ds, err)
	}
	return ds[0]
}
