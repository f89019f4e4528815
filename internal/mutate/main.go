// Command mutate is sweep's mutation test: it makes small plausible bugs, one
// at a time, in the files that decide what is deleted (targets.txt), runs the
// tests that should catch each against the real PostgreSQL and Redis, and
// reports the score and every bug no test caught. It works on a copy of the
// module in a temporary directory, so the checkout is never changed.
//
//	go run ./internal/mutate [-files status.go,store/limits.go] [-max N] [-j 1]
//
// make mutate runs it over every target.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	var c config
	flag.StringVar(&c.files, "files", "", "comma-separated target files (as in targets.txt); default every target")
	flag.IntVar(&c.max, "max", 0, "at most this many mutants per file, spread evenly over it (0: all)")
	flag.IntVar(&c.jobs, "j", 1, "mutants tested at once, each in its own copy of the module")
	flag.DurationVar(&c.timeout, "timeout", 0, "time limit of one mutant's tests (0: twice the unmutated run plus a minute)")
	flag.StringVar(&c.rev, "rev", "", "test this git revision (default: the working tree, tracked and untracked files)")
	flag.StringVar(&c.ops, "ops", "", "comma-separated operators to apply (default all: "+strings.Join(allOps, ",")+")")
	flag.BoolVar(&c.list, "list", false, "list the mutants and exit without running tests")
	flag.Float64Var(&c.min, "min", 0, "exit 1 when the overall score is below this percentage")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code, err := run(ctx, c, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutate:", err)
		code = 2
	}
	stop()
	os.Exit(code)
}

var allOps = []string{opCompare, opLogic, opNegate, opErrBody, opInt, opSQLAnd, opSQLCmp}

type config struct {
	files   string
	max     int
	jobs    int
	timeout time.Duration
	rev     string
	ops     string
	list    bool
	min     float64
}

// A target is one file and the tests that should catch its mutants: one go
// test run per suite, the mutant caught when any of them fails.
type target struct {
	file   string
	suites []suite
}

// A suite is one go test run: packages and a -run pattern.
type suite struct {
	pkgs  []string
	tests string
}

// An equivalent is a mutant known to change no behaviour, with the reason.
type equivalent struct {
	file, original, mutated, reason string
}

type outcome int

const (
	killed outcome = iota
	timedOut
	survived
	noBuild
)

var outcomeName = [...]string{"killed", "timeout", "SURVIVED", "no-build"}

type result struct {
	m   mutant
	out outcome
	dur time.Duration
}

