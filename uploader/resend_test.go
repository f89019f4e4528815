package uploader_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/wire"
)

// A delivery given up as failed is sent again on request, with the same
// webhook-id, and every failed one of an endpoint since a time in one call;
// a delivery that has not failed, or another endpoint's, is refused.
func TestFailedDeliveriesAreSentAgain(t *testing.T) {
	h := newHooks(t)
	rc := newReceiver(t)
	ep := h.subscribe(rc.srv.URL + "/hooks")
	first := h.sendTest(ep.ID)
	waitDelivery(t, h, ep.ID, first.ID, func(d wire.Delivery) bool { return d.Status == sweep.DeliverySucceeded })
	before := len(rc.byID(first.WebhookID))

	// Not failed: refused.
	path := fmt.Sprintf("/v1/webhooks/%d/deliveries/%d/resend", ep.ID, first.ID)
	h.call("POST", path, nil, http.StatusConflict, nil)
	h.call("POST", fmt.Sprintf("/v1/webhooks/%d/deliveries/%d/resend", ep.ID, first.ID+1000), nil, http.StatusNotFound, nil)

	// Given up (as the retries would after days): sent again, same id.
	h.db.SQL().MustExec(`UPDATE webhook_deliveries SET status = 'failed' WHERE id = $1`, first.ID)
	var again wire.Delivery
	h.call("POST", path, nil, http.StatusAccepted, &again)
	if again.ID != first.ID || again.Status != sweep.DeliveryPending {
		t.Fatalf("resend answered %+v; want delivery %d pending", again, first.ID)
	}
	waitDelivery(t, h, ep.ID, first.ID, func(d wire.Delivery) bool { return d.Status == sweep.DeliverySucceeded })
	if n := len(rc.byID(first.WebhookID)); n != before+1 {
		t.Errorf("the receiver got webhook-id %s %d times, want %d (once more, same id)", first.WebhookID, n, before+1)
	}

	// Recover: every failed delivery since a time, none before it.
	second := h.sendTest(ep.ID)
	waitDelivery(t, h, ep.ID, second.ID, func(d wire.Delivery) bool { return d.Status == sweep.DeliverySucceeded })
	h.db.SQL().MustExec(`UPDATE webhook_deliveries SET status = 'failed', created_at = now() - interval '2 days' WHERE id = $1`, first.ID)
	h.db.SQL().MustExec(`UPDATE webhook_deliveries SET status = 'failed' WHERE id = $1`, second.ID)
	var got wire.Recovered
	h.call("POST", fmt.Sprintf("/v1/webhooks/%d/recover", ep.ID), wire.Recover{Since: time.Now().Add(-time.Hour)}, http.StatusAccepted, &got)
	if got.Resent != 1 {
		t.Errorf("recover since an hour ago resent %d, want 1 (the other failed two days ago)", got.Resent)
	}
	waitDelivery(t, h, ep.ID, second.ID, func(d wire.Delivery) bool { return d.Status == sweep.DeliverySucceeded })
	for _, d := range h.deliveries(ep.ID) {
		if d.ID == first.ID && d.Status != sweep.DeliveryFailed {
			t.Errorf("delivery %d, older than since, is %s; want it left failed", d.ID, d.Status)
		}
	}
	h.call("POST", fmt.Sprintf("/v1/webhooks/%d/recover", ep.ID), map[string]string{}, http.StatusBadRequest, nil)
}
