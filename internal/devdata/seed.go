package devdata

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/store"
)

// RelatedTables lists every table that belongs to a customer and goes with it
// (ON DELETE CASCADE). loan_customers is not here: a link to a loan blocks a
// delete instead.
var RelatedTables = []string{
	"customer_addresses", "customer_phones", "customer_emails", "customer_employers",
	"customer_references", "customer_payment_accounts", "customer_notes",
	"customer_documents", "customer_custom_field_values", "customer_credit_scores",
	"customer_social_profiles",
}

// RelatedRowsPerCustomer is how many related rows Seed writes for each customer:
// one in every related table, two phones and two references.
const RelatedRowsPerCustomer = 13

// SeedOptions says what Seed creates.
type SeedOptions struct {
	Tenant         int64
	Customers      int
	LinkedFraction float64 // share of customers linked to a loan, 0 to 1
	Seed           uint64  // makes the data repeatable; two runs with one seed create equal data
	Workers        int     // parallel COPY streams; 0 means 2
	// Bare writes the customers only, without related rows or loans: enough for
	// benchmarks of validation, which only looks the ids up.
	Bare bool
	// Progress, when set, is called after each batch with the customers written so far.
	Progress func(done int)
}

// SeedResult counts what Seed created.
type SeedResult struct {
	FirstID, LastID int64 // the new customers' id range
	Customers       int
	Linked          int
	RelatedRows     int
	Duration        time.Duration
}

const batchSize = 20_000

// Seed writes realistic fake customers for a tenant (created when missing), with
// RelatedRowsPerCustomer related rows each and a share of them linked to a loan,
// loaded with COPY in batches of one transaction each. New ids follow the
// tenant's highest existing id, so seeding twice adds customers.
func Seed(ctx context.Context, db *store.DB, opt SeedOptions) (SeedResult, error) {
	start := time.Now()
	if opt.Customers < 0 {
		return SeedResult{}, sweep.Errorf(sweep.EINVALID, "customers must be 0 or more; found %d.", opt.Customers)
	}
	if opt.LinkedFraction < 0 || opt.LinkedFraction > 1 {
		return SeedResult{}, sweep.Errorf(sweep.EINVALID, "linked fraction must be between 0 and 1, such as 0.1; found %g.", opt.LinkedFraction)
	}
	if err := db.EnsureTenant(ctx, opt.Tenant, fmt.Sprintf("tenant %d", opt.Tenant)); err != nil {
		return SeedResult{}, err
	}
	var firstID, firstLoan int64
	err := db.SQL().QueryRowContext(ctx, `
		SELECT coalesce((SELECT max(id) FROM customers WHERE tenant_id = $1), 0) + 1,
		       coalesce((SELECT max(id) FROM loans WHERE tenant_id = $1), 0) + 1`, opt.Tenant).Scan(&firstID, &firstLoan)
	if err != nil {
		return SeedResult{}, fmt.Errorf("seed: next ids: %w", err)
	}
	res := SeedResult{FirstID: firstID, LastID: firstID + int64(opt.Customers) - 1, Customers: opt.Customers}

	workers := cmp.Or(max(opt.Workers, 0), 2)
	batches := make(chan int, workers)
	var (
		done, linked atomic.Int64
		wg           sync.WaitGroup
		errOnce      sync.Once
		firstErr     error
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				n := min(batchSize, opt.Customers-b)
				l, err := seedBatch(ctx, db.SQL(), opt, firstID+int64(b), firstLoan+int64(b), n, uint64(b))
				if err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					continue
				}
				linked.Add(int64(l))
				d := done.Add(int64(n))
				if opt.Progress != nil {
					opt.Progress(int(d))
				}
			}
		}()
	}
	for b := 0; b < opt.Customers && ctx.Err() == nil; b += batchSize {
		batches <- b
	}
	close(batches)
	wg.Wait()
	if firstErr != nil {
		return SeedResult{}, fmt.Errorf("seed tenant %d: %w", opt.Tenant, firstErr)
	}
	if err := ctx.Err(); err != nil {
		return SeedResult{}, err
	}
	res.Linked = int(linked.Load())
	if !opt.Bare {
		res.RelatedRows = opt.Customers * RelatedRowsPerCustomer
	}
	res.Duration = time.Since(start)
	return res, nil
}

