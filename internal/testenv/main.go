package testenv

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"testing"
)

// Main runs a package's tests from its TestMain after setup, which gets a
// testing.TB that lives as long as the package's tests, so it can use this
// package's helpers for what the package's examples need (an example has no
// *testing.T of its own). It returns the exit code for os.Exit.
//
// When setup finds a service missing it is skipped, as a test would be: the
// reason is printed, the package's examples are left out of the run (they
// cannot skip themselves) and its tests run as usual. With
// SWEEP_TEST_REQUIRE_SERVICES=1, or when setup fails otherwise, nothing runs
// and the code is 1. What setup registered with Cleanup runs at the end.
func Main(m *testing.M, setup func(tb testing.TB)) int {
	flag.Parse()
	tb := &mainTB{name: "TestMain", out: os.Stderr}
	tb.ctx, tb.cancel = context.WithCancel(context.Background())
	goexitSafe(func() { setup(tb) })

	code := 0
	switch {
	case tb.Failed():
		fmt.Fprintln(os.Stderr, "FAIL: TestMain: the set-up failed; no test ran")
		code = 1
	case tb.Skipped():
		fmt.Fprintln(os.Stderr, "TestMain: examples skipped: the services they need are missing")
		skip := flag.Lookup("test.skip")
		pattern := "^Example"
		if skip.Value.String() != "" {
			pattern = skip.Value.String() + "|" + pattern
		}
		if err := skip.Value.Set(pattern); err != nil {
			panic(err)
		}
		code = m.Run()
	default:
		code = m.Run()
	}
	tb.cleanup()
	if tb.Failed() && code == 0 {
		code = 1
	}
	return code
}

// mainTB is the testing.TB that Main gives its setup. The embedded TB is nil:
// it only supplies the interface's private method.
type mainTB struct {
	testing.TB
	name   string
	out    io.Writer
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	cleanups []func()
	failed   bool
	skipped  bool
}

func (t *mainTB) Name() string             { return t.name }
func (t *mainTB) Helper()                  {}
func (t *mainTB) Context() context.Context { return t.ctx }
func (t *mainTB) Output() io.Writer        { return t.out }
func (t *mainTB) Attr(key, value string) {
	fmt.Fprintf(t.out, "=== ATTR  %s %s %s\n", t.name, key, value)
}

func (t *mainTB) Log(args ...any) { fmt.Fprintf(t.out, "%s: %s", t.name, fmt.Sprintln(args...)) }
func (t *mainTB) Logf(format string, args ...any) {
	fmt.Fprintf(t.out, "%s: %s\n", t.name, fmt.Sprintf(format, args...))
}

func (t *mainTB) Fail() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failed = true
}

func (t *mainTB) Failed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}

func (t *mainTB) FailNow() {
	t.Fail()
	runtime.Goexit()
}

func (t *mainTB) Error(args ...any)                 { t.Log(args...); t.Fail() }
func (t *mainTB) Errorf(format string, args ...any) { t.Logf(format, args...); t.Fail() }
func (t *mainTB) Fatal(args ...any)                 { t.Log(args...); t.FailNow() }
func (t *mainTB) Fatalf(format string, args ...any) { t.Logf(format, args...); t.FailNow() }

func (t *mainTB) SkipNow() {
	t.mu.Lock()
	t.skipped = true
	t.mu.Unlock()
	runtime.Goexit()
}

func (t *mainTB) Skipped() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.skipped
}

func (t *mainTB) Skip(args ...any)                 { t.Log(args...); t.SkipNow() }
func (t *mainTB) Skipf(format string, args ...any) { t.Logf(format, args...); t.SkipNow() }

func (t *mainTB) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

// cleanup runs the cleanups last registered first, as a test does.
func (t *mainTB) cleanup() {
	t.cancel()
	for {
		t.mu.Lock()
		n := len(t.cleanups)
		if n == 0 {
			t.mu.Unlock()
			return
		}
		f := t.cleanups[n-1]
		t.cleanups = t.cleanups[:n-1]
		t.mu.Unlock()
		goexitSafe(f)
	}
}

// goexitSafe runs f on a goroutine of its own and waits for it: Fatal and
// Skip end f with runtime.Goexit, as they end a test.
func goexitSafe(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	<-done
}

func (t *mainTB) Setenv(key, value string) {
	old, had := os.LookupEnv(key)
	if err := os.Setenv(key, value); err != nil {
		t.Fatalf("setenv %s: %v", key, err)
	}
	t.Cleanup(func() {
		if had {
			os.Setenv(key, old)
		} else {
			os.Unsetenv(key)
		}
	})
}

func (t *mainTB) TempDir() string {
	dir, err := os.MkdirTemp("", "sweep-testmain-")
	if err != nil {
		t.Fatalf("TempDir: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func (t *mainTB) Chdir(string) { t.Fatal("Chdir is not supported in TestMain") }

func (t *mainTB) ArtifactDir() string {
	t.Fatal("ArtifactDir is not supported in TestMain")
	return ""
}
