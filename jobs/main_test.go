package jobs_test

import (
	"context"
	"os"
	"testing"

	"github.com/sweephq/sweep/internal/devdata"
	"github.com/sweephq/sweep/internal/testenv"
)

// TestMain gives the package's examples, which run as an upstream service
// would, the sweep they talk to: see startExampleSweep. The tests make their
// own (newUpstream) and never touch this one.
func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m, startExampleSweep))
}

// exampleCustomers is how many customers tenant 5200243 has for the examples
// (ids 1 to exampleCustomers); exampleBorrower is the one linked to a loan.
const (
	exampleCustomers = 1050
	exampleBorrower  = 1045
)

// startExampleSweep makes a database of the examples' own, holding tenant
// 5200243 with customers free of loans but for exampleBorrower, and a sweep
// worker over it on a Redis DB of its own, and points SWEEP_REDIS_URL (which
// the examples read) at that Redis DB: never DB 0, which `make demo` uses.
// The database is fresh, so its first import is import 1.
func startExampleSweep(tb testing.TB) {
	ctx := context.Background()
	db := testenv.DB(tb)
	if _, err := devdata.Seed(ctx, db, devdata.SeedOptions{Tenant: tenant, Customers: exampleCustomers, Seed: 1}); err != nil {
		tb.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, `INSERT INTO loans (tenant_id, id, principal_cents) VALUES ($1, 1, 250000)`, tenant); err != nil {
		tb.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, `INSERT INTO loan_customers (tenant_id, loan_id, customer_id) VALUES ($1, 1, $2)`, tenant, exampleBorrower); err != nil {
		tb.Fatal(err)
	}
	redisURL := testenv.RedisURL(tb)
	testenv.StartSweep(tb, db, testenv.SweepOptions{RedisURL: redisURL})
	tb.Setenv("SWEEP_REDIS_URL", redisURL)
}