// seedBatch writes n customers with ids from first, and one loan per linked
// customer with ids from firstLoan (the loan id space is as sparse as the
// customers', which keeps batches independent).
func seedBatch(ctx context.Context, x *sqlx.DB, opt SeedOptions, first, firstLoan int64, n int, batch uint64) (linked int, err error) {
	rng := rand.New(rand.NewPCG(opt.Seed, batch))
	now := time.Now().UTC().Truncate(time.Second)
	err = withTx(ctx, x, func(tx *sqlx.Tx) error {
		t := opt.Tenant
		people := make([]person, n)
		for i := range people {
			people[i] = newPerson(rng, first+int64(i), now)
		}
		err := copyRows(ctx, tx, "customers (tenant_id, id, first_name, last_name, birth_date, national_id, status, source, created_at, last_activity_at, erasure_requested_at)", n,
			func(i int) []any {
				p := &people[i]
				return []any{t, p.id, p.first, p.last, p.birth, p.nationalID, "active", "seed", p.created, p.activity, p.erasure}
			})
		if err != nil || opt.Bare {
			return err
		}
		err = copyRows(ctx, tx, "customer_addresses (tenant_id, customer_id, kind, line1, city, region, postal_code, country)", n,
			func(i int) []any {
				p := &people[i]
				return []any{t, p.id, "home", strconv.Itoa(10+rng.IntN(9900)) + " " + pick(rng, streets), p.city, p.region, fmt.Sprintf("%05d", rng.IntN(99999)), "US"}
			})
		if err != nil {
			return err
		}
		err = copyRows(ctx, tx, "customer_phones (tenant_id, customer_id, kind, number, is_primary)", 2*n,
			func(i int) []any {
				kind := "mobile"
				if i%2 == 1 {
					kind = "work"
				}
				return []any{t, people[i/2].id, kind, fakePhone(rng), i%2 == 0}
			})
		if err != nil {
			return err
		}
		err = copyRows(ctx, tx, "customer_emails (tenant_id, customer_id, address, verified)", n,
			func(i int) []any {
				p := &people[i]
				return []any{t, p.id, fmt.Sprintf("%s.%s%d@%s", lower(p.first), lower(p.last), p.id%1000, pick(rng, domains)), rng.IntN(4) != 0}
			})
		if err != nil {
			return err
		}
		err = copyRows(ctx, tx, "customer_employers (tenant_id, customer_id, name, position, monthly_income_cents, started_on)", n,
			func(i int) []any {
				return []any{t, people[i].id, pick(rng, employers), pick(rng, positions), int64(150_000 + rng.IntN(1_200_000)), now.AddDate(-rng.IntN(15), -rng.IntN(12), 0)}
			})
		if err != nil {
			return err
		}
		err = copyRows(ctx, tx, "customer_references (tenant_id, customer_id, name, relationship, phone)", 2*n,
			func(i int) []any {
				return []any{t, people[i/2].id, pick(rng, firstNames) + " " + pick(rng, lastNames), pick(rng, relationships), fakePhone(rng)}
			})
		if err != nil {
			return err
		}
		err = copyRows(ctx, tx, "customer_payment_accounts (tenant_id, customer_id, bank_name, account_last4, routing_number)", n,
			func(i int) []any {
				return []any{t, people[i].id, pick(rng, banks), fmt.Sprintf("%04d", rng.IntN(10000)), fmt.Sprintf("%09d", rng.IntN(1_000_000_000))}
			})
		if err != nil {
			return err
		}
		err = copyRows(ctx, tx, "customer_notes (tenant_id, customer_id, author, body)", n,
			func(i int) []any { return []any{t, people[i].id, pick(rng, firstNames), pick(rng, notes)} })
		if err != nil {
			return err
		}
		err = copyRows(ctx, tx, "customer_documents (tenant_id, customer_id, kind, file_name, size_bytes)", n,
			func(i int) []any {
				kind := pick(rng, documentKinds)
				return []any{t, people[i].id, kind, fmt.Sprintf("%s-%d.pdf", kind, people[i].id), int64(20_000 + rng.IntN(4_000_000))}
			})
		if err != nil {
			return err
		}
		err = copyRows(ctx, tx, "customer_custom_field_values (tenant_id, customer_id, field, value)", n,
			func(i int) []any { return []any{t, people[i].id, "preferred_contact", pick(rng, contactPrefs)} })
		if err != nil {
			return err
		}
		err = copyRows(ctx, tx, "customer_credit_scores (tenant_id, customer_id, bureau, score, pulled_at)", n,
			func(i int) []any {
				return []any{t, people[i].id, pick(rng, bureaus), 300 + rng.IntN(551), people[i].activity}
			})
		if err != nil {
			return err
		}
		err = copyRows(ctx, tx, "customer_social_profiles (tenant_id, customer_id, network, handle)", n,
			func(i int) []any {
				p := &people[i]
				return []any{t, p.id, pick(rng, networks), "@" + lower(p.first) + strconv.FormatInt(p.id, 36)}
			})
		if err != nil {
			return err
		}

		var linkedIDs []int64
		for i := range people {
			if rng.Float64() < opt.LinkedFraction {
				linkedIDs = append(linkedIDs, people[i].id)
			}
		}
		linked = len(linkedIDs)
		loanID := func(i int) int64 { return firstLoan + (linkedIDs[i] - first) }
		err = copyRows(ctx, tx, "loans (tenant_id, id, principal_cents, status, opened_at)", len(linkedIDs),
			func(i int) []any {
				return []any{t, loanID(i), int64(50_000 + rng.IntN(2_500_000)), pick(rng, loanStatuses), now.AddDate(0, -rng.IntN(36), 0)}
			})
		if err != nil {
			return err
		}
		return copyRows(ctx, tx, "loan_customers (tenant_id, loan_id, customer_id, role)", len(linkedIDs),
			func(i int) []any { return []any{t, loanID(i), linkedIDs[i], "borrower"} })
	})
	return linked, err
}

