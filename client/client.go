// Package client is the Go side of sweep's HTTP API: the wire format of an
// import and the pages the API answers, and Client, which calls the API and
// turns every error answer back into a *sweep.Error with the code the server
// chose, so callers test sweep.ErrorCode(err) and never read error strings.
//
// It depends only on package sweep and the standard library; the server
// (package uploader) answers with the same types.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/wire"
)

// Client calls one sweep API with one token. Safe for concurrent use.
type Client struct {
	base  string
	token string
	hc    *http.Client
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sends the requests through hc instead of
// http.DefaultClient; give it timeouts or a transport of your own. Uploads
// and CSV downloads may take long: bound them with their context rather than
// with hc.Timeout.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.hc = hc }
}

// New returns a client of the API at baseURL (such as http://127.0.0.1:8080)
// that authenticates with token.
func New(baseURL, token string, opts ...Option) *Client {
	c := &Client{base: strings.TrimRight(baseURL, "/"), token: token, hc: http.DefaultClient}
	for _, o := range opts {
		o(c)
	}
	return c
}

// BaseURL is the API's address, without a trailing slash.
func (c *Client) BaseURL() string { return c.base }

// UploadOptions are the options of a new import: all may be left zero.
type UploadOptions struct {
	Policy    sweep.Policy // line (default) or file
	AutoStart bool         // start by itself when validated without row errors
	RunAt     time.Time    // when to start deleting; zero: when started
	// RunWindow is when the run may delete, e.g. "Mon-Fri 22:00-06:00
	// America/Denver" (empty: any time); MaxRowsPerSecond caps its speed
	// (0: no cap of its own).
	RunWindow        string
	MaxRowsPerSecond int
	// IdempotencyKey makes the same request sent again return the first
	// import (sent as the Idempotency-Key header).
	IdempotencyKey string
}

// fields are the upload's options as form fields, in a fixed order.
func (o UploadOptions) fields() [][2]string {
	var f [][2]string
	if o.Policy != "" {
		f = append(f, [2]string{"policy", string(o.Policy)})
	}
	if o.AutoStart {
		f = append(f, [2]string{"auto_start", "true"})
	}
	if !o.RunAt.IsZero() {
		f = append(f, [2]string{"run_at", o.RunAt.Format(time.RFC3339)})
	}
	if o.RunWindow != "" {
		f = append(f, [2]string{"run_window", o.RunWindow})
	}
	if o.MaxRowsPerSecond != 0 {
		f = append(f, [2]string{"max_rows_per_second", strconv.Itoa(o.MaxRowsPerSecond)})
	}
	return f
}

