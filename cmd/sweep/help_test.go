package main

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/sweephq/sweep/internal/cmdline"
)

// Every command and subcommand the usage lists answers --help (and -h) with
// its own part of the usage and its flags, and succeeds — without a token,
// with a database that cannot be reached and a configuration that is wrong,
// because asking for help does nothing else.
func TestEveryCommandAnswersHelp(t *testing.T) {
	t.Parallel()
	broken := map[string]string{
		"SWEEP_DATABASE_URL": "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=1",
		"SWEEP_REDIS_URL":    "redis://127.0.0.1:1/0",
		"SWEEP_URL":          "http://127.0.0.1:1",
		"SWEEP_CHUNK_SIZE":   "lots",
	}
	commands := cmdline.Commands(usage, "sweep")
	if len(commands) < 30 {
		t.Fatalf("the usage lists %d commands: %v", len(commands), commands)
	}
	// A valid configuration whose database and API cannot be reached: a
	// command that did anything before reading its flags would fail.
	unreachable := map[string]string{}
	for k, v := range broken {
		if k != "SWEEP_CHUNK_SIZE" {
			unreachable[k] = v
		}
	}
	for _, c := range commands {
		for _, help := range []string{"--help", "-h"} {
			args := append(strings.Fields(c), help)
			var out strings.Builder
			err := run(context.Background(), args, env(unreachable), &out, io.Discard)
			if err == nil {
				out.Reset()
				err = run(context.Background(), args, env(broken), &out, io.Discard)
			}
			if err != nil {
				t.Errorf("sweep %s %s: %v", c, help, err)
				continue
			}
			first := strings.Fields(c)[0]
			if !strings.HasPrefix(out.String(), "Usage:\n  sweep "+first) {
				t.Errorf("sweep %s %s printed:\n%s", c, help, out.String())
			}
		}
	}
	// The flags of the subcommand asked about, with --help after other
	// arguments too.
	var out strings.Builder
	if err := run(context.Background(), []string{"imports", "start", "7", "--help"}, env(broken), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"sweep imports start|set ID [--window", "Flags of sweep imports start:", "-max-rate", "-window", "-token"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("sweep imports start 7 --help lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := run(context.Background(), []string{"import", "--help"}, env(broken), &out, io.Discard); err != nil || !strings.Contains(out.String(), "-parallelism") {
		t.Errorf("sweep import --help = %v:\n%s", err, out.String())
	}
	// A wrong flag is still a usage error, not help.
	if err := run(context.Background(), []string{"import", "--bogus"}, env(broken), io.Discard, io.Discard); !isUsage(err) {
		t.Errorf("sweep import --bogus = %v, want a usage error", err)
	}
}

func isUsage(err error) bool {
	_, ok := err.(cmdline.UsageError)
	return ok
}
