package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/client"
	"github.com/sweephq/sweep/examples"
	"github.com/sweephq/sweep/internal/cmdline"
	"github.com/sweephq/sweep/internal/config"
	"github.com/sweephq/sweep/internal/devdata"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/lifecycle"
	"github.com/sweephq/sweep/plan"
	"github.com/sweephq/sweep/store"
	"github.com/sweephq/sweep/uploader"
)

// bench is one `sweep-dev bench` run: a scratch database and Redis DB, an API in
// this process and workers as separate processes, as in production.
type bench struct {
	cfg    config.Config
	out    io.Writer
	db     *store.DB
	dbURL  string
	rdbURL string
	api    string
	tokens map[int64]string // tenant → token
	bin    string           // the sweep binary workers run; "" finds it (sweepBinary)
}

// client is the API client of tenant's bench token.
func (b *bench) client(tenant int64) *client.Client {
	return client.New(b.api, b.tokens[tenant])
}

const benchTenant = 900_001

func runBench(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	fs := cmdline.NewFlags("bench")
	rows := fs.Int64("rows", 1_000_000, "rows in the validation file (0 skips the validation section)")
	memRows := fs.Int64("memory-rows", 10_000_000, "rows of the second file whose worker memory is compared with the first (0 skips it)")
	customers := fs.Int("customers", 1_000_000, "customers seeded (with related rows) for each deletion measure (0 skips the deletion section)")
	apiSample := fs.Int("api-sample", 5_000, "customers deleted one by one through the API for measure (1)")
	planClients := fs.Int("plan-customers", 20_000, "clients of examples/restrict erased by its plan and by hand-written SQL, side by side (0 skips the section)")
	impact := fs.Bool("impact", false, "measure instead what a deletion run does to the platform's own traffic (impact.go)")
	bin := fs.String("sweep", "", "the sweep server binary the bench's workers run (default: the sweep next to sweep-dev, else on PATH)")
	impactOpts := impactFlags(fs)
	if err := cmdline.Parse(fs, args); err != nil {
		return err
	}
	if *impact {
		impactOpts.workerBin = *bin
		return runImpact(ctx, cfg, *impactOpts, stdout)
	}
	b := &bench{cfg: cfg, out: stdout, bin: *bin}
	if err := b.open(ctx); err != nil {
		return err
	}
	defer b.db.Close()
	fmt.Fprintf(stdout, "sweep-dev bench on %d CPUs (database %s, Redis %s)\n\n", runtime.NumCPU(), config.RedactURL(b.dbURL), config.RedactURL(b.rdbURL))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := b.startAPI(ctx); err != nil {
		return err
	}
	if *rows > 0 {
		if err := b.validate(ctx, *rows, *memRows); err != nil {
			return err
		}
	}
	if *customers > 0 {
		if err := b.run(ctx, *customers, *apiSample); err != nil {
			return err
		}
	}
	if *planClients > 0 {
		return b.plans(ctx, *planClients)
	}
	return nil
}

// benchHashKey keys the hash of the plans' anonymized columns in the bench.
var benchHashKey = []byte("sweep-dev bench: a hash key of 32+ bytes")

// plans erases examples/restrict's clients by its plan and by hand-written
// set-based SQL doing the same (devdata.RestrictByHand), in the same
// chunks and transactions, alternating (hand-written first, then the plan
// first), and prints both rates.
func (b *bench) plans(ctx context.Context, n int) error {
	fmt.Fprintf(b.out, "The plan against hand-written SQL: examples/restrict (every key RESTRICT, a grandchild, a partitioned child, a block,\n"+
		"anonymized payments, owned addresses), %s clients per measure, chunks of 1,000 in one transaction each, one connection\n", sweep.Commas(int64(n)))
	schema, err := examples.Schema("restrict")
	if err != nil {
		return err
	}
	if _, err := b.db.SQL().ExecContext(ctx, schema); err != nil {
		return fmt.Errorf("create examples/restrict: %w", err)
	}
	src, err := examples.Plan("restrict")
	if err != nil {
		return err
	}
	p, err := plan.Parse("examples/restrict/plan.yaml", src)
	if err != nil {
		return err
	}
	cp, err := b.db.CheckPlan(ctx, p, benchHashKey)
	if err != nil {
		return err
	}
	db := b.db.SQL().DB
	ways := []struct {
		name  string
		chunk func(tx *sql.Tx, tenant int, ids []int64) error
	}{
		{"hand-written", func(tx *sql.Tx, tenant int, ids []int64) error {
			return devdata.RestrictByHand(ctx, tx, tenant, ids, benchHashKey)
		}},
		{"plan", func(tx *sql.Tx, tenant int, ids []int64) error {
			_, err := cp.EraseUnlocked(ctx, tx, int64(tenant), ids, false)
			return err
		}},
	}
	var sum [2]float64
	for round := range 2 {
		for j := range ways {
			i := j ^ round // the second round goes the other way round: neither always meets the fuller tables
			w := ways[i]
			tenant := benchPlans + 2*round + i
			if err := devdata.SeedRestrict(ctx, db, tenant, n); err != nil {
				return err
			}
			rate, err := devdata.EraseInChunks(ctx, db, tenant, n, 1000, func(tx *sql.Tx, ids []int64) error { return w.chunk(tx, tenant, ids) })
			if err != nil {
				return fmt.Errorf("erase examples/restrict (%s): %w", w.name, err)
			}
			sum[i] += rate
			b.line(fmt.Sprintf("(%d) examples/restrict, %s, round %d", 5+i, w.name, round+1), rate, "cust/s", "")
		}
	}
	b.line("(6) against (5), both rounds", 100*sum[1]/sum[0], "%", "the plan's speed as a share of hand-written SQL; target ≥ 95 %")
	fmt.Fprintln(b.out)
	return nil
}

