// Command sweep-dev holds sweep's development tools: it seeds the demo
// platform with fake customers, shows an import end to end against a running
// sweep, and measures sweep's speed and its effect on the platform. None of
// it is in the sweep binary that deletes customers in production, and none of
// it belongs on a database with real customers. Run `sweep-dev help`.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/sweephq/sweep/internal/cmdline"
	"github.com/sweephq/sweep/internal/config"
)

const usage = `sweep-dev seeds, demonstrates and measures sweep; never point it at real customers.

Usage:
  sweep-dev seed --tenant T --customers N [--linked-fraction F] [--seed S] [--if-empty] [--if-fewer-free M]
                                               load realistic fake customers for demos and benchmarks,
                                               making the demo platform's tables in public when missing
  sweep-dev demo --tenant T --token TOKEN [--url U]
                                               upload, validate and run a generated file against a running sweep
  sweep-dev bench [--rows N] [--memory-rows M] [--sweep PATH]
                                               measure validation and deletion speed and worker memory in a
                                               scratch database (workers run the sweep binary at PATH)
  sweep-dev bench --impact [--impact-customers N] [--impact-rate R] [--impact-idle D]
                                               measure what deletion runs (unthrottled, throttled) do to a platform-like
                                               workload and replica lag, on a throwaway PostgreSQL primary and replica
  sweep-dev version                            print the version

Configuration comes from the same SWEEP_* environment variables as sweep's; see
docs/configuration.md.
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

var program = cmdline.Program{Name: "sweep-dev", Version: version, Usage: usage, Dispatch: dispatch}

func main() { program.Main() }

// run executes one command line; tests call it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return program.Run(ctx, args, getenv, stdout, stderr)
}

// dispatch runs one of sweep-dev's commands.
func dispatch(ctx context.Context, cmd string, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.ForCommand(getenv, args)
	if err != nil {
		return err
	}
	switch cmd {
	case "seed":
		return runSeed(ctx, cfg, args, stdout, stderr)
	case "bench":
		return runBench(ctx, cfg, args, stdout)
	case "demo":
		return runDemo(ctx, cfg, args, stdout)
	}
	return cmdline.UsageError{Msg: fmt.Sprintf("unknown command %q", cmd)}
}

// sweepBinary is the sweep server binary the bench's workers run: path when
// given, else the sweep next to this program, else the one on PATH.
func sweepBinary(path string) (string, error) {
	if path != "" {
		return path, nil
	}
	if self, err := os.Executable(); err == nil {
		next := filepath.Join(filepath.Dir(self), "sweep")
		if st, err := os.Stat(next); err == nil && !st.IsDir() {
			return next, nil
		}
	}
	found, err := exec.LookPath("sweep")
	if err != nil {
		return "", fmt.Errorf("the bench runs workers of the sweep binary: build it next to sweep-dev (make build) or pass --sweep PATH")
	}
	return found, nil
}
