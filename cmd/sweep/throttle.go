package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/sweephq/sweep/internal/cmdline"
	"github.com/sweephq/sweep/internal/config"
	"github.com/sweephq/sweep/store"
	"github.com/sweephq/sweep/wire"
)

// runThrottleCLI is `sweep throttle status|hold|release`: what holds the
// runs, and a manual hold of every run. Through the API it acts on the
// token's tenant (hold and release need the admin scope); with --all-tenants
// it holds or releases every tenant's runs, straight in the database, for
// whoever runs the platform.
func runThrottleCLI(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return cmdline.UsageError{Msg: "throttle: say status, hold or release"}
	}
	sub, args := args[0], args[1:]
	fs := cmdline.NewFlags("throttle " + sub)
	url, token, asJSON := apiFlags(fs, getenv)
	reason := fs.String("reason", "", "hold: why, shown on every held run (e.g. \"month-end close\")")
	all := fs.Bool("all-tenants", false, "hold or release every tenant's runs, in the database (SWEEP_DATABASE_URL) rather than through the API")
	by := fs.String("by", cmp.Or(getenv("USER"), "operator"), "--all-tenants: who holds, shown on every held run")
	pos, err := cmdline.ParseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return cmdline.UsageError{Msg: fmt.Sprintf("throttle %s: unexpected %q", sub, pos[0])}
	}
	if sub != "status" && sub != "hold" && sub != "release" {
		return cmdline.UsageError{Msg: fmt.Sprintf("throttle: unknown subcommand %q (status, hold, release)", sub)}
	}
	if *all {
		return platformHold(ctx, getenv, sub, *reason, *by, stdout)
	}
	c, err := newCLI(*url, *token, *asJSON, stdout, stderr)
	if err != nil {
		return err
	}
	var st wire.Throttle
	switch sub {
	case "status":
		st, err = c.api.Throttle(ctx)
	case "hold":
		st, err = c.api.HoldRuns(ctx, *reason)
	case "release":
		st, err = c.api.ReleaseRuns(ctx)
	}
	if err != nil {
		return cmdline.Shown(err)
	}
	if c.json {
		return json.NewEncoder(stdout).Encode(st)
	}
	printThrottle(stdout, st)
	return nil
}

// printThrottle prints what holds the runs, a line per hold and signal.
func printThrottle(w io.Writer, st wire.Throttle) {
	if st.Held {
		fmt.Fprintln(w, "runs are held")
	} else {
		fmt.Fprintln(w, "runs may delete")
	}
	for _, h := range st.ManualHolds {
		fmt.Fprintf(w, "  manual: %s (since %s)\n", h.Message, h.Since.UTC().Format("2006-01-02 15:04:05 MST"))
	}
	for _, s := range st.Signals {
		mark := "ok  "
		if s.Holding {
			mark = "HOLD"
		}
		fmt.Fprintf(w, "  %s %-15s %s\n", mark, s.Signal, s.Message)
	}
	if st.MaxRowsPerSecond > 0 {
		fmt.Fprintf(w, "  all runs together delete at most %d rows/s\n", st.MaxRowsPerSecond)
	}
}

// platformHold holds, releases or shows the hold of every tenant's runs.
func platformHold(ctx context.Context, getenv func(string) string, sub, reason, by string, stdout io.Writer) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	switch sub {
	case "hold":
		h, err := db.SetRunHold(ctx, store.AllTenants, reason, by)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s; every run stops after its chunk in flight (release with: sweep throttle release --all-tenants)\n", h.Message())
	case "release":
		had, err := db.ClearRunHold(ctx, store.AllTenants)
		if err != nil {
			return err
		}
		if had {
			fmt.Fprintln(stdout, "released: every tenant's runs go on (tenants' own holds stay)")
		} else {
			fmt.Fprintln(stdout, "no hold of every tenant's runs was set")
		}
	case "status":
		holds, err := db.RunHolds(ctx, store.AllTenants)
		if err != nil {
			return err
		}
		if len(holds) == 0 {
			fmt.Fprintln(stdout, "no hold of every tenant's runs")
		}
		for _, h := range holds {
			fmt.Fprintf(stdout, "%s (since %s)\n", h.Message(), h.CreatedAt.UTC().Format("2006-01-02 15:04:05 MST"))
		}
	}
	return nil
}