// open makes the scratch database sweep_bench next to the configured one and
// takes Redis DB 15 of the configured Redis, both emptied first.
func (b *bench) open(ctx context.Context) error {
	return b.openOn(ctx, b.cfg.DatabaseURL, 15)
}

// openOn makes the scratch database sweep_bench on the server of adminURL,
// migrated, and takes Redis DB redisDB of the configured Redis, both emptied
// first.
func (b *bench) openOn(ctx context.Context, adminURL string, redisDB int) error {
	u, err := url.Parse(adminURL)
	if err != nil {
		return err
	}
	u.Path = "/sweep_bench"
	if b.dbURL, err = store.WithSchema(u.String(), b.cfg.Schema); err != nil {
		return err
	}
	if err := devdata.ResetDatabase(ctx, adminURL, "sweep_bench"); err != nil {
		return fmt.Errorf("create the bench database (the role needs CREATEDB): %w", err)
	}
	if b.db, err = store.Open(ctx, b.dbURL); err != nil {
		return err
	}
	m, err := b.db.Migrator(b.cfg.Schema)
	if err == nil {
		_, err = m.Up(ctx)
	}
	if err == nil {
		err = examples.CreateDemoPlatform(ctx, b.db.SQL())
	}
	if err == nil {
		// The bench erases the demo platform by its plan, as serve does.
		_, err = b.db.LoadPlan(ctx, "", nil)
	}
	if err != nil {
		return err
	}
	if b.rdbURL, err = jobs.RedisURLWithDB(b.cfg.RedisURL, redisDB); err != nil {
		return err
	}
	rdb, err := jobs.OpenRedis(b.rdbURL)
	if err != nil {
		return err
	}
	defer rdb.Close()
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		return fmt.Errorf("empty Redis DB %d for the bench: %w", redisDB, err)
	}
	b.tokens = map[int64]string{}
	return nil
}

// tenant makes a bench tenant with n bare customers, settled as in a database
// that has lived a while (vacuumed, analysed), and a token for it.
func (b *bench) tenant(ctx context.Context, tenant, n int64) error {
	if _, err := devdata.SeedBare(ctx, b.db, tenant, n); err != nil {
		return err
	}
	if err := devdata.Vacuum(ctx, b.db, "customers"); err != nil {
		return err
	}
	tok, _, _, err := b.db.ReplaceToken(ctx, tenant, "bench", sweep.Scopes)
	b.tokens[tenant] = tok
	if err != nil {
		return err
	}
	return b.noApproval(ctx, tenant)
}

// noApproval lets a bench tenant's imports run without a second person's
// approval, however large: the bench measures speed, not four eyes.
func (b *bench) noApproval(ctx context.Context, tenant int64) error {
	never := int64(0)
	return b.db.SetApprovalThreshold(ctx, tenant, &never)
}

