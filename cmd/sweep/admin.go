package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/examples"
	"github.com/sweephq/sweep/store"
)

func runMigrate(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return usageError{"migrate: say up, down or status"}
	}
	db, err := sql.Open("postgres", cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	m, err := store.NewMigrator(db, cfg.Schema)
	if err != nil {
		return err
	}
	switch args[0] {
	case "up":
		applied, err := m.Up(ctx)
		if err != nil {
			return err
		}
		if len(applied) == 0 {
			fmt.Fprintln(stdout, "schema is up to date")
		}
		for _, v := range applied {
			fmt.Fprintf(stdout, "applied migration %05d\n", v)
		}
	case "down":
		v, err := m.Down(ctx)
		if err != nil {
			return err
		}
		if v == 0 {
			fmt.Fprintln(stdout, "nothing to roll back")
		} else {
			fmt.Fprintf(stdout, "rolled back migration %05d\n", v)
		}
	case "status":
		st, err := m.Status(ctx)
		if err != nil {
			return err
		}
		for _, s := range st {
			state := "pending"
			if s.Applied {
				state = "applied " + s.AppliedAt.Format("2006-01-02 15:04:05")
			}
			fmt.Fprintf(stdout, "%05d  %-28s %s\n", s.Version, s.Name, state)
		}
	default:
		return usageError{fmt.Sprintf("migrate: unknown action %q; say up, down or status", args[0])}
	}
	return nil
}

func runSeed(ctx context.Context, cfg Config, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("seed")
	tenant := fs.Int64("tenant", 0, "tenant (instance id) to seed; created when missing")
	n := fs.Int("customers", 1000, "customers to create")
	linked := fs.Float64("linked-fraction", 0.1, "share of customers linked to a loan (0 to 1)")
	seed := fs.Uint64("seed", 1, "random seed; the same seed gives the same data")
	workers := fs.Int("workers", 2, "parallel COPY streams")
	ifEmpty := fs.Bool("if-empty", false, "do nothing when the tenant already has customers")
	ifFewerFree := fs.Int("if-fewer-free", 0, "do nothing when the tenant already has this many customers that no loan links")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *tenant <= 0 {
		return usageError{"seed: --tenant is required, a positive instance id such as 5200243"}
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
		n, err := db.CountCustomers(ctx, *tenant)
		if err != nil {
			return err
		}
		if n > 0 {
			fmt.Fprintf(stdout, "tenant %d already has %d customers; not seeding (--if-empty)\n", *tenant, n)
			return nil
		}
	}
	if *ifFewerFree > 0 {
		free, err := db.CountUnlinkedCustomers(ctx, *tenant)
		if err != nil {
			return err
		}
		if free >= int64(*ifFewerFree) {
			fmt.Fprintf(stdout, "tenant %d already has %d customers no loan links; not seeding (--if-fewer-free %d)\n", *tenant, free, *ifFewerFree)
			return nil
		}
	}
	opt := store.SeedOptions{Tenant: *tenant, Customers: *n, LinkedFraction: *linked, Seed: *seed, Workers: *workers}
	if isTerminal(stderr) {
		bar := progressbar.NewOptions(*n, progressbar.OptionSetWriter(stderr),
			progressbar.OptionSetDescription("seeding customers"), progressbar.OptionShowCount(),
			progressbar.OptionShowIts(), progressbar.OptionSetItsString("customers"),
			progressbar.OptionClearOnFinish())
		opt.Progress = func(done int) { bar.Set(done) }
	}
	res, err := db.Seed(ctx, opt)
	if err != nil {
		return fmt.Errorf("seed: %s", describe(err))
	}
	rate := float64(res.Customers) / res.Duration.Seconds()
	fmt.Fprintf(stdout, "seeded %d customers (ids %d..%d) for tenant %d: %d related rows, %d linked to a loan, in %s (%.0f customers/s)\n",
		res.Customers, res.FirstID, res.LastID, *tenant, res.RelatedRows, res.Linked, res.Duration.Round(1e8), rate)
	return nil
}

func runToken(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError{"token: say create or revoke"}
	}
	fs := newFlags("token " + args[0])
	tenant := fs.Int64("tenant", 0, "tenant (instance id) the token acts for")
	switch args[0] {
	case "create":
		scopes := fs.String("scopes", "", "comma-separated scopes: "+strings.Join(scopeNames(), ","))
		name := fs.String("name", "", "the name people know the holder by, unique among the tenant's active tokens (not secret)")
		replace := fs.Bool("replace", false, "revoke the tenant's active token of that name, if any, and make the new one in its place")
		if err := parseFlags(fs, args[1:]); err != nil {
			return err
		}
		if *tenant <= 0 {
			return usageError{"token create: --tenant is required, a positive instance id such as 5200243"}
		}
		sc, err := sweep.ParseScopes(*scopes)
		if err != nil {
			return usageError{"token create: --scopes: " + sweep.ErrorMessage(err)}
		}
		if strings.TrimSpace(*name) == "" {
			return usageError{`token create: --name is required: the name people know the holder by, such as "risk lead"; the timeline and every approval show it`}
		}
		db, err := store.Open(ctx, cfg.DatabaseURL)
		if err != nil {
			return err
		}
		defer db.Close()
		var (
			token       string
			id, revoked int64
		)
		if *replace {
			token, id, revoked, err = db.ReplaceToken(ctx, *tenant, *name, sc)
		} else {
			token, id, err = db.CreateToken(ctx, *tenant, *name, sc)
		}
		if err != nil {
			return fmt.Errorf("token create: %s", describe(err))
		}
		fmt.Fprintln(stdout, token)
		fmt.Fprintf(stdout, "# token %d (%s) for tenant %d with scopes %s; store it now, it is not shown again\n", id, strings.TrimSpace(*name), *tenant, *scopes)
		if revoked != 0 {
			fmt.Fprintf(stdout, "# it replaces token %d of the same name, now revoked\n", revoked)
		}
	case "revoke":
		id := fs.Int64("id", 0, "the token's id, as printed by token create")
		if err := parseFlags(fs, args[1:]); err != nil {
			return err
		}
		db, err := store.Open(ctx, cfg.DatabaseURL)
		if err != nil {
			return err
		}
		defer db.Close()
		if err := db.RevokeToken(ctx, *tenant, *id); err != nil {
			return fmt.Errorf("token revoke: %s", describe(err))
		}
		fmt.Fprintf(stdout, "revoked token %d of tenant %d\n", *id, *tenant)
	default:
		return usageError{fmt.Sprintf("token: unknown action %q; say create or revoke", args[0])}
	}
	return nil
}

func scopeNames() []string {
	out := make([]string, len(sweep.Scopes))
	for i, s := range sweep.Scopes {
		out[i] = string(s)
	}
	return out
}

// describe gives the human message of a domain error, and the full chain of any
// other error (an operator at a terminal needs the detail).
func describe(err error) string {
	if sweep.ErrorCode(err) == sweep.EINTERNAL {
		return err.Error()
	}
	return sweep.ErrorMessage(err)
}

func runProbe(ctx context.Context, args []string, stdout io.Writer) error {
	url := "http://127.0.0.1:8080/readyz"
	if len(args) > 0 {
		url = args[0]
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return usageError{"probe: " + err.Error()}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("probe %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("probe %s: %s %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	fmt.Fprintf(stdout, "%s %s", resp.Status, body)
	return nil
}
