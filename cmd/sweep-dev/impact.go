package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/client"
	"github.com/sweephq/sweep/internal/cmdline"
	"github.com/sweephq/sweep/internal/config"
	"github.com/sweephq/sweep/internal/devdata"
	"github.com/sweephq/sweep/internal/pgcluster"
	"github.com/sweephq/sweep/store"
	"github.com/sweephq/sweep/throttle"
)

// impactOptions configures `sweep-dev bench --impact`.
type impactOptions struct {
	Customers int           // customers each import deletes (N); the bench tenant has 4 × N
	Rate      int           // the workload's transactions per second
	Idle      time.Duration // how long the idle phase measures the workload alone
	RedisDB   int           // the Redis DB of SWEEP_REDIS_URL the bench empties and uses

	// workerBin is the sweep binary the workers run; "" finds it (sweepBinary).
	workerBin string
	// inspect, when set, is called with the bench database's URL and the
	// phases after the last one and before the cluster stops, for a test
	// to count in the database what the imports left.
	inspect func(ctx context.Context, dbURL string, phases []impactPhase) error
}

// impactFlags adds the --impact-* flags to the bench's flag set.
func impactFlags(fs *flag.FlagSet) *impactOptions {
	o := &impactOptions{}
	fs.IntVar(&o.Customers, "impact-customers", 200_000, "with --impact: customers each of the three imports deletes (with related rows)")
	fs.IntVar(&o.Rate, "impact-rate", 200, "with --impact: the platform-like workload's transactions per second")
	fs.DurationVar(&o.Idle, "impact-idle", 20*time.Second, "with --impact: how long the workload is measured alone")
	fs.IntVar(&o.RedisDB, "impact-redis-db", 15, "with --impact: the Redis DB (of SWEEP_REDIS_URL) the bench empties and uses")
	return o
}

// The impact bench's tenants: the one whose customers the imports delete,
// and the one the workload reads and updates, as the platform's other
// tenants go on working while sweep deletes.
const (
	impactTenant         = 920_001
	impactWorkloadTenant = 920_002
	impactWorkloadSize   = 20_000 // the workload tenant's customers, half of them linked to a loan
	impactWorkloadConns  = 8
	impactLagEvery       = 100 * time.Millisecond
	workloadAppName      = "platform-workload" // not "sweep…": the load signal counts these sessions
)

// throttleVars are the worker's throttle settings; every phase sets all of
// them, empty unless the phase says otherwise, so the bench's own
// environment cannot leak into a phase.
var throttleVars = []string{"SWEEP_MAX_REPLICA_LAG", "SWEEP_REPLICA_URLS", "SWEEP_MAX_ACTIVE_BACKENDS",
	"SWEEP_THROTTLE_QUERY", "SWEEP_THROTTLE_HTTP_URL", "SWEEP_THROTTLE_INTERVAL", "SWEEP_MAX_ROWS_PER_SECOND"}

// impactPhase is one phase of the run and what was measured in it.
type impactPhase struct {
	Name        string
	Env         []string // the workers' throttle settings; nil for the idle phase, which runs no import
	First, Last int64    // the phase's block of the bench tenant's customer ids

	From, To time.Time // the measured window: the idle time, or an import's start to its end
	Import   sweep.Import
	Rate     float64 // the import's rows per second from its start to its end
	Holds    []sweep.Hold
	Work     latencies
	Lag      lagMax
}