// startAPI serves the API from this process on a free port until ctx ends.
func (b *bench) startAPI(ctx context.Context) error {
	rdb, err := jobs.OpenRedis(b.rdbURL)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	life := lifecycle.New(b.db, rdb, quiet)
	srv := &http.Server{Handler: uploader.NewServer(uploader.Options{DB: b.db, Redis: rdb, API: true, Logger: quiet, Lifecycle: life, Queues: life,
		Limits: uploader.Limits{MaxUploadBytes: 1 << 40, MaxRows: 1 << 40}})}
	go srv.Serve(ln)
	go func() { <-ctx.Done(); srv.Close(); rdb.Close() }()
	b.api = "http://" + ln.Addr().String()
	return nil
}

// worker is a `sweep serve --roles worker` child process.
type workerProc struct {
	cmd *exec.Cmd
}

func (b *bench) startWorker(extraEnv ...string) (*workerProc, error) {
	self, err := sweepBinary(b.bin)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "serve", "--roles", "worker")
	cmd.Env = append(os.Environ(), "SWEEP_DATABASE_URL="+b.dbURL, "SWEEP_REDIS_URL="+b.rdbURL,
		"SWEEP_HTTP_ADDR=127.0.0.1:0", "SWEEP_LOG_LEVEL=warn", "SWEEP_MAX_ROWS=1000000000",
		"SWEEP_MAX_ROWS_PER_SECOND=0")
	cmd.Env = append(cmd.Env, extraEnv...)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &workerProc{cmd: cmd}, nil
}

// peakRSS is the most memory the process has held (VmHWM), or 0 where
// /proc does not tell.
func (w *workerProc) peakRSS() int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", w.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func (w *workerProc) stop() {
	w.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { w.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		w.cmd.Process.Kill()
		<-done
	}
}

