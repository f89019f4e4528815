package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/sweephq/sweep/internal/cmdline"
	"github.com/sweephq/sweep/internal/config"
	"github.com/sweephq/sweep/plan"
	"github.com/sweephq/sweep/store"
)

// runPlan is `sweep plan check|show|init`: the erasure plan against the
// database SWEEP_DATABASE_URL names.
func runPlan(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	const usage = "plan: say check [--plan FILE], show [--plan FILE] or init --subject SCHEMA.TABLE"
	if len(args) == 0 {
		return cmdline.UsageError{Msg: usage}
	}
	sub := args[0]
	fs := cmdline.NewFlags("plan " + sub)
	path := fs.String("plan", cfg.Plan, "the erasure plan's file (default SWEEP_PLAN; unset: the demo platform's built-in plan)")
	subject := fs.String("subject", "", "init: the table whose rows are the customers, such as public.customers")
	switch sub {
	case "check", "show", "init":
	default:
		return cmdline.UsageError{Msg: usage}
	}
	if err := cmdline.Parse(fs, args[1:]); err != nil {
		return err
	}
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if sub == "init" {
		if *subject == "" {
			return cmdline.UsageError{Msg: "plan init: --subject SCHEMA.TABLE is required: the table whose rows are the customers"}
		}
		schema, table, ok := strings.Cut(*subject, ".")
		if !ok {
			schema, table = "public", *subject
		}
		cat, err := plan.ReadCatalog(ctx, db.SQL(), cfg.Schema)
		if err != nil {
			return err
		}
		draft, err := plan.Draft(cat, plan.Name{Schema: schema, Table: table})
		if err != nil {
			return fmt.Errorf("plan init: %w", err)
		}
		fmt.Fprint(stdout, draft)
		return nil
	}
	p, err := store.ReadPlan(*path)
	if err != nil {
		return fmt.Errorf("plan %s: %w", sub, err)
	}
	cp, err := db.CheckPlan(ctx, p, cfg.HashKey)
	if err != nil {
		return exitError{code: 1, msg: fmt.Sprintf("the erasure plan does not hold against this database; nothing can be deleted by it:\n%v", err)}
	}
	name := cmp.Or(*path, store.DemoPlanSource)
	switch sub {
	case "check":
		fmt.Fprintf(stdout, "%s holds against this database (plan %.12s): %d tables, in this order: %s\n", name, p.Hash, len(cp.Order()), joinNames(cp.Order()))
		for _, n := range cp.Notes {
			fmt.Fprintf(stdout, "note: %s\n", n)
		}
	case "show":
		fmt.Fprintf(stdout, "%s (plan %.12s): one chunk, in order\n\n%s", name, p.Hash, cp.Describe())
	}
	return nil
}

func joinNames(ns []plan.Name) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = n.String()
	}
	return strings.Join(parts, ", ")
}
