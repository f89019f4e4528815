package jobs_test

import (
	"cmp"
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/sweephq/sweep/jobs"
)

// An upstream Go service deletes customers 1042, 1043 and 1044 of tenant
// 5200243 and waits for the result. It needs a sweep worker on the same Redis
// (SWEEP_REDIS_URL; `go test` starts one on a Redis DB of its own).
// docs/upstream.md shows this same code as a program.
func ExampleClient_DeleteCustomers() {
	client, err := jobs.NewClient(cmp.Or(os.Getenv("SWEEP_REDIS_URL"), "redis://127.0.0.1:6379/0"))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	id, err := client.DeleteCustomers(ctx, 5200243, []int64{1042, 1043, 1044},
		jobs.Source("billing-sync"), jobs.IdempotencyKey("billing-sync-2026-11-25"))
	if err != nil {
		log.Fatal(err)
	}
	st, err := client.Wait(ctx, 5200243, id) // once settled: ended, or waiting for a person
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("import %d %s: %d deleted, %d skipped, %d rows with errors\n",
		id, st.Status, st.DeletedRows, st.SkippedRows, st.ErrorRows)
	// Output:
	// import 1 completed: 3 deleted, 0 skipped, 0 rows with errors
}

// A customer linked to a loan is never deleted: the id is a row error and the
// others go ahead. The same request again under the same idempotency key (a
// retry after a timeout, a message delivered twice) returns the first import
// and deletes nothing twice.
func ExampleClient_DeleteCustomers_retry() {
	client, err := jobs.NewClient(cmp.Or(os.Getenv("SWEEP_REDIS_URL"), "redis://127.0.0.1:6379/0"))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	ids := []int64{1045, 1046} // 1045 borrows on a loan
	id, err := client.DeleteCustomers(ctx, 5200243, ids, jobs.Source("crm"), jobs.IdempotencyKey("crm-erasure-8812"))
	if err != nil {
		log.Fatal(err)
	}
	st, err := client.Wait(ctx, 5200243, id)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %d deleted, %d rows with errors\n", st.Status, st.DeletedRows, st.ErrorRows)

	again, err := client.DeleteCustomers(ctx, 5200243, ids, jobs.Source("crm"), jobs.IdempotencyKey("crm-erasure-8812"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("the retry returned the same import:", again == id)
	// Output:
	// completed_with_errors: 1 deleted, 1 rows with errors
	// the retry returned the same import: true
}
