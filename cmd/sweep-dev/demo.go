package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/client"
	"github.com/sweephq/sweep/internal/cmdline"
	"github.com/sweephq/sweep/internal/config"
	"github.com/sweephq/sweep/internal/devdata"
	"github.com/sweephq/sweep/store"
)

// runDemo shows a whole import against a running sweep: it writes a file of
// the tenant's first customers with a few bad rows, uploads it, shows the row
// errors, starts it, and waits until it is done.
func runDemo(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	fs := cmdline.NewFlags("demo")
	tenant := fs.Int64("tenant", 0, "the demo tenant")
	rows := fs.Int("rows", 2000, "customers the demo file deletes")
	base := fs.String("url", "http://127.0.0.1:8080", "where sweep serves")
	token := fs.String("token", "", "an API token of the tenant with imports:read and imports:write")
	if err := cmdline.Parse(fs, args); err != nil {
		return err
	}
	if *tenant <= 0 || *token == "" {
		return cmdline.UsageError{Msg: "demo: --tenant and --token are required"}
	}
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	// Mostly customers no loan links, and a tenth that are linked, so the
	// demo shows both outcomes however many times it ran before.
	ids, err := devdata.FirstCustomerIDs(ctx, db, *tenant, *rows-*rows/10, *rows/10)
	db.Close()
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return fmt.Errorf("demo: tenant %d has no customers left; seed more with: sweep-dev seed --tenant %d --customers 20000", *tenant, *tenant)
	}
	var file bytes.Buffer
	file.WriteString("action,customerId,note\n")
	file.WriteString("delete,42,wrong action\nremove,12a,typo\nremove,1.23E+15,spreadsheet\n")
	for _, id := range ids {
		fmt.Fprintf(&file, "remove,%d,\n", id)
	}

	api := client.New(*base, *token)
	for range 100 { // wait for the server to answer
		if api.Ready(ctx) == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	imp, err := api.Upload(ctx, "demo.csv", &file, client.UploadOptions{})
	if err != nil {
		return demoError(err)
	}
	id := imp.ID
	fmt.Fprintf(stdout, "demo: uploaded demo.csv (%d rows) as import %d\n", len(ids)+3, id)
	if imp, err = api.Wait(ctx, id, 200*time.Millisecond); err != nil {
		return demoError(err)
	}
	fmt.Fprintf(stdout, "demo: import %d is %s: %d valid rows, %d rows with errors\n", id, imp.Status, imp.ValidRows, imp.ErrorRows)
	errs, err := api.Errors(ctx, id, client.ErrorsOptions{Limit: 5})
	if err != nil {
		return demoError(err)
	}
	for _, e := range errs.Errors {
		fmt.Fprintf(stdout, "        line %d: %s\n", e.Line, e.Message)
	}
	if imp.Status != sweep.StatusValidated {
		return fmt.Errorf("demo: import %d was %s: %s", id, imp.Status, imp.Error)
	}
	if _, err := api.Start(ctx, id, client.StartOptions{}); err != nil {
		return demoError(err)
	}
	fmt.Fprintf(stdout, "demo: started import %d\n", id)
	if imp, err = api.Wait(ctx, id, 200*time.Millisecond); err != nil {
		return demoError(err)
	}
	fmt.Fprintf(stdout, "demo: import %d is %s: %d deleted, %d skipped, %d rows with errors (results: %s%s)\n",
		id, imp.Status, imp.DeletedRows, imp.SkippedRows, imp.ErrorRows, api.BaseURL(), imp.Links.Results)
	return nil
}

// demoError says which step of the demo the API refused, and why.
func demoError(err error) error {
	return fmt.Errorf("demo: %w", cmdline.Shown(err))
}
