package devdata_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/lib/pq"
	"github.com/sweephq/sweep/internal/devdata"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/store"
)

func TestSeedCounts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testenv.DB(t)
	const tenant, n = 5200243, 45_000 // more than two COPY batches
	res, err := devdata.Seed(ctx, db, devdata.SeedOptions{Tenant: tenant, Customers: n, LinkedFraction: 0.1, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.FirstID != 1 || res.LastID != n || res.Customers != n {
		t.Errorf("result ids %d..%d (%d customers), want 1..%d", res.FirstID, res.LastID, res.Customers, n)
	}
	if got := testenv.Count(t, db, "SELECT count(*) FROM customers WHERE tenant_id = $1", tenant); got != n {
		t.Errorf("customers = %d, want %d", got, n)
	}
	related := 0
	for _, table := range devdata.RelatedTables {
		got := testenv.Count(t, db, fmt.Sprintf("SELECT count(*) FROM %s WHERE tenant_id = $1", table), tenant)
		want := n
		if table == "customer_phones" || table == "customer_references" {
			want = 2 * n
		}
		if got != want {
			t.Errorf("%s = %d rows, want %d", table, got, want)
		}
		related += got
	}
	if related != n*devdata.RelatedRowsPerCustomer {
		t.Errorf("related rows = %d, want %d per customer", related, devdata.RelatedRowsPerCustomer)
	}
	loans := testenv.Count(t, db, "SELECT count(*) FROM loans WHERE tenant_id = $1", tenant)
	links := testenv.Count(t, db, "SELECT count(DISTINCT customer_id) FROM loan_customers WHERE tenant_id = $1", tenant)
	if loans != res.Linked || links != res.Linked {
		t.Errorf("loans = %d, linked customers = %d, result says %d", loans, links, res.Linked)
	}
	if res.Linked < n*8/100 || res.Linked > n*12/100 {
		t.Errorf("linked = %d of %d, want about 10%%", res.Linked, n)
	}

	// Seeding again adds customers after the existing ones.
	res2, err := devdata.Seed(ctx, db, devdata.SeedOptions{Tenant: tenant, Customers: 10, LinkedFraction: 0, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res2.FirstID != n+1 || res2.LastID != n+10 {
		t.Errorf("second seed ids %d..%d, want %d..%d", res2.FirstID, res2.LastID, n+1, n+10)
	}
}

func TestSeedIsRepeatable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := testenv.DB(t), testenv.DB(t)
	for _, db := range []*store.DB{a, b} {
		if _, err := devdata.Seed(ctx, db, devdata.SeedOptions{Tenant: 7, Customers: 500, LinkedFraction: 0.3, Seed: 42}); err != nil {
			t.Fatal(err)
		}
	}
	const q = "SELECT coalesce(array_agg(customer_id ORDER BY customer_id), '{}') FROM loan_customers WHERE tenant_id = 7"
	var la, lb pq.Int64Array
	a.SQL().QueryRow(q).Scan(&la)
	b.SQL().QueryRow(q).Scan(&lb)
	if fmt.Sprint(la) != fmt.Sprint(lb) || len(la) == 0 {
		t.Errorf("same seed linked different customers: %d vs %d", len(la), len(lb))
	}
}

func TestSeedRejectsBadOptions(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	for _, opt := range []devdata.SeedOptions{
		{Tenant: 0, Customers: 1},
		{Tenant: 1, Customers: -1},
		{Tenant: 1, Customers: 1, LinkedFraction: 1.5},
	} {
		if _, err := devdata.Seed(context.Background(), db, opt); err == nil {
			t.Errorf("Seed(%+v) succeeded, want an error", opt)
		}
	}
}

// Deleting a seeded customer removes every related row through the cascades and
// leaves loans alone; a customer linked to a loan cannot be deleted at all.
func TestCascadesCoverEveryRelatedTable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testenv.DB(t)
	const tenant = 42
	if _, err := devdata.Seed(ctx, db, devdata.SeedOptions{Tenant: tenant, Customers: 200, LinkedFraction: 0.25, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	// A second tenant with the same customer ids must not be touched.
	if _, err := devdata.Seed(ctx, db, devdata.SeedOptions{Tenant: tenant + 1, Customers: 200, LinkedFraction: 0.25, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	var free, linked int64
	db.SQL().QueryRow(`SELECT min(id) FROM customers c WHERE tenant_id = $1 AND NOT EXISTS
		(SELECT 1 FROM loan_customers l WHERE l.tenant_id = c.tenant_id AND l.customer_id = c.id)`, tenant).Scan(&free)
	db.SQL().QueryRow(`SELECT min(customer_id) FROM loan_customers WHERE tenant_id = $1`, tenant).Scan(&linked)
	if free == 0 || linked == 0 {
		t.Fatalf("seed made no free (%d) or no linked (%d) customer", free, linked)
	}
	loansBefore := testenv.Count(t, db, "SELECT count(*) FROM loans")
	linksBefore := testenv.Count(t, db, "SELECT count(*) FROM loan_customers")
	for _, table := range devdata.RelatedTables {
		if n := testenv.Count(t, db, fmt.Sprintf("SELECT count(*) FROM %s WHERE tenant_id = $1 AND customer_id = $2", table), tenant, free); n == 0 {
			t.Fatalf("seeded customer %d has no rows in %s", free, table)
		}
	}

	if _, err := db.SQL().ExecContext(ctx, "DELETE FROM customers WHERE tenant_id = $1 AND id = $2", tenant, free); err != nil {
		t.Fatal(err)
	}
	for _, table := range devdata.RelatedTables {
		if n := testenv.Count(t, db, fmt.Sprintf("SELECT count(*) FROM %s WHERE tenant_id = $1 AND customer_id = $2", table), tenant, free); n != 0 {
			t.Errorf("%s still holds %d rows of deleted customer %d", table, n, free)
		}
		if n := testenv.Count(t, db, fmt.Sprintf("SELECT count(*) FROM %s WHERE tenant_id = $1 AND customer_id = $2", table), tenant+1, free); n == 0 {
			t.Errorf("%s lost the other tenant's customer %d", table, free)
		}
	}
	if got := testenv.Count(t, db, "SELECT count(*) FROM loans"); got != loansBefore {
		t.Errorf("loans = %d after a delete, want %d", got, loansBefore)
	}
	if got := testenv.Count(t, db, "SELECT count(*) FROM loan_customers"); got != linksBefore {
		t.Errorf("loan links = %d after a delete, want %d", got, linksBefore)
	}

	_, err := db.SQL().ExecContext(ctx, "DELETE FROM customers WHERE tenant_id = $1 AND id = $2", tenant, linked)
	if pqErr, ok := err.(*pq.Error); !ok || pqErr.Code != "23503" {
		t.Errorf("deleting linked customer %d: err = %v, want foreign key violation 23503", linked, err)
	}
	if n := testenv.Count(t, db, "SELECT count(*) FROM customers WHERE tenant_id = $1 AND id = $2", tenant, linked); n != 1 {
		t.Errorf("linked customer %d is gone", linked)
	}
}
