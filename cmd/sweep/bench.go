package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/store"
	"github.com/sweephq/sweep/uploader"
)

// bench is one `sweep bench` run: a scratch database and Redis DB, an API in
// this process and workers as separate processes, as in production.
type bench struct {
	cfg    Config
	out    io.Writer
	db     *store.DB
	dbURL  string
	rdbURL string
	api    string
	tokens map[int64]string // tenant → token
}

const benchTenant = 900_001

func runBench(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	fs := newFlags("bench")
	rows := fs.Int64("rows", 1_000_000, "rows in the validation file")
	memRows := fs.Int64("memory-rows", 10_000_000, "rows of the second file whose worker memory is compared with the first (0 skips it)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	b := &bench{cfg: cfg, out: stdout}
	if err := b.open(ctx); err != nil {
		return err
	}
	defer b.db.Close()
	fmt.Fprintf(stdout, "sweep bench on %d CPUs (database %s, Redis %s)\n\n", runtime.NumCPU(), redactURL(b.dbURL), redactURL(b.rdbURL))
	return b.validate(ctx, *rows, *memRows)
}

// open makes the scratch database sweep_bench next to the configured one and
// takes Redis DB 15 of the configured Redis, both emptied first.
func (b *bench) open(ctx context.Context) error {
	u, err := url.Parse(b.cfg.DatabaseURL)
	if err != nil {
		return err
	}
	u.Path = "/sweep_bench"
	b.dbURL = u.String()
	admin, err := store.Open(ctx, b.cfg.DatabaseURL)
	if err != nil {
		return err
	}
	_, err = admin.SQL().ExecContext(ctx, `DROP DATABASE IF EXISTS sweep_bench WITH (FORCE)`)
	if err == nil {
		_, err = admin.SQL().ExecContext(ctx, `CREATE DATABASE sweep_bench`)
	}
	admin.Close()
	if err != nil {
		return fmt.Errorf("create the bench database (the role needs CREATEDB): %w", err)
	}
	if b.db, err = store.Open(ctx, b.dbURL); err != nil {
		return err
	}
	m, err := store.NewMigrator(b.db.SQL().DB)
	if err == nil {
		_, err = m.Up(ctx)
	}
	if err != nil {
		return err
	}
	ru, err := url.Parse(b.cfg.RedisURL)
	if err != nil {
		return err
	}
	ru.Path = "/15"
	b.rdbURL = ru.String()
	rdb, err := jobs.OpenRedis(b.rdbURL)
	if err != nil {
		return err
	}
	defer rdb.Close()
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		return fmt.Errorf("empty Redis DB 15 for the bench: %w", err)
	}
	b.tokens = map[int64]string{}
	return nil
}

// tenant makes a bench tenant with n bare customers, settled as in a database
// that has lived a while (vacuumed, analysed), and a token for it.
func (b *bench) tenant(ctx context.Context, tenant, n int64) error {
	if _, err := b.db.SeedBare(ctx, tenant, n); err != nil {
		return err
	}
	if _, err := b.db.SQL().ExecContext(ctx, `VACUUM (ANALYZE) customers`); err != nil {
		return err
	}
	tok, _, err := b.db.CreateToken(ctx, tenant, "bench", sweep.Scopes)
	b.tokens[tenant] = tok
	return err
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
	srv := &http.Server{Handler: uploader.NewServer(uploader.Options{DB: b.db, Redis: rdb, API: true, Logger: quiet,
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
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "serve", "--roles", "worker")
	cmd.Env = append(os.Environ(), "SWEEP_DATABASE_URL="+b.dbURL, "SWEEP_REDIS_URL="+b.rdbURL,
		"SWEEP_HTTP_ADDR=127.0.0.1:0", "SWEEP_LOG_LEVEL=warn", "SWEEP_MAX_ROWS=1000000000")
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

// upload posts a file to the API and returns the new import's id.
func (b *bench) upload(ctx context.Context, tenant int64, data []byte, fields ...string) (int64, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		for i := 0; i+1 < len(fields); i += 2 {
			mw.WriteField(fields[i], fields[i+1])
		}
		fw, _ := mw.CreateFormFile("file", "bench.csv")
		fw.Write(data)
		pw.CloseWithError(mw.Close())
	}()
	req, _ := http.NewRequestWithContext(ctx, "POST", b.api+"/v1/imports", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+b.tokens[tenant])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		return 0, fmt.Errorf("upload: %s %s", resp.Status, body)
	}
	var id int64
	fmt.Sscanf(string(body), `{"id":%d`, &id)
	return id, nil
}

// waitFor polls an import until it reaches one of the states.
func (b *bench) waitFor(ctx context.Context, tenant, id int64, states ...sweep.Status) (sweep.Import, error) {
	for {
		imp, err := b.db.GetImport(ctx, tenant, id)
		if err != nil {
			return imp, err
		}
		for _, s := range states {
			if imp.Status == s {
				return imp, nil
			}
		}
		if imp.Status.Terminal() || imp.Status == sweep.StatusRejected {
			return imp, fmt.Errorf("import %d ended %s: %s", id, imp.Status, imp.Error)
		}
		select {
		case <-ctx.Done():
			return imp, ctx.Err()
		case <-time.After(5 * time.Millisecond):
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
	b.line(fmt.Sprintf("parse only, %s rows (reader, in memory)", commas(rows)), float64(rows)/time.Since(start).Seconds(), "rows/s", "target ≥ 1,000,000")

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := b.startAPI(ctx); err != nil {
		return err
	}
	measure := func(tenant int64, data []byte, n int64) (float64, int64, error) {
		w, err := b.startWorker()
		if err != nil {
			return 0, 0, err
		}
		defer w.stop()
		time.Sleep(300 * time.Millisecond) // let it connect before the clock starts
		start := time.Now()
		id, err := b.upload(ctx, tenant, data)
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
	b.line(fmt.Sprintf("upload → validated, %s rows", commas(rows)), rate, "rows/s", "target ≥ 250,000")
	b.line(fmt.Sprintf("worker peak RSS, %s rows", commas(rows)), float64(rss>>20), "MiB", "")
	if memRows > 0 {
		if err := b.tenant(ctx, benchTenant+1, memRows); err != nil {
			return err
		}
		big := benchFile(1, memRows)
		rateBig, rssBig, err := measure(benchTenant+1, big, memRows)
		if err != nil {
			return err
		}
		b.line(fmt.Sprintf("upload → validated, %s rows", commas(memRows)), rateBig, "rows/s", "")
		growth := 100 * (float64(rssBig) - float64(rss)) / float64(max(rss, 1))
		b.line(fmt.Sprintf("worker peak RSS, %s rows", commas(memRows)), float64(rssBig>>20), "MiB",
			fmt.Sprintf("%+.0f%% vs %s rows; target within ±20%%", growth, commas(rows)))
	}
	fmt.Fprintln(b.out)
	return nil
}

func (b *bench) line(what string, v float64, unit, note string) {
	if note != "" {
		note = "  (" + note + ")"
	}
	fmt.Fprintf(b.out, "  %-44s %14s %-7s%s\n", what, commas(int64(v)), unit, note)
}

// commas formats n with thousands separators.
func commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}
