package main

import (
	"context"
	"fmt"
	"io"

	"github.com/schollz/progressbar/v3"
	"github.com/sweephq/sweep/examples"
	"github.com/sweephq/sweep/internal/cmdline"
	"github.com/sweephq/sweep/internal/config"
	"github.com/sweephq/sweep/internal/devdata"
	"github.com/sweephq/sweep/store"
)

func runSeed(ctx context.Context, cfg config.Config, args []string, stdout, stderr io.Writer) error {
	fs := cmdline.NewFlags("seed")
	tenant := fs.Int64("tenant", 0, "tenant (instance id) to seed; created when missing")
	n := fs.Int("customers", 1000, "customers to create")
	linked := fs.Float64("linked-fraction", 0.1, "share of customers linked to a loan (0 to 1)")
	seed := fs.Uint64("seed", 1, "random seed; the same seed gives the same data")
	workers := fs.Int("workers", 2, "parallel COPY streams")
	ifEmpty := fs.Bool("if-empty", false, "do nothing when the tenant already has customers")
	ifFewerFree := fs.Int("if-fewer-free", 0, "do nothing when the tenant already has this many customers that no loan links")
	if err := cmdline.Parse(fs, args); err != nil {
		return err
	}
	if *tenant <= 0 {
		return cmdline.UsageError{Msg: "seed: --tenant is required, a positive instance id such as 5200243"}
	}
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	// The demo platform's tables are the demo's, not sweep's: seeding makes
	// them where they are missing.
	if err := examples.CreateDemoPlatform(ctx, db.SQL()); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	if *ifEmpty {
		n, err := devdata.CountCustomers(ctx, db, *tenant)
		if err != nil {
			return err
		}
		if n > 0 {
			fmt.Fprintf(stdout, "tenant %d already has %d customers; not seeding (--if-empty)\n", *tenant, n)
			return nil
		}
	}
	if *ifFewerFree > 0 {
		free, err := devdata.CountUnlinkedCustomers(ctx, db, *tenant)
		if err != nil {
			return err
		}
		if free >= int64(*ifFewerFree) {
			fmt.Fprintf(stdout, "tenant %d already has %d customers no loan links; not seeding (--if-fewer-free %d)\n", *tenant, free, *ifFewerFree)
			return nil
		}
	}
	opt := devdata.SeedOptions{Tenant: *tenant, Customers: *n, LinkedFraction: *linked, Seed: *seed, Workers: *workers}
	if cmdline.IsTerminal(stderr) {
		bar := progressbar.NewOptions(*n, progressbar.OptionSetWriter(stderr),
			progressbar.OptionSetDescription("seeding customers"), progressbar.OptionShowCount(),
			progressbar.OptionShowIts(), progressbar.OptionSetItsString("customers"),
			progressbar.OptionClearOnFinish())
		opt.Progress = func(done int) { bar.Set(done) }
	}
	res, err := devdata.Seed(ctx, db, opt)
	if err != nil {
		return fmt.Errorf("seed: %s", cmdline.Describe(err))
	}
	rate := float64(res.Customers) / res.Duration.Seconds()
	fmt.Fprintf(stdout, "seeded %d customers (ids %d..%d) for tenant %d: %d related rows, %d linked to a loan, in %s (%.0f customers/s)\n",
		res.Customers, res.FirstID, res.LastID, *tenant, res.RelatedRows, res.Linked, res.Duration.Round(1e8), rate)
	return nil
}
