package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/jobs"
)

// An upstream request above the tenant's approval threshold waits for a
// second person like any other: DeleteCustomers returns its import, and Wait
// reports it awaiting approval, nothing deleted.
func TestUpstreamRequestAboveTheThresholdAwaitsApproval(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, 50)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ten := int64(10)
	if err := u.db.SetApprovalThreshold(ctx, tenant, &ten); err != nil {
		t.Fatal(err)
	}
	ids := append(seq(21, 40), seq(41, 42)...)
	id, err := u.client.DeleteCustomers(ctx, tenant, ids, jobs.Source("billing-sync"), jobs.IdempotencyKey("big-batch"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := u.client.Wait(ctx, tenant, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != sweep.StatusAwaitingApproval || !st.Settled || !st.AwaitsOperator || st.Approval == nil || st.Approval.RequestedBy != "billing-sync" {
		t.Errorf("status = %+v; want awaiting_approval, settled, asked by billing-sync", st)
	}
	if left := u.remaining(ids); len(left) != len(ids) {
		t.Errorf("%d of %d customers left while awaiting approval; want all", len(left), len(ids))
	}
}
