package jobs_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/jobs"
)

// An upstream service of a platform whose customers are named by uuid
// (examples/uuidkeys) deletes them by key: the rows are checked as a file's
// are, the same key with the same keys returns the same import, and with
// other keys it is refused.
func TestClientDeletesCustomersByKey(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db := testenv.DB(t)
	testenv.ExamplePlatform(t, db, "uuidkeys")
	const ann, bob = "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002"
	db.SQL().MustExec(`INSERT INTO tenants (id, name) VALUES ($1, 'keys')`, tenant)
	db.SQL().MustExec(`INSERT INTO public.people (tenant_id, id, full_name) VALUES ($1, $2, 'Ann'), ($1, $3, 'Bob')`, tenant, ann, bob)
	c := jobs.NewClientFromRedis(testenv.StartSweep(t, db, testenv.SweepOptions{}).Redis)
	c.PollInterval = 20 * time.Millisecond

	keys := []string{strings.ToUpper(ann), bob, "ffffffff-0000-4000-8000-000000000000", "42"}
	id, err := c.DeleteCustomerKeys(ctx, tenant, keys, jobs.Source("crm"), jobs.IdempotencyKey("crm-1"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Wait(ctx, tenant, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != sweep.StatusCompletedWithErrors || st.DeletedRows != 2 || st.ErrorRows != 2 {
		t.Errorf("status = %s, %d deleted, %d errors; want completed_with_errors, 2 (Ann in capitals, Bob), 2 (no one, not a uuid)", st.Status, st.DeletedRows, st.ErrorRows)
	}
	var left int
	if err := db.SQL().Get(&left, `SELECT count(*) FROM public.people WHERE tenant_id = $1`, tenant); err != nil || left != 0 {
		t.Errorf("%d people left (%v), want 0", left, err)
	}
	if again, err := c.DeleteCustomerKeys(ctx, tenant, keys, jobs.Source("crm"), jobs.IdempotencyKey("crm-1")); err != nil || again != id {
		t.Errorf("the same request again = import %d (%v), want %d", again, err, id)
	}
	if _, err := c.DeleteCustomerKeys(ctx, tenant, keys[:1], jobs.Source("crm"), jobs.IdempotencyKey("crm-1")); !errors.Is(err, jobs.ErrKeyReused) {
		t.Errorf("the same idempotency key with other keys: %v, want ErrKeyReused", err)
	}
}