// copyRows streams n rows produced by row(i) into table with COPY.
func copyRows(ctx context.Context, tx *sqlx.Tx, table string, n int, row func(i int) []any) error {
	if n == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, "COPY "+table+" FROM STDIN")
	if err != nil {
		return fmt.Errorf("copy into %s: %w", table, err)
	}
	defer stmt.Close()
	for i := range n {
		if _, err := stmt.ExecContext(ctx, row(i)...); err != nil {
			return fmt.Errorf("copy into %s: %w", table, err)
		}
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		return fmt.Errorf("copy into %s: %w", table, err)
	}
	return nil
}

type person struct {
	id                        int64
	first, last, city, region string
	nationalID                string
	birth, created, activity  time.Time
	erasure                   sql.NullTime
}

func newPerson(rng *rand.Rand, id int64, now time.Time) person {
	created := now.Add(-time.Duration(rng.Int64N(int64(3 * 365 * 24 * time.Hour))))
	activity := created.Add(time.Duration(rng.Int64N(int64(now.Sub(created)) + 1)))
	p := person{
		id:         id,
		first:      pick(rng, firstNames),
		last:       pick(rng, lastNames),
		nationalID: fmt.Sprintf("9%02d-%02d-%04d", rng.IntN(100), rng.IntN(100), rng.IntN(10000)),
		birth:      now.AddDate(-18-rng.IntN(60), -rng.IntN(12), -rng.IntN(28)),
		created:    created,
		activity:   activity,
	}
	p.city, p.region = pickCity(rng)
	if rng.IntN(200) == 0 { // about 0.5 % asked to be forgotten
		p.erasure = sql.NullTime{Time: activity, Valid: true}
	}
	return p
}

func pick(rng *rand.Rand, list []string) string { return list[rng.IntN(len(list))] }

func pickCity(rng *rand.Rand) (string, string) {
	c := cities[rng.IntN(len(cities))]
	return c[0], c[1]
}