func run(ctx context.Context, c config, w io.Writer) (int, error) {
	root, err := output(ctx, ".", "git", "rev-parse", "--show-toplevel")
	if err != nil {
		return 0, fmt.Errorf("find the module root: %w", err)
	}
	root = strings.TrimSpace(root)
	targets, err := readTargets(filepath.Join(root, "internal/mutate/targets.txt"))
	if err != nil {
		return 0, err
	}
	equivs, err := readEquivalents(filepath.Join(root, "internal/mutate/equivalent.txt"))
	if err != nil {
		return 0, err
	}
	if c.files != "" {
		byFile := map[string]target{}
		for _, t := range targets {
			byFile[t.file] = t
		}
		targets = nil
		for _, f := range strings.Split(c.files, ",") {
			t, ok := byFile[strings.TrimSpace(f)]
			if !ok {
				return 0, fmt.Errorf("%s is not in internal/mutate/targets.txt", f)
			}
			targets = append(targets, t)
		}
	}
	ops := map[string]bool{}
	for _, o := range allOps {
		ops[o] = c.ops == ""
	}
	if c.ops != "" {
		for _, o := range strings.Split(c.ops, ",") {
			if _, ok := ops[o]; !ok {
				return 0, fmt.Errorf("unknown operator %q (known: %s)", o, strings.Join(allOps, ","))
			}
			ops[o] = true
		}
	}
	if c.jobs < 1 {
		c.jobs = 1
	}

	// The mutants come from the files as they are in the copy that is tested.
	dirs := make([]string, c.jobs)
	defer func() {
		for _, d := range dirs {
			if d != "" {
				os.RemoveAll(d)
			}
		}
	}()
	for i := range dirs {
		d, err := os.MkdirTemp("", "sweep-mutate-")
		if err != nil {
			return 0, err
		}
		dirs[i] = d
		if err := copyModule(ctx, root, d, c.rev); err != nil {
			return 0, err
		}
	}

	type fileRun struct {
		t       target
		ms      []mutant
		skipped []equivalent
		base    time.Duration
		broken  string
	}
	var runs []*fileRun
	total := 0
	for _, t := range targets {
		src, err := os.ReadFile(filepath.Join(dirs[0], t.file))
		if err != nil {
			return 0, err
		}
		all, err := generate(t.file, src)
		if err != nil {
			return 0, err
		}
		fr := &fileRun{t: t}
		for _, m := range all {
			if !ops[m.op] {
				continue
			}
			if e, ok := findEquivalent(equivs, m); ok {
				e.file = fmt.Sprintf("%s:%d", e.file, m.line)
				fr.skipped = append(fr.skipped, e)
				continue
			}
			fr.ms = append(fr.ms, m)
		}
		fr.ms = sample(fr.ms, c.max)
		total += len(fr.ms)
		runs = append(runs, fr)
	}
	if c.list {
		for _, fr := range runs {
			for _, m := range fr.ms {
				fmt.Fprintf(w, "%-11s %s\n", m.op, m)
			}
			for _, e := range fr.skipped {
				fmt.Fprintf(w, "%-11s %s: %s -> %s (equivalent: %s)\n", "skipped", e.file, e.original, e.mutated, e.reason)
			}
		}
		return 0, nil
	}

	start := time.Now()
	fmt.Fprintf(w, "mutate: %d mutants in %d files, %d at a time, in %s\n", total, len(runs), c.jobs, strings.Join(dirs, ", "))
	var all []result
	done := 0
	for _, fr := range runs {
		if ctx.Err() != nil {
			break
		}
		// The unmutated run must pass; a test that fails once under load gets
		// a second try, and is named, since it may kill mutants by itself.
		t0 := time.Now()
		out, err := goTest(ctx, dirs[0], fr.t, 0)
		if err != nil && ctx.Err() == nil {
			fmt.Fprintf(w, "%s: the tests failed without any mutant; trying again:\n%s\n", fr.t.file, lastLines(out, 6))
			t0 = time.Now()
			out, err = goTest(ctx, dirs[0], fr.t, 0)
		}
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			fr.broken = lastLines(out, 15)
			fmt.Fprintf(w, "%s: the tests fail without any mutant; skipped:\n%s\n", fr.t.file, fr.broken)
			continue
		}
		fr.base = time.Since(t0)
		limit := c.timeout
		if limit == 0 {
			limit = 2*fr.base + time.Minute
		}
		fmt.Fprintf(w, "%s: %d mutants; its tests take %s unmutated (limit %s per mutant)\n", fr.t.file, len(fr.ms), fr.base.Round(time.Second), limit.Round(time.Second))

		queue := make(chan mutant)
		results := make(chan result)
		var wg sync.WaitGroup
		for _, d := range dirs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for m := range queue {
					r := tryMutant(ctx, d, fr.t, m, limit)
					results <- r
				}
			}()
		}
		go func() {
			defer close(queue)
			for _, m := range fr.ms {
				select {
				case queue <- m:
				case <-ctx.Done():
					return
				}
			}
		}()
		go func() { wg.Wait(); close(results) }()
		var got []result
		for r := range results {
			if ctx.Err() != nil {
				continue // cut short: its tests were killed, it proves nothing
			}
			done++
			got = append(got, r)
			fmt.Fprintf(w, "[%d/%d] %-8s %s (%s)\n", done, total, outcomeName[r.out], r.m, r.dur.Round(100*time.Millisecond))
		}
		sort.Slice(got, func(i, j int) bool { return got[i].m.start < got[j].m.start })
		all = append(all, got...)
	}
	if ctx.Err() != nil {
		fmt.Fprintln(w, "mutate: interrupted; the results so far:")
	}

	// The summary: per file, per operator, overall, then every survivor.
	fmt.Fprintf(w, "\nmutation score (killed or timed out / all that built), %s in all\n", time.Since(start).Round(time.Second))
	fmt.Fprintf(w, "%-26s %7s %7s %8s %8s %10s %6s\n", "file", "killed", "timeout", "survived", "no-build", "equivalent", "score")
	byFile := map[string]*tally{}
	byOp := map[string]*tally{}
	var sum tally
	for _, r := range all {
		for _, t := range []*tally{get(byFile, r.m.file), get(byOp, r.m.op), &sum} {
			t.n[r.out]++
		}
	}
	for _, fr := range runs {
		t := get(byFile, fr.t.file)
		t.equiv = len(fr.skipped)
		sum.equiv += t.equiv
		if fr.broken != "" {
			fmt.Fprintf(w, "%-26s tests fail unmutated\n", fr.t.file)
			continue
		}
		fmt.Fprintf(w, "%-26s %s\n", fr.t.file, t)
	}
	fmt.Fprintf(w, "%-26s %s\n", "overall", &sum)
	fmt.Fprintln(w, "\nby operator:")
	for _, o := range allOps {
		if t, ok := byOp[o]; ok {
			fmt.Fprintf(w, "%-26s %s\n", o, t)
		}
	}
	fmt.Fprintln(w, "\nsurvivors:")
	n := 0
	for _, r := range all {
		if r.out == survived {
			n++
			fmt.Fprintf(w, "  %s   [%s]\n", r.m, r.m.op)
		}
	}
	if n == 0 {
		fmt.Fprintln(w, "  none")
	}
	if ctx.Err() != nil {
		return 130, nil
	}
	if c.min > 0 && sum.score() < c.min {
		fmt.Fprintf(w, "mutate: score %.1f%% is below %.1f%%\n", sum.score(), c.min)
		return 1, nil
	}
	return 0, nil
}

