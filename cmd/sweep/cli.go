package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
)

// exitError ends the command with a given exit status (after printing msg, when
// there is one).
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

// Exit statuses of `sweep import`, for scripts.
const (
	exitRowsFailed = 3 // the import went through, but some rows failed (written to FILE.errors.csv)
)

// importView is the part of the API's import JSON the CLI shows.
type importView struct {
	ID            int64    `json:"id"`
	Status        string   `json:"status"`
	FileName      string   `json:"file_name"`
	AutoStart     bool     `json:"auto_start"`
	TotalRows     int64    `json:"total_rows"`
	ValidRows     int64    `json:"valid_rows"`
	ErrorRows     int64    `json:"error_rows"`
	ProcessedRows int64    `json:"processed_rows"`
	DeletedRows   int64    `json:"deleted_rows"`
	SkippedRows   int64    `json:"skipped_rows"`
	Percent       float64  `json:"percent"`
	RowsPerSecond float64  `json:"rows_per_second"`
	ETASeconds    *int64   `json:"eta_seconds"`
	Error         string   `json:"error"`
	CreatedBy     string   `json:"created_by"`
	CreatedAt     string   `json:"created_at"`
	Actions       []string `json:"actions"`
}

func (v importView) finished() bool {
	switch v.Status {
	case "completed", "completed_with_errors", "rejected", "cancelled", "failed":
		return true
	}
	return false
}

// cliClient reaches the API from the command line: --url and --token, or
// SWEEP_URL and SWEEP_TOKEN.
type cliClient struct {
	apiClient
	json   bool
	stdout io.Writer
	stderr io.Writer
	tty    bool // stderr is a terminal: show progress bars
}

