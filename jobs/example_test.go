package jobs_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/sweephq/sweep/jobs"
)

// An upstream Go service deletes a list of customers of tenant 5200243 and
// waits for the result. Needs a sweep worker on the same Redis.
func ExampleClient_DeleteCustomers() {
	client, err := jobs.NewClient("redis://127.0.0.1:6379/0")
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
	st, err := client.Wait(ctx, 5200243, id)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("import %d %s: %d deleted, %d skipped, %d rows with errors\n",
		id, st.Status, st.DeletedRows, st.SkippedRows, st.ErrorRows)
}