type tally struct {
	n     [4]int
	equiv int
}

func get(m map[string]*tally, k string) *tally {
	if m[k] == nil {
		m[k] = &tally{}
	}
	return m[k]
}

func (t *tally) score() float64 {
	caught := t.n[killed] + t.n[timedOut]
	if caught+t.n[survived] == 0 {
		return 100
	}
	return 100 * float64(caught) / float64(caught+t.n[survived])
}

func (t *tally) String() string {
	score := "     -"
	if t.n[killed]+t.n[timedOut]+t.n[survived] > 0 {
		score = fmt.Sprintf("%5.1f%%", t.score())
	}
	return fmt.Sprintf("%7d %7d %8d %8d %10d %s", t.n[killed], t.n[timedOut], t.n[survived], t.n[noBuild], t.equiv, score)
}

// tryMutant writes the mutant into the copy in dir, builds its package, runs
// the target's tests, and always puts the original file back.
func tryMutant(ctx context.Context, dir string, t target, m mutant, limit time.Duration) result {
	path := filepath.Join(dir, m.file)
	orig, err := os.ReadFile(path)
	if err != nil {
		return result{m: m, out: noBuild}
	}
	defer os.WriteFile(path, orig, 0o644)
	if err := os.WriteFile(path, m.apply(orig), 0o644); err != nil {
		return result{m: m, out: noBuild}
	}
	t0 := time.Now()
	pkg := "./" + filepath.ToSlash(filepath.Dir(m.file))
	if _, err := output(ctx, dir, "go", "build", "-o", os.DevNull, pkg); err != nil {
		return result{m: m, out: noBuild, dur: time.Since(t0)}
	}
	out, err := goTest(ctx, dir, t, limit)
	r := result{m: m, dur: time.Since(t0)}
	switch {
	case err == nil:
		r.out = survived
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(out, "panic: test timed out after"):
		r.out = timedOut
	case strings.Contains(out, "[build failed]") || strings.Contains(out, "[setup failed]"):
		r.out = noBuild
	default:
		r.out = killed
	}
	return r
}

// goTest runs the target's suites in dir, one after the other, until one
// fails. limit bounds them together.
func goTest(ctx context.Context, dir string, t target, limit time.Duration) (string, error) {
	if limit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, limit+30*time.Second)
		defer cancel()
	}
	deadline, _ := ctx.Deadline()
	var all strings.Builder
	for _, s := range t.suites {
		left := time.Duration(0)
		if limit > 0 {
			left = time.Until(deadline) - 30*time.Second
			if left <= 0 {
				return all.String(), context.DeadlineExceeded
			}
		}
		out, err := goTestSuite(ctx, dir, s, left)
		all.WriteString(out)
		if err != nil {
			return all.String(), err
		}
	}
	return all.String(), nil
}