// runImpact is `sweep-dev bench --impact`: a platform-like workload runs at a
// fixed rate against a primary with a streaming replica while sweep deletes,
// unthrottled, with the default throttle and with every signal on but
// green, and one table compares the workload's latency, the replica's lag
// and the import's speed in each with the workload alone.
func runImpact(ctx context.Context, cfg config.Config, opts impactOptions, stdout io.Writer) (err error) {
	switch {
	case opts.Customers < 1:
		return cmdline.UsageError{Msg: "bench: --impact-customers must be 1 or more"}
	case opts.Rate < 1:
		return cmdline.UsageError{Msg: "bench: --impact-rate must be 1 or more"}
	case opts.Idle <= 0:
		return cmdline.UsageError{Msg: "bench: --impact-idle must be a positive duration such as 20s"}
	case opts.RedisDB < 0:
		return cmdline.UsageError{Msg: "bench: --impact-redis-db must be 0 or more"}
	}
	defaults, err := config.Load(func(string) string { return "" })
	if err != nil {
		return err
	}
	limit := defaults.Throttle.MaxReplicaLag

	cluster, err := pgcluster.Start(ctx, pgcluster.Options{})
	if err != nil {
		return fmt.Errorf("start a PostgreSQL primary and streaming replica for the bench: %w", err)
	}
	defer func() { err = errors.Join(err, cluster.Stop()) }()
	// Registered after the cluster's Stop, so it runs first: the API and
	// the workload end before their database does.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	b := &bench{cfg: cfg, out: stdout, bin: opts.workerBin}
	if err := b.openOn(ctx, cluster.PrimaryURL, opts.RedisDB); err != nil {
		return err
	}
	defer b.db.Close()
	if err := b.startAPI(ctx); err != nil {
		return err
	}
	n := int64(opts.Customers)
	fmt.Fprintf(stdout, "sweep-dev bench --impact: a PostgreSQL primary with a streaming replica (fsync on), Redis %s\n", config.RedactURL(b.rdbURL))
	fmt.Fprintf(stdout, "Workload: %d transactions/s on %d connections (read a customer of another tenant and its loans, update it, commit), latency from each one's scheduled start\n",
		opts.Rate, impactWorkloadConns)
	fmt.Fprintf(stdout, "Imports: %s customers each with %d related rows, one fresh worker process each, default concurrency and chunk size\n",
		sweep.Commas(n), devdata.RelatedRowsPerCustomer)

	// The bench's own view of the primary, for the lag samples and the
	// checkpoints; named sweep… so the load signal leaves it out.
	mon, err := sql.Open("postgres", cluster.PrimaryURL+"&application_name=sweep-bench")
	if err != nil {
		return err
	}
	defer mon.Close()
	replica, err := sql.Open("postgres", cluster.ReplicaURL+"&application_name=sweep-bench")
	if err != nil {
		return err
	}
	defer replica.Close()

	start := time.Now()
	if _, err := devdata.Seed(ctx, b.db, devdata.SeedOptions{Tenant: impactTenant, Customers: 4 * opts.Customers, Seed: 2026}); err != nil {
		return err
	}
	wl, err := devdata.Seed(ctx, b.db, devdata.SeedOptions{Tenant: impactWorkloadTenant, Customers: impactWorkloadSize, LinkedFraction: 0.5, Seed: 2027})
	if err != nil {
		return err
	}
	// The workload runs from here to the end, warm by the first phase; only
	// its transactions within a phase's window count.
	work, err := startWorkload(ctx, workloadURL(b.dbURL), opts.Rate, wl.FirstID, wl.LastID)
	if err != nil {
		return err
	}
	defer work.stop()
	if err := b.settleImpact(ctx, cluster, mon, replica); err != nil {
		return err
	}
	tok, _, _, err := b.db.ReplaceToken(ctx, impactTenant, "bench", sweep.Scopes)
	if err == nil {
		err = b.noApproval(ctx, impactTenant)
	}
	if err != nil {
		return err
	}
	b.tokens[impactTenant] = tok
	fmt.Fprintf(stdout, "  (seeded %s customers to delete and %s for the workload, vacuumed, replica caught up: %s)\n",
		sweep.Commas(4*n), sweep.Commas(impactWorkloadSize), time.Since(start).Round(time.Second))

	green := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	defer green.Close()

	phases := []impactPhase{
		{Name: "idle"},
		{Name: "unthrottled", Env: []string{"SWEEP_MAX_REPLICA_LAG=0", "SWEEP_MAX_ROWS_PER_SECOND=0"}},
		{Name: "default throttle", Env: []string{}},
		{Name: "all signals green", Env: []string{"SWEEP_MAX_ROWS_PER_SECOND=0", "SWEEP_MAX_REPLICA_LAG=1h", "SWEEP_REPLICA_URLS=" + cluster.ReplicaURL,
			"SWEEP_MAX_ACTIVE_BACKENDS=100000", "SWEEP_THROTTLE_QUERY=SELECT 0", "SWEEP_THROTTLE_HTTP_URL=" + green.URL}},
		// Idle again at the end: the reference pools both idle phases.
		{Name: "idle again"},
	}
	for i := range phases {
		p := &phases[i]
		p.First, p.Last = 1+int64(i)*n, int64(i+1)*n
		if p.Env == nil { // no import: the first block, which stays whole
			p.First, p.Last = 1, n
		}
		if err := b.impactPhase(ctx, cluster, mon, replica, p, opts.Idle); err != nil {
			return fmt.Errorf("phase %s: %w", p.Name, err)
		}
		p.Work = work.between(ctx, p.From, p.To)
		if p.Env == nil {
			fmt.Fprintf(stdout, "  %-18s %s of the workload alone\n", p.Name+":", p.To.Sub(p.From).Round(100*time.Millisecond))
		} else {
			fmt.Fprintf(stdout, "  %-18s %s customers deleted in %s\n", p.Name+":", sweep.Commas(p.Import.DeletedRows), p.To.Sub(p.From).Round(100*time.Millisecond))
		}
	}
	if opts.inspect != nil {
		if err := opts.inspect(ctx, b.dbURL, phases); err != nil {
			return err
		}
	}
	// The idle reference pools both idle phases, before and after the
	// imports: one quiet or noisy minute alone does not set the bar.
	var idleSpans [][2]time.Time
	for _, p := range phases {
		if p.Env == nil {
			idleSpans = append(idleSpans, [2]time.Time{p.From, p.To})
		}
	}
	idleRef := work.within(ctx, idleSpans)
	perCheck, err := checkCost(ctx, b.db, throttle.Config{MaxReplicaLag: time.Hour, ReplicaURLs: []string{cluster.ReplicaURL},
		MaxActiveBackends: 100_000, Query: "SELECT 0", HTTPURL: green.URL})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	printImpact(stdout, phases, idleRef, perCheck, b.cfg.ChunkSize, limit)
	return nil
}

