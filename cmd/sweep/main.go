// Command sweep deletes customers, and everything that belongs to them, from a
// multi-tenant lending platform's database: one through the HTTP API, or millions
// through a CSV import. Run `sweep help` for its commands.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	// Run windows name time zones; the binary carries their rules, so an
	// image without the system's zone files reads them alike.
	_ "time/tzdata"

	"github.com/sweephq/sweep/internal/cmdline"
	"github.com/sweephq/sweep/internal/config"
)

const usage = `sweep deletes customers and everything that belongs to them.

Usage:
  sweep serve [--roles api,worker,scheduler]   run the HTTP API, the worker and/or the scheduler
  sweep migrate up|down|status                 apply, roll back (one step) or list the schema migrations
  sweep plan check|show [--plan FILE]          hold the erasure plan (SWEEP_PLAN; unset: the demo's) against the
                                               database and print its order, or the SQL of one chunk
  sweep plan init --subject SCHEMA.TABLE       draft a plan from the database's catalog (TODO where a person decides)
  sweep token create --tenant T --scopes S --name NAME [--replace]
                                               print a new API token (shown once; only its hash is stored)
  sweep token revoke --tenant T --id ID        revoke a token
  sweep tenant set --tenant T --approval-threshold N|default
                                               customers one import may delete before a second person must approve
  sweep import FILE [--policy line|file] [--start] [--wait] [--parallelism N] [--json]
                                               upload a file to a running sweep, with progress bars; exits 3 when
                                               rows failed, writing them next to FILE as NAME.errors.csv
  sweep imports list|show ID|errors ID [--csv]|start ID|pause ID|resume ID|cancel ID [--json]
                                               the import history and one import's details, holds, errors and steps
  sweep imports start|set ID [--window "Mon-Fri 22:00-06:00 America/Denver"] [--max-rate ROWS_PER_SECOND]
                                               when a run may delete and how fast (set: also while it runs)
  sweep imports impact ID [--json]             what starting a validated import deletes (customers, other tables' rows by
                                               table and action), what it skips and why, how long it takes, and a sample of ids
  sweep imports approve ID --confirm N | reject ID --reason R
                                               decide on another token's deletion above the threshold (imports:approve)
  sweep throttle status|hold|release [--reason R] [--all-tenants]
                                               what holds the runs now; hold every run of the tenant (admin token),
                                               or of every tenant (--all-tenants, in the database)
  sweep webhooks list|add URL|show ID|set ID|remove ID|rotate-secret ID|test ID|deliveries ID
                                               the tenant's signed webhook endpoints and their delivery log (admin);
                                               add and set take --events E,F --description D; set --url-to U
                                               --enable|--disable; rotate-secret --keep-old 24h; deliveries --status S
                                               (import, imports, throttle and webhooks take --url and --token, or
                                               SWEEP_URL and SWEEP_TOKEN)
  sweep probe [URL]                            exit 0 when URL (default http://127.0.0.1:8080/readyz) answers 200;
                                               for container health checks, where there is no curl
  sweep version                                print the version

Every command answers --help with its own flags. Configuration comes from SWEEP_*
environment variables; see docs/configuration.md. Seeding, the demo and the benchmarks
are in sweep-dev, apart from this binary.
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

var program = cmdline.Program{Name: "sweep", Version: version, Usage: usage, Dispatch: dispatch}

func main() { program.Main() }

// run executes one command line; tests call it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return program.Run(ctx, args, getenv, stdout, stderr)
}

// dispatch runs one of sweep's commands.
func dispatch(ctx context.Context, cmd string, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	switch cmd {
	case "probe":
		return runProbe(ctx, args, stdout)
	case "import":
		return runImportCLI(ctx, args, getenv, stdout, stderr)
	case "imports":
		return runImportsCLI(ctx, args, getenv, stdout, stderr)
	case "throttle":
		return runThrottleCLI(ctx, args, getenv, stdout, stderr)
	case "webhooks":
		return runWebhooksCLI(ctx, args, getenv, stdout, stderr)
	}
	cfg, err := config.ForCommand(getenv, args)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	switch cmd {
	case "serve":
		return runServe(ctx, cfg, log, args)
	case "migrate":
		return runMigrate(ctx, cfg, args, stdout)
	case "token":
		return runToken(ctx, cfg, args, stdout)
	case "tenant":
		return runTenant(ctx, cfg, args, stdout)
	case "plan":
		return runPlan(ctx, cfg, args, stdout)
	}
	return cmdline.UsageError{Msg: fmt.Sprintf("unknown command %q", cmd)}
}

// newLogger logs JSON unless stderr is a terminal (or SWEEP_LOG_FORMAT says).
func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	format := cfg.LogFormat
	if format == "" {
		format = "json"
		if cmdline.IsTerminal(w) {
			format = "text"
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