func fakePhone(rng *rand.Rand) string {
	// 555-01xx numbers are reserved for fiction.
	return fmt.Sprintf("+1-%03d-555-01%02d", 200+rng.IntN(800), rng.IntN(100))
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

var (
	firstNames = []string{"Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas", "Mia", "Mateo", "Amelia", "Benjamin", "Harper", "Levi", "Evelyn", "Ethan", "Camila", "Daniel", "Aaliyah", "Jack", "Luna", "Samuel", "Grace", "Henry", "Chloe", "Owen", "Priya", "Wei", "Fatima", "Diego"}
	lastNames  = []string{"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Nguyen", "Patel", "Kim", "Okafor", "Rossi"}
	streets    = []string{"Main St", "Oak Ave", "Maple Dr", "Cedar Ln", "Pine St", "Elm St", "Washington Blvd", "Lake Rd", "Hill St", "Park Ave", "Sunset Blvd", "River Rd"}
	cities     = [][2]string{{"Austin", "TX"}, {"Columbus", "OH"}, {"Phoenix", "AZ"}, {"Denver", "CO"}, {"Tampa", "FL"}, {"Atlanta", "GA"}, {"Raleigh", "NC"}, {"Nashville", "TN"}, {"Portland", "OR"}, {"Madison", "WI"}, {"Boise", "ID"}, {"Omaha", "NE"}}
	domains    = []string{"example.com", "example.net", "example.org", "mail.example.com"}
	employers  = []string{"Acme Logistics", "Northwind Traders", "Globex", "Initech", "Umbrella Health", "Stark Retail", "Wayne Foods", "City Transit", "County Schools", "Self-employed"}
	positions  = []string{"Driver", "Nurse", "Teacher", "Cashier", "Technician", "Manager", "Clerk", "Electrician", "Cook", "Analyst"}
	banks      = []string{"First Example Bank", "Example Credit Union", "Sample Savings", "Demo National Bank"}
	notes      = []string{"Prefers contact after 5pm.", "Called about payment date.", "Requested paperless statements.", "Updated employer details.", "Verified identity documents."}

	relationships = []string{"friend", "parent", "sibling", "coworker", "spouse", "neighbor"}
	documentKinds = []string{"id_card", "pay_stub", "bank_statement", "utility_bill", "contract"}
	contactPrefs  = []string{"sms", "email", "phone", "mail"}
	bureaus       = []string{"equifax", "experian", "transunion"}
	networks      = []string{"facebook", "linkedin", "instagram", "x"}
	loanStatuses  = []string{"open", "open", "open", "past_due", "paid_off"}
)

// CountCustomers returns how many customers tenant has.
func CountCustomers(ctx context.Context, db *store.DB, tenant int64) (int64, error) {
	var n int64
	if err := db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM customers WHERE tenant_id = $1", tenant).Scan(&n); err != nil {
		return 0, fmt.Errorf("count customers of tenant %d: %w", tenant, err)
	}
	return n, nil
}

// SeedBare adds n bare customers (no related rows, no loans) to tenant after its
// highest id, generated inside PostgreSQL, which is many times faster than
// Seed. Benchmarks of validation use it: validation only looks ids up.
func SeedBare(ctx context.Context, db *store.DB, tenant int64, n int64) (first int64, err error) {
	if err := db.EnsureTenant(ctx, tenant, fmt.Sprintf("tenant %d", tenant)); err != nil {
		return 0, err
	}
	if err := db.SQL().QueryRowContext(ctx, `SELECT coalesce(max(id), 0) + 1 FROM customers WHERE tenant_id = $1`, tenant).Scan(&first); err != nil {
		return 0, fmt.Errorf("seed bare: %w", err)
	}
	const step = 1_000_000
	for lo := int64(0); lo < n; lo += step {
		_, err := db.SQL().ExecContext(ctx, `INSERT INTO customers (tenant_id, id, first_name, last_name, source)
			SELECT $1, g, 'Bench', 'Customer', 'bench' FROM generate_series($2::bigint, $3::bigint) g`,
			tenant, first+lo, first+min(lo+step, n)-1)
		if err != nil {
			return 0, fmt.Errorf("seed bare: %w", err)
		}
	}
	_, err = db.SQL().ExecContext(ctx, `ANALYZE customers`)
	return first, err
}

// withTx runs fn in a transaction of x, committed when fn returns nil.
func withTx(ctx context.Context, x *sqlx.DB, fn func(tx *sqlx.Tx) error) error {
	tx, err := x.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}