// settleImpact puts every phase on the same footing: the dead rows of the
// last import vacuumed (autovacuum would otherwise run during the next), a
// checkpoint (each phase then pays the same full-page writes), the replica
// caught up and its own checkpoint (restartpoint) done, so that neither
// server flushes the last phase's pages to disk during the next.
func (b *bench) settleImpact(ctx context.Context, cluster *pgcluster.Cluster, mon, replica *sql.DB) error {
	if err := b.settle(ctx); err != nil {
		return err
	}
	if err := devdata.Vacuum(ctx, b.db, "loans", "imports", "import_blocks"); err != nil {
		return err
	}
	if _, err := mon.ExecContext(ctx, "CHECKPOINT"); err != nil {
		return fmt.Errorf("checkpoint the primary: %w", err)
	}
	if err := cluster.WaitCaughtUp(ctx); err != nil {
		return err
	}
	if _, err := replica.ExecContext(ctx, "CHECKPOINT"); err != nil {
		return fmt.Errorf("checkpoint the replica: %w", err)
	}
	// Autovacuum woken by the last phase's deletions (or the seeding) would
	// run during the next; wait, up to a minute, until none has run for 2 s.
	quiet := 0
	for deadline := time.Now().Add(time.Minute); quiet < 20 && time.Now().Before(deadline); {
		var n int
		if err := mon.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'`).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			quiet++
		} else {
			quiet = 0
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

// impactPhase runs one phase: the workload alone for idle, else an import of
// the phase's block by a fresh worker with the phase's settings, sampling the
// replica's lag all the while.
func (b *bench) impactPhase(ctx context.Context, cluster *pgcluster.Cluster, mon, replica *sql.DB, p *impactPhase, idle time.Duration) error {
	if err := b.settleImpact(ctx, cluster, mon, replica); err != nil {
		return err
	}
	if p.Env == nil {
		lag := sampleLag(ctx, cluster, mon)
		p.From = time.Now()
		select {
		case <-ctx.Done():
		case <-time.After(idle):
		}
		p.To = time.Now()
		p.Lag = lag.stop()
		return ctx.Err()
	}
	env := make([]string, 0, len(throttleVars)+len(p.Env))
	for _, v := range throttleVars {
		env = append(env, v+"=")
	}
	w, err := b.startWorker(append(env, p.Env...)...)
	if err != nil {
		return err
	}
	defer w.stop()
	id, err := b.upload(ctx, impactTenant, benchFile(p.First, p.Last-p.First+1), client.UploadOptions{Policy: sweep.PolicyLine})
	if err != nil {
		return err
	}
	if _, err := b.waitFor(ctx, impactTenant, id, sweep.StatusValidated); err != nil {
		return err
	}
	// The validation wrote WAL too; the run starts with the replica level.
	if err := cluster.WaitCaughtUp(ctx); err != nil {
		return err
	}
	lag := sampleLag(ctx, cluster, mon)
	p.From = time.Now()
	if _, err := b.client(impactTenant).Start(ctx, id, client.StartOptions{}); err != nil {
		lag.stop()
		return fmt.Errorf("start import %d: %w", id, err)
	}
	imp, err := b.waitFor(ctx, impactTenant, id, sweep.StatusCompleted)
	p.Lag = lag.stop()
	if err != nil {
		return err
	}
	p.Import, p.To = imp, *imp.FinishedAt
	p.Rate = float64(imp.DeletedRows) / p.To.Sub(p.From).Seconds()
	p.Holds, err = b.db.ImportHolds(ctx, impactTenant, id)
	return err
}

// workloadURL is the database's URL for the workload's sessions: named as
// the platform's, not sweep's.
func workloadURL(dbURL string) string {
	u, _ := url.Parse(dbURL)
	q := u.Query()
	q.Set("application_name", workloadAppName)
	u.RawQuery = q.Encode()
	return u.String()
}

// workload is the platform's own traffic, open loop: transactions are
// scheduled at a fixed rate whatever the database does, and each one's
// latency runs from its scheduled start, so a stall that delays the ones
// behind it counts in all of them (no coordinated omission).
type workload struct {
	db       *sql.DB
	start    time.Time     // the first transaction's scheduled start
	every    time.Duration // the schedule's step
	tenant   int64
	lo, hi   int64 // the customer ids it picks from
	cancel   context.CancelFunc
	done     sync.WaitGroup
	mu       sync.Mutex
	finished []txRecord
}

type txRecord struct {
	at     time.Time // scheduled start
	lat    time.Duration
	failed bool
}

func startWorkload(ctx context.Context, dbURL string, rate int, lo, hi int64) (*workload, error) {
	db, err := sql.Open("postgres", dbURL)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(impactWorkloadConns)
	db.SetMaxIdleConns(impactWorkloadConns)
	// Every connection opened now, not in the middle of a phase.
	conns := make([]*sql.Conn, 0, impactWorkloadConns)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range impactWorkloadConns {
		c, err := db.Conn(ctx)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("connect the workload: %w", err)
		}
		conns = append(conns, c)
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &workload{db: db, start: time.Now(), every: time.Second / time.Duration(rate),
		tenant: impactWorkloadTenant, lo: lo, hi: hi, cancel: cancel}
	// A backlog of two minutes: behind a stall longer than that the
	// scheduler waits, but each transaction keeps its scheduled time.
	due := make(chan time.Time, 120*rate)
	w.done.Add(1 + impactWorkloadConns)
	go func() {
		defer w.done.Done()
		defer close(due)
		t := time.NewTimer(0)
		defer t.Stop()
		for i := 0; ; i++ {
			at := w.start.Add(time.Duration(i) * w.every)
			t.Reset(time.Until(at))
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			select {
			case <-ctx.Done():
				return
			case due <- at:
			}
		}
	}()
	for k := range impactWorkloadConns {
		go func() {
			defer w.done.Done()
			rng := rand.New(rand.NewPCG(uint64(k), 2026))
			for at := range due {
				err := w.tx(ctx, lo+rng.Int64N(hi-lo+1))
				if ctx.Err() != nil {
					return
				}
				w.mu.Lock()
				w.finished = append(w.finished, txRecord{at: at, lat: time.Since(at), failed: err != nil})
				w.mu.Unlock()
			}
		}()
	}
	return w, nil
}

// tx is one of the platform's short transactions: a customer and its loans
// read, the customer's last activity updated.
func (w *workload) tx(ctx context.Context, id int64) error {
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var (
		first, last, status string
		activity            time.Time
	)
	if err := tx.QueryRowContext(ctx, `SELECT first_name, last_name, status, last_activity_at FROM customers
		WHERE tenant_id = $1 AND id = $2`, w.tenant, id).Scan(&first, &last, &status, &activity); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT l.id, l.principal_cents, l.status FROM loan_customers lc
		JOIN loans l ON l.tenant_id = lc.tenant_id AND l.id = lc.loan_id
		WHERE lc.tenant_id = $1 AND lc.customer_id = $2`, w.tenant, id)
	if err != nil {
		return err
	}
	for rows.Next() {
		var (
			loan, cents int64
			st          string
		)
		if err := rows.Scan(&loan, &cents, &st); err != nil {
			rows.Close()
			return err
		}
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE customers SET last_activity_at = now() WHERE tenant_id = $1 AND id = $2`, w.tenant, id); err != nil {
		return err
	}
	return tx.Commit()
}

func (w *workload) stop() {
	w.cancel()
	w.done.Wait()
	w.db.Close()
}

// latencies are the workload's figures over a window.
type latencies struct {
	Count, Failed int
	P50, P99, Max time.Duration
}

// between summarises the transactions scheduled from from to to, once every
// one of them has ended (the slow ones are the point), or ctx ends.
func (w *workload) between(ctx context.Context, from, to time.Time) latencies {
	return w.within(ctx, [][2]time.Time{{from, to}})
}

// within summarises the transactions scheduled in any of spans, pooled.
func (w *workload) within(ctx context.Context, spans [][2]time.Time) latencies {
	var to time.Time
	for _, sp := range spans {
		if sp[1].After(to) {
			to = sp[1]
		}
	}
	scheduled := int(to.Sub(w.start)/w.every) + 1
	for {
		w.mu.Lock()
		ended := 0
		for _, r := range w.finished {
			if !r.at.After(to) {
				ended++
			}
		}
		w.mu.Unlock()
		if ended >= scheduled || ctx.Err() != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	w.mu.Lock()
	var lat []time.Duration
	failed := 0
	for _, r := range w.finished {
		if !slices.ContainsFunc(spans, func(sp [2]time.Time) bool { return !r.at.Before(sp[0]) && !r.at.After(sp[1]) }) {
			continue
		}
		lat = append(lat, r.lat)
		if r.failed {
			failed++
		}
	}
	w.mu.Unlock()
	slices.Sort(lat)
	l := latencies{Count: len(lat), Failed: failed}
	if len(lat) > 0 {
		rank := func(q float64) time.Duration { return lat[int(q*float64(len(lat)-1)+0.5)] }
		l.P50, l.P99, l.Max = rank(0.50), rank(0.99), lat[len(lat)-1]
	}
	return l
}

// lagMax is the highest replica lag seen in a phase: in time, as the
// primary (pg_stat_replication's replay_lag, counted only while the replica
// has WAL left to replay: the server keeps an old figure for seconds after
// catching up) and the replica itself see it, and in bytes of WAL not yet
// replayed, which is exact.
type lagMax struct {
	Primary, Replica time.Duration
	Bytes            int64
	Samples          int
	Err              error // the last failed sample's error
}

// Time is the higher of the two views.
func (l lagMax) Time() time.Duration { return max(l.Primary, l.Replica) }

type lagSampler struct {
	cancel context.CancelFunc
	done   chan struct{}
	max    lagMax
}

// sampleLag reads the replica's lag every 100 ms until stopped.
func sampleLag(ctx context.Context, cluster *pgcluster.Cluster, mon *sql.DB) *lagSampler {
	ctx, cancel := context.WithCancel(ctx)
	s := &lagSampler{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(impactLagEvery)
		defer t.Stop()
		for {
			s.sample(ctx, cluster, mon)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *lagSampler) sample(ctx context.Context, cluster *pgcluster.Cluster, mon *sql.DB) {
	rows, err := mon.QueryContext(ctx, `SELECT coalesce(extract(epoch FROM replay_lag), 0)::float8,
		coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::bigint FROM pg_stat_replication`)
	if err == nil {
		for rows.Next() {
			var (
				secs  float64
				bytes int64
			)
			if err = rows.Scan(&secs, &bytes); err != nil {
				break
			}
			s.max.Bytes = max(s.max.Bytes, bytes)
			if bytes > 0 {
				s.max.Primary = max(s.max.Primary, time.Duration(secs*float64(time.Second)))
			}
		}
		rows.Close()
	}
	if err == nil {
		var lag time.Duration
		if lag, err = cluster.ReplicaLag(ctx); err == nil {
			s.max.Replica = max(s.max.Replica, lag)
		}
	}
	if err != nil && ctx.Err() == nil {
		s.max.Err = err
		return
	}
	s.max.Samples++
}

func (s *lagSampler) stop() lagMax {
	s.cancel()
	<-s.done
	return s.max
}

// printImpact writes the table and the targets.
// checkCost times what a run pays before each chunk with every signal of cfg
// on and green: the mean time of a check, readings cached and refreshed in
// the background as in a worker.
func checkCost(ctx context.Context, db *store.DB, cfg throttle.Config) (time.Duration, error) {
	c, err := throttle.New(db, cfg)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	if h := c.Check(ctx, impactTenant); h != nil {
		return 0, fmt.Errorf("every signal should be green, yet: %s", h.Message)
	}
	const n = 200_000
	start := time.Now()
	for range n {
		c.Check(ctx, impactTenant)
	}
	return time.Since(start) / n, nil
}

func printImpact(w io.Writer, phases []impactPhase, idleRef latencies, perCheck time.Duration, chunk int, limit time.Duration) {
	idle := idleRef.P99
	ratio := func(p impactPhase) float64 {
		if idle <= 0 {
			return 0
		}
		return float64(p.Work.P99) / float64(idle)
	}
	row := "%-19s  %7s  %9s  %9s  %10s  %8s  %-18s  %13s\n"
	fmt.Fprintf(w, row, "phase", "tx", "p50", "p99", "max", "p99/idle", "max replica lag", "import rows/s")
	for _, p := range phases {
		rate := "—"
		if p.Env != nil {
			rate = sweep.Commas(int64(p.Rate))
		}
		fmt.Fprintf(w, row, p.Name, sweep.Commas(int64(p.Work.Count)), ms(p.Work.P50), ms(p.Work.P99), ms(p.Work.Max),
			fmt.Sprintf("%.2f", ratio(p)), fmt.Sprintf("%.1f s (%s)", p.Lag.Time().Seconds(), byteSize(p.Lag.Bytes)), rate)
	}
	unthrottled, def, green := phases[1], phases[2], phases[3]
	check := func(ok bool) string {
		if ok {
			return "✓"
		}
		return "✗"
	}
	fmt.Fprintf(w, "idle reference: both idle phases pooled, %s transactions, p50 %s, p99 %s\n",
		sweep.Commas(int64(idleRef.Count)), ms(idleRef.P50), ms(idleRef.P99))
	// The checks' cost: one check per chunk, against the time of a chunk at
	// the green phase's speed. (The two imports' speeds also differ by the
	// run-to-run spread of a 2-core machine, shown as e2e.)
	chunkTime := time.Duration(float64(chunk) / green.Rate * float64(time.Second))
	cost := 100 * float64(perCheck) / float64(chunkTime)
	e2e := 100 * (unthrottled.Rate - green.Rate) / unthrottled.Rate
	fmt.Fprintf(w, "targets: default p99 ≤ 1.5× idle: %.2f× %s ; default lag ≤ %s + 1 s: %.1f s %s ; checks cost (%s per check, one per %s chunk): %.4f %% %s (< 3 %%)\n",
		ratio(def), check(ratio(def) <= 1.5),
		secondsText(limit), def.Lag.Time().Seconds(), check(def.Lag.Time() <= limit+time.Second),
		perCheck.Round(time.Nanosecond), chunkTime.Round(100*time.Microsecond), cost, check(cost < 3))
	fmt.Fprintf(w, "(import speed, all signals green vs unthrottled, end to end: %+.1f %%, the two runs' own spread included)\n", -e2e)

	fmt.Fprintln(w)
	for _, p := range phases {
		fmt.Fprintf(w, "  %s: replica lag as the primary sees it %.1f s, as the replica does %.1f s, %s behind at most (%d samples)",
			p.Name, p.Lag.Primary.Seconds(), p.Lag.Replica.Seconds(), byteSize(p.Lag.Bytes), p.Lag.Samples)
		if p.Lag.Err != nil {
			fmt.Fprintf(w, "; a sample failed: %v", p.Lag.Err)
		}
		if p.Work.Failed > 0 {
			fmt.Fprintf(w, "; %d workload transactions failed", p.Work.Failed)
		}
		if p.Env != nil {
			fmt.Fprintf(w, "; %s", holdsText(p.Holds, p.To))
		}
		fmt.Fprintln(w)
	}
}

// holdsText says how often and how long a run was held, by reason.
func holdsText(holds []sweep.Hold, end time.Time) string {
	if len(holds) == 0 {
		return "never held"
	}
	type sum struct {
		n    int
		held time.Duration
		last string
	}
	by := map[sweep.HoldReason]*sum{}
	var order []sweep.HoldReason
	for _, h := range slices.Backward(holds) { // oldest first
		s := by[h.Reason]
		if s == nil {
			s = &sum{}
			by[h.Reason] = s
			order = append(order, h.Reason)
		}
		ended := end
		if h.Ended != nil {
			ended = *h.Ended
		}
		s.n++
		s.held += ended.Sub(h.Since)
		s.last = h.Message
	}
	var parts []string
	for _, r := range order {
		s := by[r]
		parts = append(parts, fmt.Sprintf("held %d× for %s, %.1f s in all (last: %s)", s.n, r, s.held.Seconds(), s.last))
	}
	return strings.Join(parts, "; ")
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + " ms"
}

func secondsText(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + " s"
}

// byteSize writes n bytes in binary units: "0 B", "512 B", "3.4 MiB".
func byteSize(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	v, unit := float64(n)/1024, "KiB"
	for _, u := range []string{"MiB", "GiB", "TiB"} {
		if v < 1024 {
			break
		}
		v, unit = v/1024, u
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + unit
}