// benchFile writes n rows of ids first..first+n-1 in a random order.
func benchFile(first, n int64) []byte {
	var buf bytes.Buffer
	buf.Grow(int(n) * 16)
	buf.WriteString("action,customerId\n")
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	perm := rng.Perm(int(n))
	for _, p := range perm {
		buf.WriteString("remove,")
		buf.WriteString(strconv.FormatInt(first+int64(p), 10))
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

// upload posts a file to the API as tenant and returns the new import's id.
func (b *bench) upload(ctx context.Context, tenant int64, data []byte, opts client.UploadOptions) (int64, error) {
	imp, err := b.client(tenant).Upload(ctx, "bench.csv", bytes.NewReader(data), opts)
	if err != nil {
		return 0, fmt.Errorf("upload: %w", err)
	}
	return imp.ID, nil
}

// waitFor polls an import until it is settled (sweep.Import.Settled) and
// returns it when it is in one of the states: every 5 ms while it validates
// (a matter of seconds, timed by this poll), every 50 ms while it runs (timed
// by the import's own start and finish), so the polling does not take CPU
// from the deletions measured. It reads the database, not the API, for the
// same reason.
func (b *bench) waitFor(ctx context.Context, tenant, id int64, states ...sweep.Status) (sweep.Import, error) {
	every := 5 * time.Millisecond
	for {
		imp, err := b.db.GetImport(ctx, tenant, id)
		if err != nil {
			return imp, err
		}
		if imp.Settled() {
			if !slices.Contains(states, imp.Status) {
				return imp, fmt.Errorf("import %d ended %s: %s", id, imp.Status, imp.Error)
			}
			return imp, nil
		}
		if imp.Status == sweep.StatusRunning {
			every = 50 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return imp, ctx.Err()
		case <-time.After(every):
		}
	}
}

func (b *bench) validate(ctx context.Context, rows, memRows int64) error {
	fmt.Fprintf(b.out, "Validation: a file of N rows deleting all N customers of a tenant (customers generated in the database)\n")
	data := benchFile(1, rows)
	start := time.Now()
	fr, err := sweep.NewFileReader(bytes.NewReader(data), 0)
	if err != nil {
		return err
	}
	for {
		if _, err := fr.Next(); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return err
		}
	}
	b.line(fmt.Sprintf("parse only, %s rows (reader, in memory)", sweep.Commas(rows)), float64(rows)/time.Since(start).Seconds(), "rows/s", "target ≥ 1,000,000")

	measure := func(tenant int64, data []byte, n int64) (float64, int64, error) {
		w, err := b.startWorker()
		if err != nil {
			return 0, 0, err
		}
		defer w.stop()
		time.Sleep(300 * time.Millisecond) // let it connect before the clock starts
		start := time.Now()
		id, err := b.upload(ctx, tenant, data, client.UploadOptions{})
		if err != nil {
			return 0, 0, err
		}
		imp, err := b.waitFor(ctx, tenant, id, sweep.StatusValidated)
		if err != nil {
			return 0, 0, err
		}
		if imp.ValidRows != n {
			return 0, 0, fmt.Errorf("bench import %d: %d valid rows, want %d", id, imp.ValidRows, n)
		}
		return float64(n) / time.Since(start).Seconds(), w.peakRSS(), nil
	}
	if err := b.tenant(ctx, benchTenant, rows); err != nil {
		return err
	}
	rate, rss, err := measure(benchTenant, data, rows)
	if err != nil {
		return err
	}
	b.line(fmt.Sprintf("upload → validated, %s rows", sweep.Commas(rows)), rate, "rows/s", "target ≥ 250,000")
	b.line(fmt.Sprintf("worker peak RSS, %s rows", sweep.Commas(rows)), float64(rss>>20), "MiB", "")
	if memRows > 0 {
		if err := b.tenant(ctx, benchTenant+1, memRows); err != nil {
			return err
		}
		big := benchFile(1, memRows)
		rateBig, rssBig, err := measure(benchTenant+1, big, memRows)
		if err != nil {
			return err
		}
		b.line(fmt.Sprintf("upload → validated, %s rows", sweep.Commas(memRows)), rateBig, "rows/s", "")
		growth := 100 * (float64(rssBig) - float64(rss)) / float64(max(rss, 1))
		b.line(fmt.Sprintf("worker peak RSS, %s rows", sweep.Commas(memRows)), float64(rssBig>>20), "MiB",
			fmt.Sprintf("%+.0f%% vs %s rows; target within ±20%%", growth, sweep.Commas(rows)))
	}
	fmt.Fprintln(b.out)
	return nil
}

func (b *bench) line(what string, v float64, unit, note string) {
	if note != "" {
		note = "  (" + note + ")"
	}
	fmt.Fprintf(b.out, "  %-60s %12s %-7s%s\n", what, sweep.Commas(int64(v)), unit, note)
}

// Tenants of the deletion section, each seeded with identical data.
const (
	benchRaw      = 910_001
	benchImport   = 910_002
	benchParallel = 910_003
	benchAPI      = 910_004
	benchRaw2     = 910_005
	benchRawAfter = 910_006
	benchPlans    = 910_010 // and the next three: the plan section's
)

// run measures deletion four ways on identical data and prints the ratios.
func (b *bench) run(ctx context.Context, n, apiSample int) error {
	fmt.Fprintf(b.out, "Deletion: %s customers with %d related rows each, 10%% linked to a loan (seeded identically per measure)\n",
		sweep.Commas(int64(n)), devdata.RelatedRowsPerCustomer)
	for _, t := range []int64{benchRaw, benchRaw2, benchImport, benchParallel, benchRawAfter} {
		start := time.Now()
		if _, err := devdata.Seed(ctx, b.db, devdata.SeedOptions{Tenant: t, Customers: n, LinkedFraction: 0.1, Seed: 2026}); err != nil {
			return err
		}
		fmt.Fprintf(b.out, "  (seeded tenant %d in %s)\n", t, time.Since(start).Round(time.Second))
	}
	if _, err := devdata.Seed(ctx, b.db, devdata.SeedOptions{Tenant: benchAPI, Customers: apiSample, Seed: 2026}); err != nil {
		return err
	}
	if err := b.settle(ctx); err != nil {
		return err
	}

	// (1) one API call per customer, as a script looping over the single delete would.
	tok, _, _, err := b.db.ReplaceToken(ctx, benchAPI, "bench", sweep.Scopes)
	if err != nil {
		return err
	}
	b.tokens[benchAPI] = tok
	api := b.client(benchAPI)
	start := time.Now()
	for id := 1; id <= apiSample; id++ {
		if err := api.DeleteCustomer(ctx, int64(id)); err != nil {
			return fmt.Errorf("delete customer %d: %w", id, err)
		}
	}
	single := float64(apiSample) / time.Since(start).Seconds()
	b.line(fmt.Sprintf("(1) single-customer API deletes, %s in a loop", sweep.Commas(int64(apiSample))), single, "cust/s", "")

	// (2) the raw reference: straight SQL, 1,000 sorted ids per statement, one
	// connection; measured before and again after the imports, on tables that
	// have lost more rows by then, and the mean is the reference.
	raw, err := b.rawDelete(ctx, benchRaw, 1)
	if err != nil {
		return err
	}
	raw2, err := b.rawDelete(ctx, benchRaw2, 2)
	if err != nil {
		return err
	}

	// (3) and (4): the whole import with a worker process, default settings, then parallelism 2.
	file := benchFile(1, int64(n))
	type importResult struct {
		label       string
		parallelism int
		run, total  float64
		rss         int64
	}
	results := []importResult{{label: "(3) sweep import, default settings", parallelism: 1}, {label: "(4) sweep import, parallelism 2", parallelism: 2}}
	for i, tenant := range []int64{benchImport, benchParallel} {
		r := &results[i]
		if r.run, r.total, r.rss, err = b.importRun(ctx, tenant, file, r.parallelism); err != nil {
			return err
		}
	}
	rawAfter, err := b.rawDelete(ctx, benchRawAfter, 1)
	if err != nil {
		return err
	}
	ref := (raw + rawAfter) / 2
	b.line("(2) raw SQL, 1,000 sorted ids per DELETE, one connection", ref, "cust/s",
		fmt.Sprintf("the reference: mean of %s before and %s after the imports", sweep.Commas(int64(raw)), sweep.Commas(int64(rawAfter))))
	b.line("    raw SQL as (2), two connections in parallel", raw2, "cust/s", fmt.Sprintf("%.2f× (2): what two cores give here", raw2/ref))
	for _, r := range results {
		note := fmt.Sprintf("%.0f%% of (2); %.1f× (1); targets ≥ 90%% and ≥ 10×", 100*r.run/ref, r.run/single)
		if r.parallelism > 1 {
			note = fmt.Sprintf("%.2f× (2); target ≥ 1.6×", r.run/ref)
		}
		b.line(r.label+", run phase", r.run, "cust/s", note)
		b.line(r.label+", upload → completed", r.total, "rows/s", "")
		b.line(r.label+", worker peak RSS", float64(r.rss>>20), "MiB", "")
	}
	fmt.Fprintln(b.out)
	return nil
}

// importRun uploads the file for tenant, validates and runs it with one worker
// process and returns the deletion rate of the run phase (from the import's own
// start and finish times), the rate of the whole, and the worker's peak memory.
func (b *bench) importRun(ctx context.Context, tenant int64, file []byte, parallelism int) (float64, float64, int64, error) {
	if err := b.settle(ctx); err != nil {
		return 0, 0, 0, err
	}
	tok, _, _, err := b.db.ReplaceToken(ctx, tenant, "bench", sweep.Scopes)
	if err == nil {
		err = b.noApproval(ctx, tenant)
	}
	if err != nil {
		return 0, 0, 0, err
	}
	b.tokens[tenant] = tok
	w, err := b.startWorker()
	if err != nil {
		return 0, 0, 0, err
	}
	defer w.stop()
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	id, err := b.upload(ctx, tenant, file, client.UploadOptions{Policy: sweep.PolicyLine})
	if err != nil {
		return 0, 0, 0, err
	}
	if _, err := b.waitFor(ctx, tenant, id, sweep.StatusValidated); err != nil {
		return 0, 0, 0, err
	}
	if _, err := b.client(tenant).Start(ctx, id, client.StartOptions{Parallelism: parallelism}); err != nil {
		return 0, 0, 0, fmt.Errorf("start import %d: %w", id, err)
	}
	imp, err := b.waitFor(ctx, tenant, id, sweep.StatusCompleted, sweep.StatusCompletedWithErrors)
	if err != nil {
		return 0, 0, 0, err
	}
	total := float64(imp.TotalRows) / time.Since(start).Seconds()
	run := float64(imp.DeletedRows) / imp.FinishedAt.Sub(*imp.StartedAt).Seconds()
	return run, total, w.peakRSS(), nil
}

// settle vacuums the customer tables before a measure, so none pays for the
// dead rows an earlier one left (autovacuum would otherwise run during it).
func (b *bench) settle(ctx context.Context) error {
	return devdata.Vacuum(ctx, b.db, append([]string{"customers", "loan_customers", "deletion_audit"}, devdata.RelatedTables...)...)
}

// rawDelete deletes every customer of tenant that no loan links with plain
// DELETE statements of 1,000 sorted ids, on conns connections at once (each
// taking every conns-th batch), and returns customers per second.
func (b *bench) rawDelete(ctx context.Context, tenant int64, conns int) (float64, error) {
	if err := b.settle(ctx); err != nil {
		return 0, err
	}
	free, err := devdata.UnlinkedCustomerIDs(ctx, b.db, tenant)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	if err := devdata.RawDeleteReference(ctx, b.db, tenant, free, conns); err != nil {
		return 0, err
	}
	return float64(len(free)) / time.Since(start).Seconds(), nil
}