// goTestSuite runs one suite with the environment as it is (the services'
// addresses, SWEEP_TEST_REQUIRE_SERVICES). limit 0: no limit but an hour.
func goTestSuite(ctx context.Context, dir string, t suite, limit time.Duration) (string, error) {
	args := []string{"test", "-count=1", "-failfast", "-vet=off", "-run", t.tests}
	if limit > 0 {
		args = append(args, "-timeout", limit.Round(time.Second).String())
	} else {
		args = append(args, "-timeout", "60m")
	}
	args = append(args, t.pkgs...)
	out, err := output(ctx, dir, "go", args...)
	if err != nil && ctx.Err() != nil {
		return out, ctx.Err()
	}
	return out, err
}

// output runs a command in its own process group, so that stopping it also
// stops what it started (test binaries, the sweep processes they run).
func output(ctx context.Context, dir, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var buf bytes.Buffer
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return buf.String(), err
	case <-ctx.Done():
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return buf.String(), ctx.Err()
	}
}

// copyModule copies the module at root into dir: the files git knows of
// (tracked, and untracked ones not ignored) as they are in the working tree,
// or the tree of rev.
func copyModule(ctx context.Context, root, dir, rev string) error {
	if rev != "" {
		cmd := exec.CommandContext(ctx, "sh", "-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "sh", root, rev, dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("copy %s at %s: %v: %s", root, rev, err, out)
		}
		return nil
	}
	list, err := output(ctx, root, "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	if err != nil {
		return fmt.Errorf("list the module's files: %v: %s", err, list)
	}
	for _, f := range strings.Split(list, "\x00") {
		if f == "" {
			continue
		}
		src := filepath.Join(root, f)
		fi, err := os.Lstat(src)
		if err != nil || !fi.Mode().IsRegular() {
			continue // deleted in the working tree, or a link
		}
		b, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, b, fi.Mode().Perm()); err != nil {
			return err
		}
	}
	return nil
}

// readTargets reads lines of "file packages tests": the packages
// comma-separated, tests a go test -run pattern. A file on several lines has
// a suite for each.
func readTargets(path string) ([]target, error) {
	var ts []target
	at := map[string]int{}
	err := eachLine(path, func(n int, line string) error {
		f := strings.Fields(line)
		if len(f) != 3 {
			return fmt.Errorf("%s:%d: want file, packages and a -run pattern", path, n)
		}
		if _, err := regexp.Compile(f[2]); err != nil {
			return fmt.Errorf("%s:%d: %v", path, n, err)
		}
		i, ok := at[f[0]]
		if !ok {
			i = len(ts)
			at[f[0]] = i
			ts = append(ts, target{file: f[0]})
		}
		ts[i].suites = append(ts[i].suites, suite{pkgs: strings.Split(f[1], ","), tests: f[2]})
		return nil
	})
	return ts, err
}

// readEquivalents reads lines of "file | original line | mutated line |
// reason", the lines trimmed as the mutants print them.
func readEquivalents(path string) ([]equivalent, error) {
	var es []equivalent
	err := eachLine(path, func(n int, line string) error {
		f := strings.Split(line, " | ")
		if len(f) != 4 {
			return fmt.Errorf("%s:%d: want file | original | mutated | reason", path, n)
		}
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		es = append(es, equivalent{f[0], f[1], f[2], f[3]})
		return nil
	})
	return es, err
}

func findEquivalent(es []equivalent, m mutant) (equivalent, bool) {
	for _, e := range es {
		if e.file == m.file && e.original == m.original && e.mutated == m.mutated {
			return e, true
		}
	}
	return equivalent{}, false
}

func eachLine(path string, f func(n int, line string) error) error {
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	s := bufio.NewScanner(file)
	for n := 1; s.Scan(); n++ {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := f(n, line); err != nil {
			return err
		}
	}
	return s.Err()
}

// sample keeps at most max mutants, spread evenly over the file.
func sample(ms []mutant, max int) []mutant {
	if max <= 0 || len(ms) <= max {
		return ms
	}
	out := make([]mutant, 0, max)
	for i := 0; i < max; i++ {
		out = append(out, ms[i*len(ms)/max])
	}
	return out
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.Join(lines, "\n  ")
}
