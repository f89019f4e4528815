package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/lib/pq"
	"github.com/redis/go-redis/v9"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/devdata"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/store"
)

const tenant = 5200243

// upstream is a sweep (database and a real worker on a real Redis) and an
// upstream service's client of it.
type upstream struct {
	t      *testing.T
	db     *store.DB
	client *jobs.Client
	rdb    redis.UniversalClient
}

func newUpstream(t *testing.T, customers int, opts ...jobs.ClientOption) *upstream {
	t.Helper()
	db := testenv.DB(t)
	if _, err := devdata.Seed(context.Background(), db, devdata.SeedOptions{Tenant: tenant, Customers: customers, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	// Customer 5 is linked to a loan; the rest are free.
	db.SQL().MustExec(`DELETE FROM loan_customers WHERE tenant_id = $1`, tenant)
	db.SQL().MustExec(`INSERT INTO loans (tenant_id, id, principal_cents) VALUES ($1, 900, 1000) ON CONFLICT DO NOTHING`, tenant)
	db.SQL().MustExec(`INSERT INTO loan_customers (tenant_id, loan_id, customer_id) VALUES ($1, 900, 5)`, tenant)
	rdb := testenv.StartSweep(t, db, testenv.SweepOptions{}).Redis
	c := jobs.NewClientFromRedis(rdb, opts...)
	c.PollInterval = 20 * time.Millisecond
	return &upstream{t: t, db: db, client: c, rdb: rdb}
}

// stageOver makes the client stage lists longer than inline ids.
func (u *upstream) stageOver(inline int) {
	u.client = jobs.NewClientFromRedis(u.rdb, jobs.WithStaging(u.db.SQL().DB))
	u.client.PollInterval = 20 * time.Millisecond
	u.client.InlineLimit = inline
}

func (u *upstream) count(q string, args ...any) int {
	u.t.Helper()
	var n int
	if err := u.db.SQL().Get(&n, q, args...); err != nil {
		u.t.Fatalf("%s: %v", q, err)
	}
	return n
}

func (u *upstream) remaining(ids []int64) []int64 {
	u.t.Helper()
	var left []int64
	if err := u.db.SQL().Select(&left, `SELECT id FROM customers WHERE tenant_id = $1 AND id = ANY($2) ORDER BY id`, tenant, pq.Array(ids)); err != nil {
		u.t.Fatal(err)
	}
	return left
}

func seq(from, to int64) []int64 {
	var out []int64
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// An upstream service deletes a list through the client and waits: the
// import completes with the same outcomes an uploaded file gets, the
// customers are gone, and the same idempotency key again returns the same
// import without deleting anything twice.
func TestClientDeletesCustomersOnce(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, 50)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ids := append(seq(1, 20), 9999) // 5 is linked to a loan, 9999 does not exist
	id, err := u.client.DeleteCustomers(ctx, tenant, ids, jobs.Source("billing-sync"), jobs.IdempotencyKey("billing-2026-11-25"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := u.client.Wait(ctx, tenant, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != sweep.StatusCompletedWithErrors || st.TotalRows != 21 || st.ValidRows != 19 || st.ErrorRows != 2 || st.DeletedRows != 19 {
		t.Errorf("status = %+v; want completed_with_errors, 21 rows, 19 valid and deleted, 2 errors", st)
	}
	if left := u.remaining(ids); !slices.Equal(left, []int64{5}) {
		t.Errorf("customers left of the list = %v, want [5] (linked to a loan)", left)
	}
	imp, err := u.db.GetImport(ctx, tenant, id)
	if err != nil || imp.Source != sweep.SourceUpstream || imp.CreatedBy != "billing-sync" {
		t.Errorf("import = source %q created by %q (%v); want upstream, billing-sync", imp.Source, imp.CreatedBy, err)
	}
	var codes []string
	if err := u.db.SQL().Select(&codes, `SELECT code FROM import_errors WHERE tenant_id = $1 AND import_id = $2 ORDER BY line`, tenant, id); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(codes, []string{"linked_to_loan", "not_found"}) {
		t.Errorf("row error codes = %v, want [linked_to_loan not_found]", codes)
	}

	again, err := u.client.DeleteCustomers(ctx, tenant, ids, jobs.Source("billing-sync"), jobs.IdempotencyKey("billing-2026-11-25"))
	if err != nil || again != id {
		t.Fatalf("same key again = import %d (%v), want %d", again, err, id)
	}
	if n := u.count(`SELECT count(*) FROM imports WHERE tenant_id = $1`, tenant); n != 1 {
		t.Errorf("imports = %d, want 1", n)
	}
	if n := u.count(`SELECT count(*) FROM deletion_audit WHERE tenant_id = $1`, tenant); n != 19 {
		t.Errorf("audit rows = %d, want 19", n)
	}
	// After Redis forgot the first task, the key still finds the import.
	if err := u.rdb.FlushDB(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if after, err := u.client.DeleteCustomers(ctx, tenant, ids, jobs.Source("billing-sync"), jobs.IdempotencyKey("billing-2026-11-25")); err != nil || after != id {
		t.Fatalf("same key after a Redis flush = import %d (%v), want %d", after, err, id)
	}
	if n := u.count(`SELECT count(*) FROM deletion_audit WHERE tenant_id = $1`, tenant); n != 19 {
		t.Errorf("audit rows after the third request = %d, want 19", n)
	}
}

// A list longer than a task carries is staged in PostgreSQL; the task holds
// only the batch name, and the staged rows are gone once the import has them.
func TestClientStagesLongLists(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, 300)
	u.stageOver(50)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ids := seq(101, 300)
	id, err := u.client.DeleteCustomers(ctx, tenant, ids, jobs.Source("crm"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := u.client.Wait(ctx, tenant, id)
	if err != nil || st.Status != sweep.StatusCompleted || st.DeletedRows != 200 {
		t.Fatalf("status = %+v (%v); want completed with 200 deleted", st, err)
	}
	if left := u.remaining(ids); len(left) != 0 {
		t.Errorf("%d customers of the list left", len(left))
	}
	if n := u.count(`SELECT count(*) FROM staged_ids`); n != 0 {
		t.Errorf("staged rows left = %d, want 0", n)
	}
	// Without staging, the same list is refused with what to do.
	plain := jobs.NewClientFromRedis(u.rdb)
	plain.InlineLimit = 50
	if _, err := plain.DeleteCustomers(ctx, tenant, ids); sweep.ErrorCode(err) != sweep.ETOOLARGE || !strings.Contains(err.Error(), "WithStaging") {
		t.Errorf("long list without staging: %v; want ETOOLARGE naming WithStaging", err)
	}
}

// A payload of a version this build does not know is archived with a clear
// error and deletes nothing.
func TestUnknownPayloadVersionIsArchived(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, 10)
	rdb := u.rdb
	client := asynq.NewClientFromRedisClient(rdb)
	task := asynq.NewTask(jobs.TypeCustomersDelete,
		[]byte(`{"version": 2, "tenant_id": 5200243, "customer_ids": [1, 2, 3], "idempotency_key": "v2"}`),
		asynq.TaskID("v2-task"), asynq.Queue(jobs.QueueCritical), asynq.Retention(time.Hour))
	if _, err := client.Enqueue(task); err != nil {
		t.Fatal(err)
	}
	if info := u.waitArchived("v2-task"); !strings.Contains(info.LastErr, "version 2 is not supported") {
		t.Errorf("archived with %q; want it to say version 2 is not supported", info.LastErr)
	}
	if n := u.count(`SELECT count(*) FROM customers WHERE tenant_id = $1`, tenant); n != 10 {
		t.Errorf("customers = %d, want 10", n)
	}
	if n := u.count(`SELECT count(*) FROM imports`); n != 0 {
		t.Errorf("imports = %d, want 0", n)
	}
}

// Bad requests are refused before anything is enqueued, saying what to fix.
func TestDeletePayloadChecks(t *testing.T) {
	for _, c := range []struct {
		p    jobs.DeletePayload
		want string
	}{
		{jobs.DeletePayload{Version: 1, TenantID: 1, IdempotencyKey: "k"}, "at least one customer id"},
		{jobs.DeletePayload{Version: 1, TenantID: 0, CustomerIDs: []int64{1}, IdempotencyKey: "k"}, "positive tenant_id"},
		{jobs.DeletePayload{Version: 1, TenantID: 1, CustomerIDs: []int64{1}}, "idempotency_key"},
		{jobs.DeletePayload{Version: 1, TenantID: 1, CustomerIDs: []int64{1}, IdempotencyKey: "k", Source: "a b"}, "only letters"},
		{jobs.DeletePayload{Version: 1, TenantID: 1, CustomerIDs: []int64{1}, StagedBatch: "b", IdempotencyKey: "k"}, "one of customer_ids, customer_keys and staged_batch"},
		{jobs.DeletePayload{Version: 1, TenantID: 1, CustomerIDs: []int64{1}, CustomerKeys: []string{"a"}, IdempotencyKey: "k"}, "one of customer_ids"},
		{jobs.DeletePayload{Version: 1, TenantID: 1, CustomerKeys: make([]string, jobs.MaxInlineIDs+1), IdempotencyKey: "k"}, "at most 100000 keys"},
		{jobs.DeletePayload{Version: 1, TenantID: 1, CustomerIDs: []int64{1}, IdempotencyKey: "k", Policy: "row"}, "policy must be"},
		{jobs.DeletePayload{Version: 3, TenantID: 1, CustomerIDs: []int64{1}, IdempotencyKey: "k"}, "version 3 is not supported"},
	} {
		if _, err := jobs.NewCustomersDeleteTask(c.p, ""); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v; want an error saying %q", c.p, err, c.want)
		}
	}
}

// waitArchived waits for a customers:delete task to be archived and returns
// what it says.
func (u *upstream) waitArchived(taskID string) *asynq.TaskInfo {
	u.t.Helper()
	inspector := asynq.NewInspectorFromRedisClient(u.rdb)
	deadline := time.Now().Add(20 * time.Second)
	for {
		info, err := inspector.GetTaskInfo(jobs.QueueCritical, taskID)
		if err == nil && info.State == asynq.TaskStateArchived {
			return info
		}
		if time.Now().After(deadline) {
			u.t.Fatalf("task %s not archived after 20s: %+v %v", taskID, info, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// busyImportTasks counts the validate and run tasks still to be done.
func (u *upstream) busyImportTasks() int {
	u.t.Helper()
	inspector := asynq.NewInspectorFromRedisClient(u.rdb)
	q, err := inspector.GetQueueInfo(jobs.QueueDefault)
	if err != nil {
		return 0 // no import task was ever enqueued
	}
	return q.Pending + q.Active + q.Scheduled + q.Retry
}

// An idempotency key is bound to the request it was first used with: the
// same key with other ids is refused with ErrKeyReused naming the key and its
// import, deletes nothing and makes no import; with the same ids it still
// returns the first import.
func TestClientRefusesReusedKey(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, 20)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	id, err := u.client.DeleteCustomers(ctx, tenant, []int64{1, 2}, jobs.IdempotencyKey("same-key"))
	if err != nil {
		t.Fatal(err)
	}
	if st, err := u.client.Wait(ctx, tenant, id); err != nil || st.Status != sweep.StatusCompleted || st.DeletedRows != 2 {
		t.Fatalf("first request: %+v (%v); want completed, 2 deleted", st, err)
	}
	again, err := u.client.DeleteCustomers(ctx, tenant, []int64{3, 4, 6}, jobs.IdempotencyKey("same-key"))
	if !errors.Is(err, jobs.ErrKeyReused) || again != 0 {
		t.Fatalf("same key, other ids = import %d, %v; want 0 and ErrKeyReused", again, err)
	}
	if sweep.ErrorCode(err) != sweep.EKEYREUSED || !strings.Contains(err.Error(), `"same-key"`) || !strings.Contains(err.Error(), fmt.Sprintf("import %d", id)) {
		t.Errorf("error %q should carry code %s and name the key and import %d", err, sweep.EKEYREUSED, id)
	}
	if left := u.remaining([]int64{3, 4, 6}); !slices.Equal(left, []int64{3, 4, 6}) {
		t.Errorf("customers left = %v, want [3 4 6]: nothing of a refused request is deleted", left)
	}
	if n := u.count(`SELECT count(*) FROM imports WHERE tenant_id = $1`, tenant); n != 1 {
		t.Errorf("imports = %d, want 1", n)
	}
	if n := u.busyImportTasks(); n != 0 {
		t.Errorf("%d import tasks waiting after a refused request, want 0", n)
	}
	// Other options under the same key are another request too.
	if _, err := u.client.DeleteCustomers(ctx, tenant, []int64{1, 2}, jobs.IdempotencyKey("same-key"), jobs.Policy(sweep.PolicyFile)); !errors.Is(err, jobs.ErrKeyReused) {
		t.Errorf("same key and ids, other policy: %v; want ErrKeyReused", err)
	}
	if _, err := u.client.DeleteCustomers(ctx, tenant, []int64{1, 2}, jobs.IdempotencyKey("same-key"), jobs.Source("crm")); !errors.Is(err, jobs.ErrKeyReused) {
		t.Errorf("same key and ids, other source: %v; want ErrKeyReused", err)
	}
	// The same request is still a replay, also once Redis has forgotten it.
	if same, err := u.client.DeleteCustomers(ctx, tenant, []int64{1, 2}, jobs.IdempotencyKey("same-key")); err != nil || same != id {
		t.Errorf("same key, same ids = import %d (%v), want %d", same, err, id)
	}
	if err := u.rdb.FlushDB(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if same, err := u.client.DeleteCustomers(ctx, tenant, []int64{1, 2}, jobs.IdempotencyKey("same-key")); err != nil || same != id {
		t.Errorf("same key, same ids after a Redis flush = import %d (%v), want %d", same, err, id)
	}
	if _, err := u.client.DeleteCustomers(ctx, tenant, []int64{3, 4, 6}, jobs.IdempotencyKey("same-key")); !errors.Is(err, jobs.ErrKeyReused) {
		t.Errorf("same key, other ids after a Redis flush: %v; want ErrKeyReused", err)
	}
	if left := u.remaining([]int64{3, 4, 6}); len(left) != 3 {
		t.Errorf("customers left = %v, want [3 4 6]", left)
	}
}

// A staged list reused under its key with one id changed is refused, and
// the refused request's staged ids are removed.
func TestClientRefusesReusedKeyForStagedList(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, 300)
	u.stageOver(50)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ids := seq(101, 200)
	id, err := u.client.DeleteCustomers(ctx, tenant, ids, jobs.IdempotencyKey("erasure-7"))
	if err != nil {
		t.Fatal(err)
	}
	if st, err := u.client.Wait(ctx, tenant, id); err != nil || st.DeletedRows != 100 {
		t.Fatalf("first request: %+v (%v); want 100 deleted", st, err)
	}
	changed := slices.Clone(ids)
	changed[57] = 250
	if _, err := u.client.DeleteCustomers(ctx, tenant, changed, jobs.IdempotencyKey("erasure-7")); !errors.Is(err, jobs.ErrKeyReused) {
		t.Fatalf("staged list with one id changed: %v; want ErrKeyReused", err)
	}
	if left := u.remaining([]int64{250}); len(left) != 1 {
		t.Error("customer 250 of the refused request was deleted")
	}
	if n := u.count(`SELECT count(*) FROM staged_ids`); n != 0 {
		t.Errorf("staged rows left = %d, want 0", n)
	}
	if n := u.count(`SELECT count(*) FROM imports WHERE tenant_id = $1`, tenant); n != 1 {
		t.Errorf("imports = %d, want 1", n)
	}
}

// A service that enqueues with asynq itself, reusing a key for other ids,
// finds its task archived with the refusal in its result and error: never
// the earlier import's success.
func TestRawTaskWithReusedKeyIsRefused(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, 20)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	id, err := u.client.DeleteCustomers(ctx, tenant, []int64{1, 2}, jobs.IdempotencyKey("raw-key"))
	if err != nil {
		t.Fatal(err)
	}
	task := asynq.NewTask(jobs.TypeCustomersDelete,
		[]byte(`{"version": 1, "tenant_id": 5200243, "customer_ids": [3, 4], "idempotency_key": "raw-key"}`),
		asynq.TaskID(jobs.DeleteTaskID(tenant, "raw-key", "raw-reuse")), asynq.Queue(jobs.QueueCritical), asynq.Retention(time.Hour))
	if _, err := asynq.NewClientFromRedisClient(u.rdb).Enqueue(task); err != nil {
		t.Fatal(err)
	}
	info := u.waitArchived(jobs.DeleteTaskID(tenant, "raw-key", "raw-reuse"))
	var res jobs.DeleteResult
	if err := json.Unmarshal(info.Result, &res); err != nil || res.Error == nil || res.Error.Code != sweep.EKEYREUSED || res.Error.KeyImportID != id || res.ImportID != 0 {
		t.Errorf("result = %s (%v); want error %s naming import %d and no import id", info.Result, err, sweep.EKEYREUSED, id)
	}
	if !strings.Contains(info.LastErr, "raw-key") {
		t.Errorf("last error %q should name the key", info.LastErr)
	}
	if left := u.remaining([]int64{3, 4}); len(left) != 2 {
		t.Errorf("customers left = %v, want [3 4]", left)
	}
}