// apiFlags adds the flags every API command takes.
func apiFlags(fs *flag.FlagSet, getenv func(string) string) (url, token *string, asJSON *bool) {
	url = fs.String("url", cmpOr(getenv("SWEEP_URL"), "http://127.0.0.1:8080"), "where sweep serves (SWEEP_URL)")
	token = fs.String("token", getenv("SWEEP_TOKEN"), "an API token (SWEEP_TOKEN)")
	asJSON = fs.Bool("json", false, "print JSON instead of text")
	return
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func newCLI(url, token string, asJSON bool, stdout, stderr io.Writer) (*cliClient, error) {
	if token == "" {
		return nil, usageError{"an API token is needed: pass --token or set SWEEP_TOKEN (an administrator creates one with: sweep token create)"}
	}
	return &cliClient{apiClient: apiClient{base: strings.TrimRight(url, "/"), token: token}, json: asJSON,
		stdout: stdout, stderr: stderr, tty: isTerminal(stderr)}, nil
}

// parseInterspersed parses flags that may come before, between or after the
// positional arguments (sweep import FILE --start --wait) and returns those.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usageError{fmt.Sprintf("%s: %v", fs.Name(), err)}
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// apiError turns an API error body into the message the API wrote.
func apiMessage(err error) error {
	s := err.Error()
	if i := strings.Index(s, "{"); i >= 0 {
		var body struct {
			Error struct{ Message string } `json:"error"`
		}
		if json.Unmarshal([]byte(s[i:]), &body) == nil && body.Error.Message != "" {
			return errors.New(strings.TrimSpace(s[:i]) + ": " + body.Error.Message)
		}
	}
	return err
}

func (c *cliClient) get(ctx context.Context, id int64) (importView, error) {
	var v importView
	err := c.do(ctx, "GET", fmt.Sprintf("/v1/imports/%d", id), nil, &v)
	return v, err
}

// runImport is `sweep import FILE`: upload, then (with --start) validate and
// start, following with progress bars; the failed rows go to FILE.errors.csv.
func runImportCLI(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("import")
	url, token, asJSON := apiFlags(fs, getenv)
	policy := fs.String("policy", "line", "line: rows with errors are left out; file: any error rejects the file")
	start := fs.Bool("start", false, "start deleting after validation (when valid rows remain)")
	wait := fs.Bool("wait", false, "wait until the import has finished (or, without --start, is validated)")
	parallelism := fs.Int("parallelism", 0, "run tasks working on the import at once (1-16)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"import: give exactly one file: sweep import FILE [--policy file] [--start] [--wait]"}
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
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		mw.WriteField("policy", *policy)
		fw, err := mw.CreateFormFile("file", filepath.Base(path))
		if err == nil {
			_, err = io.Copy(fw, up)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	var v importView
	err = c.do(ctx, "POST", "/v1/imports", pr, &v, "Content-Type", mw.FormDataContentType())
	pr.CloseWithError(io.ErrClosedPipe)
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(stderr)
	}
	if err != nil {
		return apiMessage(err)
	}
	c.say("uploaded %s as import %d", filepath.Base(path), v.ID)
	if !*start && !*wait {
		return c.printImport(v, "follow it with: sweep imports show %d", v.ID)
	}

	if v, err = c.follow(ctx, v, "validating"); err != nil {
		return err
	}
	if v.Status == "validated" && *start {
		if v.ValidRows == 0 {
			c.say("import %d has no valid rows; nothing to start", v.ID)
		} else {
			body := "" // the import's own setting
			if *parallelism > 0 {
				body = fmt.Sprintf(`{"parallelism": %d}`, *parallelism)
			}
			if err := c.do(ctx, "POST", fmt.Sprintf("/v1/imports/%d/start", v.ID), strings.NewReader(body), &v, "Content-Type", "application/json"); err != nil {
				return apiMessage(err)
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

// follow polls the import while it is being validated or run, with a bar on a
// terminal: a spinner while validating, rows deleted of valid rows while running.
func (c *cliClient) follow(ctx context.Context, v importView, phase string) (importView, error) {
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
	last := ""
	for {
		var err error
		if v, err = c.get(ctx, v.ID); err != nil {
			return v, apiMessage(err)
		}
		working := v.Status == "uploaded" || v.Status == "validating"
		if phase != "validating" {
			working = v.Status == "queued" || v.Status == "running"
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
		if !working {
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
func (c *cliClient) finish(ctx context.Context, path string, v importView) error {
	var errFile string
	if v.ErrorRows > 0 {
		errFile = strings.TrimSuffix(path, filepath.Ext(path)) + ".errors.csv"
		if err := c.saveFailedRows(ctx, v.ID, errFile); err != nil {
			return err
		}
	}
	next := ""
	switch {
	case v.Status == "validated":
		next = fmt.Sprintf("start it with: sweep imports start %d", v.ID)
	case !v.finished():
		next = fmt.Sprintf("follow it with: sweep imports show %d", v.ID)
	}
	if err := c.printImport(v, "%s", next); err != nil {
		return err
	}
	if errFile != "" && !c.json {
		fmt.Fprintf(c.stdout, "%d rows failed; they are in %s with a line and an error column: fix them and import that file.\n", v.ErrorRows, errFile)
	}
	switch {
	case v.Status == "rejected" || v.Status == "failed" || v.Status == "cancelled":
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
	if err := c.copyTo(ctx, fmt.Sprintf("/v1/imports/%d/errors?format=csv", id), out); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// printImport prints one import: JSON, or a few lines of text.
func (c *cliClient) printImport(v importView, next string, args ...any) error {
	if c.json {
		return json.NewEncoder(c.stdout).Encode(v)
	}
	fmt.Fprintf(c.stdout, "import %d (%s): %s\n", v.ID, v.FileName, strings.ReplaceAll(v.Status, "_", " "))
	fmt.Fprintf(c.stdout, "  rows %d, valid %d, with errors %d", v.TotalRows, v.ValidRows, v.ErrorRows)
	if v.ProcessedRows > 0 || v.Status == "running" {
		fmt.Fprintf(c.stdout, "; deleted %d, skipped %d (%.1f%%)", v.DeletedRows, v.SkippedRows, v.Percent)
	}
	fmt.Fprintln(c.stdout)
	if v.Error != "" {
		fmt.Fprintf(c.stdout, "  %s\n", v.Error)
	}
	if n := fmt.Sprintf(next, args...); n != "" {
		fmt.Fprintf(c.stdout, "  %s\n", n)
	}
	return nil
}

// runImportsCLI is `sweep imports list|show|errors|start|cancel`.
func runImportsCLI(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"imports: say list, show ID, errors ID, start ID or cancel ID"}
	}
	sub, args := args[0], args[1:]
	fs := newFlags("imports " + sub)
	url, token, asJSON := apiFlags(fs, getenv)
	limit := fs.Int("limit", 20, "list: how many imports; errors: how many errors")
	asCSV := fs.Bool("csv", false, "errors: print the failed rows as CSV, ready to fix")
	pos, err := parseInterspersed(fs, args)
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
			return usageError{fmt.Sprintf("imports %s: give one import id", sub)}
		}
		if id, err = strconv.ParseInt(pos[0], 10, 64); err != nil || id <= 0 {
			return usageError{fmt.Sprintf("imports %s: %q is not an import id", sub, pos[0])}
		}
	}
	switch sub {
	case "list":
		var out struct {
			Imports []importView `json:"imports"`
		}
		if err := c.do(ctx, "GET", fmt.Sprintf("/v1/imports?limit=%d", *limit), nil, &out); err != nil {
			return apiMessage(err)
		}
		if c.json {
			return json.NewEncoder(stdout).Encode(out.Imports)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSTATE\tFILE\tROWS\tVALID\tERRORS\tDELETED\tSKIPPED\tBY\tCREATED")
		for _, v := range out.Imports {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", v.ID, v.Status, v.FileName, v.TotalRows, v.ValidRows,
				v.ErrorRows, v.DeletedRows, v.SkippedRows, v.CreatedBy, v.CreatedAt)
		}
		return tw.Flush()
	case "show":
		v, err := c.get(ctx, id)
		if err != nil {
			return apiMessage(err)
		}
		next := ""
		if len(v.Actions) > 0 {
			next = "can be: " + strings.Join(v.Actions, ", ")
		}
		return c.printImport(v, "%s", next)
	case "errors":
		if *asCSV {
			return c.copyTo(ctx, fmt.Sprintf("/v1/imports/%d/errors?format=csv", id), stdout)
		}
		var page struct {
			FileError string `json:"file_error"`
			Errors    []struct {
				Line    int64  `json:"line"`
				Code    string `json:"code"`
				Column  string `json:"column"`
				Value   string `json:"value"`
				Message string `json:"message"`
			} `json:"errors"`
			Total int64  `json:"total"`
			Next  string `json:"next"`
		}
		if err := c.do(ctx, "GET", fmt.Sprintf("/v1/imports/%d/errors?limit=%d", id, *limit), nil, &page); err != nil {
			return apiMessage(err)
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
	case "start", "cancel":
		var v importView
		if err := c.do(ctx, "POST", fmt.Sprintf("/v1/imports/%d/%s", id, sub), nil, &v); err != nil {
			return apiMessage(err)
		}
		return c.printImport(v, "")
	}
	return usageError{fmt.Sprintf("imports: unknown subcommand %q (list, show, errors, start, cancel)", sub)}
}

// copyTo streams an API response body to w.
func (c *cliClient) copyTo(ctx context.Context, path string, w io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return apiMessage(fmt.Errorf("GET %s: %s %s", path, resp.Status, b))
	}
	_, err = io.Copy(w, resp.Body)
	return err
}
