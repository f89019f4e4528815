package jobs_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/wire"
)

// The status published to Redis is the API's wire format of the import, and
// Wait returns it once it is settled: at once for an import that ended or
// waits for its operator, not for one that will start by itself.
func TestPublishedStatusIsTheAPIsImport(t *testing.T) {
	t.Parallel()
	rdb, err := jobs.OpenRedis(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	c := jobs.NewClientFromRedis(rdb)
	c.PollInterval = 10 * time.Millisecond
	ctx := context.Background()
	created := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	imp := sweep.Import{ID: 41, TenantID: tenant, Source: sweep.SourceUpstream, Status: sweep.StatusCompletedWithErrors,
		Policy: sweep.PolicyLine, AutoStart: true, TotalRows: 3, ValidRows: 2, ErrorRows: 1, ProcessedRows: 2, DeletedRows: 2,
		CreatedBy: "billing-sync", CreatedAt: created, UpdatedAt: created}
	if err := jobs.PublishStatus(ctx, rdb, imp); err != nil {
		t.Fatal(err)
	}
	st, err := c.Wait(ctx, tenant, imp.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wire.FromImport(imp), st); diff != "" {
		t.Errorf("published status (-API's import +Redis status):\n%s", diff)
	}
	if !st.Settled || st.AwaitsOperator {
		t.Errorf("a completed import: settled %v, awaits operator %v", st.Settled, st.AwaitsOperator)
	}

	// Validated and starting by itself: Wait goes on until ctx ends.
	imp.ID, imp.Status = 42, sweep.StatusValidated
	if err := jobs.PublishStatus(ctx, rdb, imp); err != nil {
		t.Fatal(err)
	}
	if st, err := c.Status(ctx, tenant, imp.ID); err != nil || !st.StartsByItself || st.Settled {
		t.Errorf("status of an import that starts by itself = %+v, %v; want it to start by itself, not settled", st, err)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := c.Wait(short, tenant, imp.ID); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait on an import that starts by itself = %v; want it to wait until ctx ends", err)
	}
}

// A status an older worker published (import_id, no settled member) is read
// as settled when it ended, was rejected, or awaits the operator.
func TestStatusOfAnOlderWorker(t *testing.T) {
	t.Parallel()
	rdb, err := jobs.OpenRedis(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	c := jobs.NewClientFromRedis(rdb)
	ctx := context.Background()
	for id, tt := range map[int64]struct {
		json    string
		settled bool
	}{
		1: {`{"tenant_id":5200243,"import_id":1,"status":"completed","deleted_rows":4,"awaits_operator":false}`, true},
		2: {`{"tenant_id":5200243,"import_id":2,"status":"rejected","awaits_operator":false}`, true},
		3: {`{"tenant_id":5200243,"import_id":3,"status":"validated","awaits_operator":true}`, true},
		4: {`{"tenant_id":5200243,"import_id":4,"status":"validated","awaits_operator":false}`, false},
		5: {`{"tenant_id":5200243,"import_id":5,"status":"running","awaits_operator":false}`, false},
	} {
		if err := rdb.Set(ctx, jobs.StatusKey(tenant, id), tt.json, time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
		st, err := c.Status(ctx, tenant, id)
		if err != nil || st.ID != id || st.Settled != tt.settled {
			t.Errorf("%s: id %d, settled %v, %v; want id %d, settled %v", tt.json, st.ID, st.Settled, err, id, tt.settled)
		}
	}
}