// Upload sends a CSV file as a new import (POST /v1/imports, multipart field
// "file" named name, after the options), streaming it from file, and returns
// the import, whose validation has begun. A replayed idempotency key returns
// the first import.
func (c *Client) Upload(ctx context.Context, name string, file io.Reader, opts UploadOptions) (wire.Import, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		// The options go before the file, so the server knows them when the
		// file arrives.
		var err error
		for _, f := range opts.fields() {
			if err = mw.WriteField(f[0], f[1]); err != nil {
				break
			}
		}
		if err == nil {
			var fw io.Writer
			if fw, err = mw.CreateFormFile("file", name); err == nil {
				_, err = io.Copy(fw, file)
			}
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	defer pr.CloseWithError(io.ErrClosedPipe) // stops the copy when the answer comes first
	var imp wire.Import
	err := c.do(ctx, http.MethodPost, "/v1/imports", pr, mw.FormDataContentType(), &imp, createHeader(opts.IdempotencyKey)...)
	return imp, err
}

// CreateFromIDs sends a list of customer ids as a new import (POST
// /v1/imports with a JSON body) and returns the import.
func (c *Client) CreateFromIDs(ctx context.Context, ids []int64, opts UploadOptions) (wire.Import, error) {
	body := struct {
		CustomerIDs []int64 `json:"customer_ids"`
		Policy      string  `json:"policy,omitempty"`
		AutoStart   bool    `json:"auto_start,omitempty"`
		RunAt       string  `json:"run_at,omitempty"`
		RunWindow   string  `json:"run_window,omitempty"`
		MaxRate     int     `json:"max_rows_per_second,omitempty"`
	}{CustomerIDs: ids, Policy: string(opts.Policy), AutoStart: opts.AutoStart, RunWindow: opts.RunWindow, MaxRate: opts.MaxRowsPerSecond}
	if !opts.RunAt.IsZero() {
		body.RunAt = opts.RunAt.Format(time.RFC3339)
	}
	b, err := json.Marshal(body)
	if err != nil {
		return wire.Import{}, err
	}
	var imp wire.Import
	err = c.do(ctx, http.MethodPost, "/v1/imports", bytes.NewReader(b), "application/json", &imp, createHeader(opts.IdempotencyKey)...)
	return imp, err
}

// createHeader are the headers of a new import. Expect: 100-continue holds
// the body back until the server has accepted the request's headers: a
// refusal that comes before the body is read (429, 401, 403) then reaches the
// caller as its code, not as a broken pipe from a body written to a closed
// connection, and the file is not sent for nothing. (http.DefaultTransport
// waits a second for the server's go-ahead; a Transport whose
// ExpectContinueTimeout is 0 sends the body at once.)
func createHeader(key string) []string {
	h := []string{"Expect", "100-continue"}
	if key != "" {
		h = append(h, "Idempotency-Key", key)
	}
	return h
}

// wire.Import returns one import of the token's tenant.
func (c *Client) Import(ctx context.Context, id int64) (wire.Import, error) {
	var imp wire.Import
	err := c.do(ctx, http.MethodGet, importPath(id, ""), nil, "", &imp)
	return imp, err
}

// ListOptions select a page of the import history; all may be left zero.
type ListOptions struct {
	Limit           int   // imports on the page (the API's default when 0)
	Before          int64 // only imports with a smaller id (the next page)
	CleanupPolicyID int64 // only the batches of this cleanup policy
	// Statuses, Source and CreatedBy keep only the imports in one of these
	// states, of this source, made by this creator; CreatedAfter (inclusive)
	// and CreatedBefore bound their creation time. Zero values keep all.
	Statuses                    []sweep.Status
	Source                      sweep.Source
	CreatedBy                   string
	CreatedAfter, CreatedBefore time.Time
}

// Imports returns a page of the import history, newest first.
func (c *Client) Imports(ctx context.Context, opts ListOptions) (wire.ImportList, error) {
	q := url.Values{}
	if opts.Limit > 0 {
		q.Set("limit", strconv.Itoa(opts.Limit))
	}
	if opts.Before > 0 {
		q.Set("before", strconv.FormatInt(opts.Before, 10))
	}
	if opts.CleanupPolicyID > 0 {
		q.Set("cleanup_policy_id", strconv.FormatInt(opts.CleanupPolicyID, 10))
	}
	if len(opts.Statuses) > 0 {
		names := make([]string, len(opts.Statuses))
		for i, st := range opts.Statuses {
			names[i] = string(st)
		}
		q.Set("status", strings.Join(names, ","))
	}
	if opts.Source != "" {
		q.Set("source", string(opts.Source))
	}
	if opts.CreatedBy != "" {
		q.Set("created_by", opts.CreatedBy)
	}
	if !opts.CreatedAfter.IsZero() {
		q.Set("created_after", opts.CreatedAfter.UTC().Format(time.RFC3339Nano))
	}
	if !opts.CreatedBefore.IsZero() {
		q.Set("created_before", opts.CreatedBefore.UTC().Format(time.RFC3339Nano))
	}
	var list wire.ImportList
	err := c.do(ctx, http.MethodGet, withQuery("/v1/imports", q), nil, "", &list)
	return list, err
}

// StartOptions are the options of Start: both may be left zero, and the
// import's own settings apply.
type StartOptions struct {
	RunAt       time.Time // start deleting at this time, not now
	Parallelism int       // run tasks working on the import at once (1-16)
	// RunWindow and MaxRowsPerSecond replace the import's own when set.
	RunWindow        string
	MaxRowsPerSecond int
}

// Start queues a validated import to run and returns it.
func (c *Client) Start(ctx context.Context, id int64, opts StartOptions) (wire.Import, error) {
	var body io.Reader
	contentType := ""
	if opts != (StartOptions{}) {
		// A body only when an option is set: the server takes none as "the
		// import's own settings".
		b, err := json.Marshal(struct {
			RunAt       string `json:"run_at,omitempty"`
			Parallelism int    `json:"parallelism,omitempty"`
			RunWindow   string `json:"run_window,omitempty"`
			MaxRate     int    `json:"max_rows_per_second,omitempty"`
		}{Parallelism: opts.Parallelism, RunAt: formatTime(opts.RunAt), RunWindow: opts.RunWindow, MaxRate: opts.MaxRowsPerSecond})
		if err != nil {
			return wire.Import{}, err
		}
		body, contentType = bytes.NewReader(b), "application/json"
	}
	var imp wire.Import
	err := c.do(ctx, http.MethodPost, importPath(id, "/start"), body, contentType, &imp)
	return imp, err
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339)
}

// Validate validates an uploaded or rejected import again and returns it.
func (c *Client) Validate(ctx context.Context, id int64) (wire.Import, error) {
	var imp wire.Import
	err := c.do(ctx, http.MethodPost, importPath(id, "/validate"), nil, "", &imp)
	return imp, err
}

// Cancel cancels an import before it runs, or asks a running one to stop
// after its current chunk, and returns it.
func (c *Client) Cancel(ctx context.Context, id int64) (wire.Import, error) {
	var imp wire.Import
	err := c.do(ctx, http.MethodPost, importPath(id, "/cancel"), nil, "", &imp)
	return imp, err
}

// Pause stops a queued or running import after its chunk in flight.
func (c *Client) Pause(ctx context.Context, id int64) (wire.Import, error) {
	var imp wire.Import
	err := c.do(ctx, http.MethodPost, importPath(id, "/pause"), nil, "", &imp)
	return imp, err
}

