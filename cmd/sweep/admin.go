package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/cmdline"
	"github.com/sweephq/sweep/internal/config"
	"github.com/sweephq/sweep/store"
)

func runMigrate(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return cmdline.UsageError{Msg: "migrate: say up, down or status"}
	}
	if err := cmdline.Parse(cmdline.NewFlags("migrate "+args[0]), args[1:]); err != nil {
		return err
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
		return cmdline.UsageError{Msg: fmt.Sprintf("migrate: unknown action %q; say up, down or status", args[0])}
	}
	return nil
}

func runToken(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return cmdline.UsageError{Msg: "token: say create or revoke"}
	}
	fs := cmdline.NewFlags("token " + args[0])
	tenant := fs.Int64("tenant", 0, "tenant (instance id) the token acts for")
	switch args[0] {
	case "create":
		scopes := fs.String("scopes", "", "comma-separated scopes: "+strings.Join(scopeNames(), ","))
		name := fs.String("name", "", "the name people know the holder by, unique among the tenant's active tokens (not secret)")
		replace := fs.Bool("replace", false, "revoke the tenant's active token of that name, if any, and make the new one in its place")
		if err := cmdline.Parse(fs, args[1:]); err != nil {
			return err
		}
		if *tenant <= 0 {
			return cmdline.UsageError{Msg: "token create: --tenant is required, a positive instance id such as 5200243"}
		}
		sc, err := sweep.ParseScopes(*scopes)
		if err != nil {
			return cmdline.UsageError{Msg: "token create: --scopes: " + sweep.ErrorMessage(err)}
		}
		if strings.TrimSpace(*name) == "" {
			return cmdline.UsageError{Msg: `token create: --name is required: the name people know the holder by, such as "risk lead"; the timeline and every approval show it`}
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
			return fmt.Errorf("token create: %s", cmdline.Describe(err))
		}
		fmt.Fprintln(stdout, token)
		fmt.Fprintf(stdout, "# token %d (%s) for tenant %d with scopes %s; store it now, it is not shown again\n", id, strings.TrimSpace(*name), *tenant, *scopes)
		if revoked != 0 {
			fmt.Fprintf(stdout, "# it replaces token %d of the same name, now revoked\n", revoked)
		}
	case "revoke":
		id := fs.Int64("id", 0, "the token's id, as printed by token create")
		if err := cmdline.Parse(fs, args[1:]); err != nil {
			return err
		}
		db, err := store.Open(ctx, cfg.DatabaseURL)
		if err != nil {
			return err
		}
		defer db.Close()
		if err := db.RevokeToken(ctx, *tenant, *id); err != nil {
			return fmt.Errorf("token revoke: %s", cmdline.Describe(err))
		}
		fmt.Fprintf(stdout, "revoked token %d of tenant %d\n", *id, *tenant)
	default:
		return cmdline.UsageError{Msg: fmt.Sprintf("token: unknown action %q; say create or revoke", args[0])}
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

func runProbe(ctx context.Context, args []string, stdout io.Writer) error {
	pos, err := cmdline.ParseInterspersed(cmdline.NewFlags("probe"), args)
	if err != nil {
		return err
	}
	url := "http://127.0.0.1:8080/readyz"
	switch len(pos) {
	case 0:
	case 1:
		url = pos[0]
	default:
		return cmdline.UsageError{Msg: "probe: give at most one URL"}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return cmdline.UsageError{Msg: "probe: " + err.Error()}
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
