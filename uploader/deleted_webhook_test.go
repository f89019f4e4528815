package uploader_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/wire"
)

// A request awaiting approval that its requester deletes does not vanish
// unseen: the import.deleted webhook carries the import as it was, awaiting
// approval.
func TestDeletingAnImportSendsItsWebhook(t *testing.T) {
	h := newHooks(t)
	rc := newReceiver(t)
	h.subscribe(rc.srv.URL, sweep.EventImportDeleted)
	threshold := int64(1)
	if err := h.db.SetApprovalThreshold(context.Background(), tenant, &threshold); err != nil {
		t.Fatal(err)
	}
	_, imp := h.upload("action,customerId\nremove,5\nremove,6\n")
	h.waitStatus(imp["id"])
	path := fmt.Sprintf("/v1/imports/%v", imp["id"])
	if code, _, b := h.request("POST", path+"/start", nil); code != http.StatusAccepted || decode(t, b)["status"] != "awaiting_approval" {
		t.Fatalf("start above the threshold = %d %s; want awaiting_approval", code, b)
	}
	if code, _, b := h.request("DELETE", path, nil); code != http.StatusNoContent {
		t.Fatalf("delete = %d %s", code, b)
	}
	got := rc.waitFor(sweep.EventImportDeleted, nil)
	var i wire.Import
	if err := json.Unmarshal(got.message(t).Data, &i); err != nil || float64(i.ID) != imp["id"] || i.Status != sweep.StatusAwaitingApproval || i.ValidRows != 2 {
		t.Errorf("import.deleted carries %+v (%v); want import %v as it was, awaiting approval", i, err, imp["id"])
	}
}
