package main

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/sweephq/sweep/store"
)

// runTenant is `sweep tenant set --tenant T --approval-threshold N|default`:
// the tenant's own approval threshold, in the database.
func runTenant(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "set" {
		return usageError{"tenant: say set --tenant T --approval-threshold N|default"}
	}
	fs := newFlags("tenant set")
	tenant := fs.Int64("tenant", 0, "tenant (instance id)")
	threshold := fs.String("approval-threshold", "", "customers one import may delete without a second person's approval (0: never ask; default: SWEEP_APPROVAL_THRESHOLD)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *tenant <= 0 || *threshold == "" {
		return usageError{"tenant set: --tenant T and --approval-threshold N (or default) are required"}
	}
	var own *int64
	if *threshold != "default" {
		n, err := strconv.ParseInt(*threshold, 10, 64)
		if err != nil || n < 0 {
			return usageError{fmt.Sprintf("tenant set: --approval-threshold must be a whole number of customers (0: never ask) or default; found %q", *threshold)}
		}
		own = &n
	}
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.SetApprovalThreshold(ctx, *tenant, own); err != nil {
		return fmt.Errorf("tenant set: %s", describe(err))
	}
	switch {
	case own == nil:
		fmt.Fprintf(stdout, "tenant %d: imports above %d customers (SWEEP_APPROVAL_THRESHOLD) wait for a second person's approval\n", *tenant, cfg.ApprovalThreshold)
	case *own == 0:
		fmt.Fprintf(stdout, "tenant %d: no import waits for approval\n", *tenant)
	default:
		fmt.Fprintf(stdout, "tenant %d: imports above %d customers wait for a second person's approval\n", *tenant, *own)
	}
	return nil
}
