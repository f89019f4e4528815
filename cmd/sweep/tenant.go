package main

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/sweephq/sweep/internal/cmdline"
	"github.com/sweephq/sweep/internal/config"
	"github.com/sweephq/sweep/store"
)

// runTenant is `sweep tenant set --tenant T [--approval-threshold N|default]
// [--approval-daily-limit N|default]`: the tenant's own approval threshold and
// rolling limit, in the database.
func runTenant(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	const usage = "tenant: say set --tenant T --approval-threshold N|default and/or --approval-daily-limit N|default"
	if len(args) == 0 || args[0] != "set" {
		return cmdline.UsageError{Msg: usage}
	}
	fs := cmdline.NewFlags("tenant set")
	tenant := fs.Int64("tenant", 0, "tenant (instance id)")
	threshold := fs.String("approval-threshold", "", "customers one import may delete without a second person's approval (0: never ask; default: SWEEP_APPROVAL_THRESHOLD)")
	daily := fs.String("approval-daily-limit", "", "customers all imports together may delete without a second person's approval in 24 hours (0: no such limit; default: the threshold)")
	if err := cmdline.Parse(fs, args[1:]); err != nil {
		return err
	}
	if *tenant <= 0 || *threshold == "" && *daily == "" {
		return cmdline.UsageError{Msg: "tenant set: --tenant T and --approval-threshold N|default or --approval-daily-limit N|default are required"}
	}
	own, err := ownLimit("approval-threshold", *threshold, "0: never ask")
	if err != nil {
		return err
	}
	ownDaily, err := ownLimit("approval-daily-limit", *daily, "0: no daily limit")
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if *daily != "" {
		if err := db.SetApprovalDailyLimit(ctx, *tenant, ownDaily); err != nil {
			return fmt.Errorf("tenant set: %s", cmdline.Describe(err))
		}
		switch {
		case ownDaily == nil:
			fmt.Fprintf(stdout, "tenant %d: imports wait for a second person's approval once those run without one in 24 hours would pass the approval threshold\n", *tenant)
		case *ownDaily == 0:
			fmt.Fprintf(stdout, "tenant %d: no daily limit on what runs without approval\n", *tenant)
		default:
			fmt.Fprintf(stdout, "tenant %d: imports wait for a second person's approval once those run without one in 24 hours would pass %d customers\n", *tenant, *ownDaily)
		}
	}
	if *threshold == "" {
		return nil
	}
	if err := db.SetApprovalThreshold(ctx, *tenant, own); err != nil {
		return fmt.Errorf("tenant set: %s", cmdline.Describe(err))
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

// ownLimit reads a tenant limit flag: "" (not given) and "default" are nil,
// otherwise a whole number of customers.
func ownLimit(flag, v, zero string) (*int64, error) {
	if v == "" || v == "default" {
		return nil, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return nil, cmdline.UsageError{Msg: fmt.Sprintf("tenant set: --%s must be a whole number of customers (%s) or default; found %q", flag, zero, v)}
	}
	return &n, nil
}
