package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/client"
	"github.com/sweephq/sweep/internal/cmdline"
	"github.com/sweephq/sweep/wire"
)

// exitError ends the command with a given exit status (after printing msg, when
// there is one).
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

// ExitCode is the status the process exits with (cmdline.Program.Main).
func (e exitError) ExitCode() int { return e.code }

// Exit statuses of `sweep import`, for scripts.
const (
	exitRowsFailed = 3 // the import went through, but some rows failed (written to FILE.errors.csv)
)

// cliClient reaches the API from the command line: --url and --token, or
// SWEEP_URL and SWEEP_TOKEN.
type cliClient struct {
	api    *client.Client
	json   bool
	stdout io.Writer
	stderr io.Writer
	tty    bool // stderr is a terminal: show progress bars
}

// apiFlags adds the flags every API command takes.
func apiFlags(fs *flag.FlagSet, getenv func(string) string) (url, token *string, asJSON *bool) {
	url = fs.String("url", cmp.Or(getenv("SWEEP_URL"), "http://127.0.0.1:8080"), "where sweep serves (SWEEP_URL)")
	token = fs.String("token", getenv("SWEEP_TOKEN"), "an API token (SWEEP_TOKEN)")
	asJSON = fs.Bool("json", false, "print JSON instead of text")
	return
}

func newCLI(url, token string, asJSON bool, stdout, stderr io.Writer) (*cliClient, error) {
	if token == "" {
		return nil, cmdline.UsageError{Msg: "an API token is needed: pass --token or set SWEEP_TOKEN (an administrator creates one with: sweep token create)"}
	}
	return &cliClient{api: client.New(url, token), json: asJSON, stdout: stdout, stderr: stderr, tty: cmdline.IsTerminal(stderr)}, nil
}

// runImport is `sweep import FILE`: upload, then (with --start) validate and
// start, following with progress bars; the failed rows go to FILE.errors.csv.
func runImportCLI(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := cmdline.NewFlags("import")
	url, token, asJSON := apiFlags(fs, getenv)
	policy := fs.String("policy", "line", "line: rows with errors are left out; file: any error rejects the file")
	start := fs.Bool("start", false, "start deleting after validation (when valid rows remain)")
	wait := fs.Bool("wait", false, "wait until the import has finished (or, without --start, is validated)")
	parallelism := fs.Int("parallelism", 0, "run tasks working on the import at once (1-16)")
	pos, err := cmdline.ParseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cmdline.UsageError{Msg: "import: give exactly one file: sweep import FILE [--policy file] [--start] [--wait]"}
	}
	c, err := newCLI(*url, *token, *asJSON, stdout, stderr)
	if err != nil {
		return err
	}
	path := pos[0]
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}

	// Upload, streaming the file (it may be gigabytes) with a byte bar.
	var up io.Reader = f
	var bar *progressbar.ProgressBar
	if c.tty && !c.json {
		bar = progressbar.NewOptions64(st.Size(), progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("uploading"),
			progressbar.OptionShowBytes(true), progressbar.OptionSetWidth(30), progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionShowCount())
		up = io.TeeReader(f, bar)
	}
	v, err := c.api.Upload(ctx, filepath.Base(path), up, client.UploadOptions{Policy: sweep.Policy(*policy)})
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(stderr)
	}
	if err != nil {
		return cmdline.Shown(err)
	}
	c.say("uploaded %s as import %d", filepath.Base(path), v.ID)
	if !*start && !*wait {
		return c.printImport(v, nil, "follow it with: sweep imports show %d", v.ID)
	}

	if v, err = c.follow(ctx, v, "validating"); err != nil {
		return err
	}
	if v.Status == sweep.StatusValidated && *start {
		if v.ValidRows == 0 {
			c.say("import %d has no valid rows; nothing to start", v.ID)
		} else {
			var opts client.StartOptions // the import's own settings
			if *parallelism > 0 {
				opts.Parallelism = *parallelism
			}
			if v, err = c.api.Start(ctx, v.ID, opts); err != nil {
				return cmdline.Shown(err)
			}
			c.say("started import %d: deleting %d customers", v.ID, v.ValidRows)
			if *wait {
				if v, err = c.follow(ctx, v, "deleting"); err != nil {
					return err
				}
			}
		}
	}
	return c.finish(ctx, path, v)
}

// say prints a progress line on stderr (text mode only).
func (c *cliClient) say(format string, args ...any) {
	if !c.json {
		fmt.Fprintf(c.stderr, "sweep: "+format+"\n", args...)
	}
}