// Resume queues a paused import again; it goes on where it stopped.
func (c *Client) Resume(ctx context.Context, id int64) (wire.Import, error) {
	var imp wire.Import
	err := c.do(ctx, http.MethodPost, importPath(id, "/resume"), nil, "", &imp)
	return imp, err
}

// Approve approves an import awaiting approval, typing the number of
// customers it deletes (imports:approve; not the token that asked).
func (c *Client) Approve(ctx context.Context, id, confirmCustomers int64) (wire.Import, error) {
	b, _ := json.Marshal(map[string]int64{"confirm_customers": confirmCustomers})
	var imp wire.Import
	err := c.do(ctx, http.MethodPost, importPath(id, "/approve"), bytes.NewReader(b), "application/json", &imp)
	return imp, err
}

// Reject rejects an import awaiting approval, with a reason.
func (c *Client) Reject(ctx context.Context, id int64, reason string) (wire.Import, error) {
	b, _ := json.Marshal(map[string]string{"reason": reason})
	var imp wire.Import
	err := c.do(ctx, http.MethodPost, importPath(id, "/reject"), bytes.NewReader(b), "application/json", &imp)
	return imp, err
}

// DeleteImport removes an import that is neither queued nor running from the
// history, with its file and errors (the audit trail stays).
func (c *Client) DeleteImport(ctx context.Context, id int64) error {
	return c.do(ctx, http.MethodDelete, importPath(id, ""), nil, "", nil)
}

// ErrorsOptions select a page of an import's row errors.
type ErrorsOptions struct {
	Limit     int   // errors on the page (the API's default when 0)
	AfterLine int64 // only errors of later lines (the next page)
}

// Errors returns a page of an import's row errors, by line.
func (c *Client) Errors(ctx context.Context, id int64, opts ErrorsOptions) (wire.ErrorsPage, error) {
	q := url.Values{}
	if opts.Limit > 0 {
		q.Set("limit", strconv.Itoa(opts.Limit))
	}
	if opts.AfterLine > 0 {
		q.Set("after_line", strconv.FormatInt(opts.AfterLine, 10))
	}
	var page wire.ErrorsPage
	err := c.do(ctx, http.MethodGet, withQuery(importPath(id, "/errors"), q), nil, "", &page)
	return page, err
}

// FailedRows writes the import's failed rows to w as CSV: the file's own
// columns plus line and error, ready to fix and upload again.
func (c *Client) FailedRows(ctx context.Context, id int64, w io.Writer) error {
	return c.download(ctx, importPath(id, "/errors?format=csv"), w)
}

// Results writes every row's outcome to w as CSV: line, customerId, outcome
// and detail.
func (c *Client) Results(ctx context.Context, id int64, w io.Writer) error {
	return c.download(ctx, importPath(id, "/results"), w)
}

// wire.Me returns who the token is: its tenant, name and scopes.
func (c *Client) Me(ctx context.Context) (wire.Me, error) {
	var me wire.Me
	err := c.do(ctx, http.MethodGet, "/v1/me", nil, "", &me)
	return me, err
}

// DeleteCustomer deletes one customer of the token's tenant with everything
// that belongs to it; a customer a loan links is ELINKED, an unknown one
// ENOTFOUND.
func (c *Client) DeleteCustomer(ctx context.Context, id int64) error {
	return c.do(ctx, http.MethodDelete, "/v1/customers/"+strconv.FormatInt(id, 10), nil, "", nil)
}

// Ready returns nil when the API answers that PostgreSQL and Redis are
// reachable (GET /readyz), and an EUNAVAILABLE error when not.
func (c *Client) Ready(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/readyz", nil, "", nil)
}

// Wait polls the import every interval until it is settled (wire.Import.Settled:
// it ended, or it waits for a person), and returns it then, or ctx's error
// with the import as last seen.
func (c *Client) Wait(ctx context.Context, id int64, interval time.Duration) (wire.Import, error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		imp, err := c.Import(ctx, id)
		if err != nil || imp.Settled {
			return imp, err
		}
		select {
		case <-ctx.Done():
			return imp, ctx.Err()
		case <-t.C:
		}
	}
}

func importPath(id int64, rest string) string {
	return "/v1/imports/" + strconv.FormatInt(id, 10) + rest
}

func withQuery(path string, q url.Values) string {
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// do sends a request and decodes a 2xx answer's JSON into out (when out is
// not nil); any other answer becomes a *sweep.Error (see errorFrom).
func (c *Client) do(ctx context.Context, method, path string, body io.Reader, contentType string, out any, header ...string) error {
	resp, err := c.send(ctx, method, path, body, contentType, header...)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: read the answer: %w", method, path, err)
	}
	return nil
}

// download streams a 2xx answer's body to w.
func (c *Client) download(ctx context.Context, path string, w io.Writer) error {
	resp, err := c.send(ctx, http.MethodGet, path, nil, "", "Accept", "text/csv")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

// send makes the request and returns the answer when it is a 2xx; otherwise
// it closes it and returns its error.
func (c *Client) send(ctx context.Context, method, path string, body io.Reader, contentType string, header ...string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		return nil, errorFrom(resp)
	}
	return resp, nil
}
