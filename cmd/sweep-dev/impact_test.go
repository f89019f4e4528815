package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sweephq/sweep/internal/config"
	"github.com/sweephq/sweep/internal/pgcluster"
	"github.com/sweephq/sweep/internal/testenv"
)

// TestBenchImpact runs `sweep-dev bench --impact` end to end at a tiny size: the
// table has the four phases with figures, every import deleted its block of
// customers with their related rows, and the workload ran in every phase.
func TestBenchImpact(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL primary and replica and three sweep workers (about half a minute)")
	}
	if _, err := pgcluster.BinDir(); err != nil {
		if os.Getenv("SWEEP_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatalf("%v (SWEEP_TEST_REQUIRE_SERVICES=1)", err)
		}
		t.Skipf("%v; or set SWEEP_TEST_REQUIRE_SERVICES=1 to fail instead", err)
	}
	redisURL := testenv.RedisURL(t)
	u, err := url.Parse(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	redisDB, err := strconv.Atoi(strings.TrimPrefix(u.Path, "/"))
	if err != nil {
		t.Fatalf("Redis DB of %s: %v", redisURL, err)
	}
	cfg, err := config.Load(func(name string) string {
		if name == "SWEEP_REDIS_URL" {
			return redisURL
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	const (
		n    = 3_000
		rate = 50
		idle = 2 * time.Second
	)
	inspect := func(ctx context.Context, dbURL string, phases []impactPhase) error {
		db, err := sql.Open("postgres", dbURL)
		if err != nil {
			return err
		}
		defer db.Close()
		for _, p := range phases {
			var customers, phones, audited, updated int64
			err := db.QueryRowContext(ctx, `SELECT
				(SELECT count(*) FROM customers WHERE tenant_id = $1 AND id BETWEEN $2 AND $3),
				(SELECT count(*) FROM customer_phones WHERE tenant_id = $1 AND customer_id BETWEEN $2 AND $3),
				(SELECT count(*) FROM deletion_audit WHERE tenant_id = $1 AND customer_id BETWEEN $2 AND $3),
				(SELECT count(*) FROM customers WHERE tenant_id = $4 AND last_activity_at BETWEEN $5 AND $6)`,
				impactTenant, p.First, p.Last, impactWorkloadTenant, p.From, p.To).Scan(&customers, &phones, &audited, &updated)
			if err != nil {
				return err
			}
			want := [3]int64{0, 0, n} // customers, phones, audit rows of the block
			if p.Env == nil {
				want = [3]int64{n, 2 * n, 0} // the idle phase's block is left alone
			}
			if got := [3]int64{customers, phones, audited}; got != want {
				t.Errorf("%s: block %d-%d has %d customers, %d phones and %d audit rows; want %v", p.Name, p.First, p.Last, customers, phones, audited, want)
			}
			if updated == 0 {
				t.Errorf("%s: no customer of the workload's tenant was updated from %s to %s", p.Name, p.From.Format(time.StampMilli), p.To.Format(time.StampMilli))
			}
		}
		return nil
	}
	opts := impactOptions{Customers: n, Rate: rate, Idle: idle, RedisDB: redisDB, workerBin: buildSweep(t), inspect: inspect}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := runImpact(ctx, cfg, opts, &out); err != nil {
		t.Fatalf("bench --impact: %v\n%s", err, out.String())
	}
	t.Logf("\n%s", out.String())

	rows := impactTable(t, out.String())
	names := []string{"idle", "unthrottled", "default throttle", "all signals green", "idle again"}
	if len(rows) != len(names) {
		t.Fatalf("the table has %d phases, want %d:\n%s", len(rows), len(names), out.String())
	}
	lag := regexp.MustCompile(`^\d+\.\d s \(\d+(\.\d)? (B|KiB|MiB|GiB)\)$`)
	for i, r := range rows {
		if r[0] != names[i] {
			t.Errorf("row %d is %q, want %q", i, r[0], names[i])
		}
		tx, err := strconv.Atoi(strings.ReplaceAll(r[1], ",", ""))
		if err != nil || tx == 0 {
			t.Errorf("%s: %q transactions of the workload, want a count above 0", r[0], r[1])
		}
		isIdle := strings.HasPrefix(r[0], "idle")
		if isIdle && (tx < int(0.9*rate*idle.Seconds()) || tx > int(1.1*rate*idle.Seconds())+1) {
			t.Errorf("%s: %d transactions in %s at %d/s", r[0], tx, idle, rate)
		}
		var p50, p99, most float64
		for k, f := range []*float64{&p50, &p99, &most} {
			if _, err := fmt.Sscanf(r[2+k], "%g ms", f); err != nil {
				t.Errorf("%s: latency %q: %v", r[0], r[2+k], err)
			}
		}
		if p50 <= 0 || p50 > p99 || p99 > most {
			t.Errorf("%s: p50 %g ms, p99 %g ms, max %g ms: want 0 < p50 ≤ p99 ≤ max", r[0], p50, p99, most)
		}
		if ratio, err := strconv.ParseFloat(r[5], 64); err != nil || ratio <= 0 {
			t.Errorf("%s: p99/idle %q", r[0], r[5])
		}
		if !lag.MatchString(r[6]) {
			t.Errorf("%s: replica lag %q, want such as 0.4 s (1.2 MiB)", r[0], r[6])
		}
		speed, err := strconv.Atoi(strings.ReplaceAll(r[7], ",", ""))
		switch {
		case isIdle && r[7] != "—":
			t.Errorf("%s: import speed %q, want —", r[0], r[7])
		case !isIdle && (err != nil || speed <= 0):
			t.Errorf("%s: import speed %q, want rows per second above 0", r[0], r[7])
		}
	}
	if !regexp.MustCompile(`(?m)^idle reference: both idle phases pooled, [\d,]+ transactions, p50 \d+\.\d ms, p99 \d+\.\d ms$`).MatchString(out.String()) {
		t.Errorf("no idle reference line:\n%s", out.String())
	}
	targets := regexp.MustCompile(`(?m)^targets: default p99 ≤ 1\.5× idle: \d+\.\d\d× [✓✗] ; default lag ≤ 2 s \+ 1 s: \d+\.\d s [✓✗] ; checks cost \(\S+ per check, one per \S+ chunk\): \d+\.\d{4} % [✓✗] \(< 3 %\)$`)
	if !targets.MatchString(out.String()) {
		t.Errorf("no targets line with three verdicts in:\n%s", out.String())
	}
}

// impactTable returns the cells of the table's rows after its header.
func impactTable(t *testing.T, out string) [][]string {
	t.Helper()
	cells := regexp.MustCompile(`\s{2,}`)
	var rows [][]string
	in := false
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "phase "):
			in = true
		case in && (line == "" || strings.HasPrefix(line, "idle reference:") || strings.HasPrefix(line, "targets:")):
			return rows
		case in:
			r := cells.Split(strings.TrimSpace(line), -1)
			if len(r) != 8 {
				t.Fatalf("table row %q has %d cells, want 8", line, len(r))
			}
			rows = append(rows, r)
		}
	}
	t.Fatalf("no table in:\n%s", out)
	return nil
}