// follow polls the import until it is settled (it ended, or waits for a
// person, as a validated import the CLI did not ask to start by itself does),
// with a bar on a terminal: a spinner while validating, rows deleted of valid
// rows while running.
func (c *cliClient) follow(ctx context.Context, v wire.Import, phase string) (wire.Import, error) {
	var bar *progressbar.ProgressBar
	if c.tty && !c.json {
		if phase == "validating" {
			bar = progressbar.NewOptions64(-1, progressbar.OptionSetWriter(c.stderr), progressbar.OptionSetDescription("validating"),
				progressbar.OptionSpinnerType(14), progressbar.OptionClearOnFinish())
		} else {
			bar = progressbar.NewOptions64(v.ValidRows, progressbar.OptionSetWriter(c.stderr), progressbar.OptionSetDescription("deleting"),
				progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("rows"),
				progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionSetWidth(30))
		}
	}
	var last sweep.Status
	for {
		var err error
		if v, err = c.api.Import(ctx, v.ID); err != nil {
			return v, cmdline.Shown(err)
		}
		if bar != nil {
			if phase == "validating" {
				bar.Add(1)
			} else {
				bar.Set64(v.ProcessedRows)
			}
		} else if !c.json && v.Status != last {
			c.say("import %d is %s (%d of %d rows processed)", v.ID, v.Status, v.ProcessedRows, v.ValidRows)
		}
		last = v.Status
		if v.Settled {
			if bar != nil {
				bar.Finish()
				fmt.Fprintln(c.stderr)
			}
			return v, nil
		}
		select {
		case <-ctx.Done():
			return v, fmt.Errorf("stopped waiting; import %d goes on (sweep imports show %d): %w", v.ID, v.ID, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// finish prints the summary, writes the failed rows next to the file, and
// picks the exit status.
func (c *cliClient) finish(ctx context.Context, path string, v wire.Import) error {
	var errFile string
	if v.ErrorRows > 0 {
		errFile = strings.TrimSuffix(path, filepath.Ext(path)) + ".errors.csv"
		if err := c.saveFailedRows(ctx, v.ID, errFile); err != nil {
			return err
		}
	}
	next := ""
	switch {
	case v.AwaitsOperator && slices.Contains(v.Actions, "start"):
		next = fmt.Sprintf("start it with: sweep imports start %d", v.ID)
	case !v.Settled:
		next = fmt.Sprintf("follow it with: sweep imports show %d", v.ID)
	}
	if err := c.printImport(v, nil, "%s", next); err != nil {
		return err
	}
	if errFile != "" && !c.json {
		fmt.Fprintf(c.stdout, "%d rows failed; they are in %s with a line and an error column: fix them and import that file.\n", v.ErrorRows, errFile)
	}
	switch {
	case v.Status == sweep.StatusRejected || v.Status == sweep.StatusFailed || v.Status == sweep.StatusCancelled:
		return exitError{code: 1, msg: fmt.Sprintf("import %d is %s: %s", v.ID, v.Status, v.Error)}
	case v.ErrorRows > 0 || v.SkippedRows > 0:
		return exitError{code: exitRowsFailed}
	}
	return nil
}

func (c *cliClient) saveFailedRows(ctx context.Context, id int64, path string) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := c.api.FailedRows(ctx, id, out); err != nil {
		out.Close()
		return cmdline.Shown(err)
	}
	return out.Close()
}

// printImport prints one import: JSON, or a few lines of text. For an
// import awaiting approval, m is its impact preview as read now (nil: not
// read), whose number of customers is what the approver types.
func (c *cliClient) printImport(v wire.Import, m *wire.Impact, next string, args ...any) error {
	if c.json {
		return json.NewEncoder(c.stdout).Encode(v)
	}
	fmt.Fprintf(c.stdout, "import %d (%s): %s\n", v.ID, v.FileName, strings.ReplaceAll(string(v.Status), "_", " "))
	fmt.Fprintf(c.stdout, "  rows %d, valid %d, with errors %d", v.TotalRows, v.ValidRows, v.ErrorRows)
	if v.ProcessedRows > 0 || v.Status == sweep.StatusRunning {
		fmt.Fprintf(c.stdout, "; deleted %d, skipped %d (%.1f%%)", v.DeletedRows, v.SkippedRows, v.Percent)
	}
	fmt.Fprintln(c.stdout)
	for _, k := range slices.Sorted(maps.Keys(v.ErasedRows)) {
		fmt.Fprintf(c.stdout, "  %s %s\n", k, sweep.Commas(v.ErasedRows[k]))
	}
	if v.Error != "" {
		fmt.Fprintf(c.stdout, "  %s\n", v.Error)
	}
	if v.RunWindow != "" || v.MaxRowsPerSecond > 0 {
		fmt.Fprintf(c.stdout, "  runs %s", cmp.Or(v.RunWindow, "at any time"))
		if v.MaxRowsPerSecond > 0 {
			fmt.Fprintf(c.stdout, ", at most %d rows/s", v.MaxRowsPerSecond)
		}
		fmt.Fprintln(c.stdout)
	}
	if v.Hold != nil {
		fmt.Fprintf(c.stdout, "  held: %s\n", v.Hold.Text)
	}
	if a := v.Approval; a != nil {
		if a.ApprovedAt != nil {
			fmt.Fprintf(c.stdout, "  asked by %s, approved by %s at %s\n", sweep.Who(a.RequestedBy, a.RequestedByToken),
				sweep.Who(a.ApprovedBy, a.ApprovedByToken), a.ApprovedAt.UTC().Format("2006-01-02 15:04 MST"))
		} else if v.Status == sweep.StatusAwaitingApproval {
			fmt.Fprintf(c.stdout, "  awaits approval of another person (asked by %s; expires %s)",
				sweep.Who(a.RequestedBy, a.RequestedByToken), a.ExpiresAt.UTC().Format("2006-01-02 15:04 MST"))
			if m != nil {
				fmt.Fprintf(c.stdout, ": it deletes %s customers as counted at %s: sweep imports approve %d --confirm %d",
					sweep.Commas(m.Customers), m.ComputedAt.UTC().Format("2006-01-02 15:04:05 MST"), v.ID, m.Customers)
			}
			fmt.Fprintln(c.stdout)
			if a.Reason != "" {
				fmt.Fprintf(c.stdout, "  why: %s\n", a.Reason)
			}
		}
	}
	for i, h := range v.Holds {
		if i == 0 {
			fmt.Fprintln(c.stdout, "  holds (newest first):")
		}
		ended := "still held"
		if h.Ended != nil {
			ended = "until " + h.Ended.UTC().Format("2006-01-02 15:04:05 MST")
		}
		fmt.Fprintf(c.stdout, "    %s  %s (%s)\n", h.Since.UTC().Format("2006-01-02 15:04:05 MST"), h.Message, ended)
	}
	if n := fmt.Sprintf(next, args...); n != "" {
		fmt.Fprintf(c.stdout, "  %s\n", n)
	}
	return nil
}

// runImportsCLI is `sweep imports list|show|impact|errors|start|set|pause|resume|cancel`.
func runImportsCLI(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return cmdline.UsageError{Msg: "imports: say list, show ID, impact ID, errors ID, start ID, set ID, pause ID, resume ID, cancel ID, approve ID or reject ID"}
	}
	sub, args := args[0], args[1:]
	fs := cmdline.NewFlags("imports " + sub)
	url, token, asJSON := apiFlags(fs, getenv)
	limit := fs.Int("limit", 20, "list: how many imports; errors: how many errors")
	window := fs.String("window", "", `start, set: when the run may delete, e.g. "Mon-Fri 22:00-06:00 America/Denver" (set: "" removes it)`)
	maxRate := fs.Int("max-rate", -1, "start, set: most rows deleted per second by this import (0 removes the cap)")
	confirm := fs.Int64("confirm", -1, "approve: the number of customers the import deletes, as you read it")
	reason := fs.String("reason", "", "reject: why, for the person who asked")
	asCSV := fs.Bool("csv", false, "errors: print the failed rows as CSV, ready to fix")
	pos, err := cmdline.ParseInterspersed(fs, args)
	if err != nil {
		return err
	}
	c, err := newCLI(*url, *token, *asJSON, stdout, stderr)
	if err != nil {
		return err
	}
	var id int64
	if sub != "list" {
		if len(pos) != 1 {
			return cmdline.UsageError{Msg: fmt.Sprintf("imports %s: give one import id", sub)}
		}
		if id, err = strconv.ParseInt(pos[0], 10, 64); err != nil || id <= 0 {
			return cmdline.UsageError{Msg: fmt.Sprintf("imports %s: %q is not an import id", sub, pos[0])}
		}
	}
	switch sub {
	case "list":
		out, err := c.api.Imports(ctx, client.ListOptions{Limit: *limit})
		if err != nil {
			return cmdline.Shown(err)
		}
		if c.json {
			return json.NewEncoder(stdout).Encode(out.Imports)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSTATE\tFILE\tROWS\tVALID\tERRORS\tDELETED\tSKIPPED\tBY\tCREATED")
		for _, v := range out.Imports {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", v.ID, v.Status, v.FileName, v.TotalRows, v.ValidRows,
				v.ErrorRows, v.DeletedRows, v.SkippedRows, v.CreatedBy, v.CreatedAt.Format(time.RFC3339Nano))
		}
		return tw.Flush()
	case "show":
		v, err := c.api.Import(ctx, id)
		if err != nil {
			return cmdline.Shown(err)
		}
		ev, err := c.api.Events(ctx, id)
		if err != nil {
			return cmdline.Shown(err)
		}
		if c.json {
			return json.NewEncoder(stdout).Encode(struct {
				wire.Import
				Events []wire.Event `json:"events"`
			}{v, ev.Events})
		}
		next := ""
		if len(v.Actions) > 0 {
			next = "can be: " + strings.Join(v.Actions, ", ")
		}
		var preview *wire.Impact
		if v.Status == sweep.StatusAwaitingApproval {
			// The number to confirm is the run's as counted now, not the
			// file's valid rows.
			m, err := c.api.Impact(ctx, id)
			if err != nil {
				return cmdline.Shown(err)
			}
			preview = &m
		}
		if err := c.printImport(v, preview, "%s", next); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "  timeline:")
		for _, e := range ev.Events {
			fmt.Fprintf(stdout, "    %s  %-12s %s\n", e.At.UTC().Format("2006-01-02 15:04:05 MST"), e.Actor, e.Text)
		}
		return nil
	case "impact":
		return c.showImpact(ctx, id)
	case "errors":
		if *asCSV {
			return cmdline.Shown(c.api.FailedRows(ctx, id, stdout))
		}
		page, err := c.api.Errors(ctx, id, client.ErrorsOptions{Limit: *limit})
		if err != nil {
			return cmdline.Shown(err)
		}
		if c.json {
			return json.NewEncoder(stdout).Encode(page)
		}
		if page.FileError != "" {
			fmt.Fprintln(stdout, page.FileError)
		}
		for _, e := range page.Errors {
			fmt.Fprintf(stdout, "line %d: %s\n", e.Line, e.Message)
		}
		if page.Next != "" {
			fmt.Fprintf(stdout, "(more: --limit %d, or the failed rows as CSV with --csv)\n", *limit*10)
		}
		return nil
	case "set":
		var ch wire.RunChange
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "window":
				ch.RunWindow = window
			case "max-rate":
				ch.MaxRowsPerSecond = maxRate
			}
		})
		if ch == (wire.RunChange{}) {
			return cmdline.UsageError{Msg: "imports set: say what to change: --window \"Mon-Fri 22:00-06:00 America/Denver\" and/or --max-rate 5000"}
		}
		v, err := c.api.ChangeRun(ctx, id, ch)
		if err != nil {
			return cmdline.Shown(err)
		}
		return c.printImport(v, nil, "")
	case "approve":
		if *confirm < 0 {
			return cmdline.UsageError{Msg: "imports approve: type the number of customers the import deletes with --confirm N (sweep imports show ID tells)"}
		}
		v, err := c.api.Approve(ctx, id, *confirm)
		if err != nil {
			return cmdline.Shown(err)
		}
		return c.printImport(v, nil, "approved: it runs as its requester asked")
	case "reject":
		if strings.TrimSpace(*reason) == "" {
			return cmdline.UsageError{Msg: "imports reject: say why with --reason \"...\", for the person who asked"}
		}
		v, err := c.api.Reject(ctx, id, *reason)
		if err != nil {
			return cmdline.Shown(err)
		}
		return c.printImport(v, nil, "")
	case "start", "pause", "resume", "cancel":
		op := map[string]func(context.Context, int64) (wire.Import, error){
			"start": func(ctx context.Context, id int64) (wire.Import, error) {
				return c.api.Start(ctx, id, client.StartOptions{RunWindow: *window, MaxRowsPerSecond: max(*maxRate, 0)})
			},
			"pause": c.api.Pause, "resume": c.api.Resume, "cancel": c.api.Cancel,
		}[sub]
		v, err := op(ctx, id)
		if err != nil {
			return cmdline.Shown(err)
		}
		return c.printImport(v, nil, "")
	}
	return cmdline.UsageError{Msg: fmt.Sprintf("imports: unknown subcommand %q (list, show, impact, errors, start, set, pause, resume, cancel, approve, reject)", sub)}
}
