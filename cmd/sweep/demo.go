package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"time"

	"github.com/sweephq/sweep/store"
)

// runDemo shows a whole import against a running sweep: it writes a file of
// the tenant's first customers with a few bad rows, uploads it, shows the row
// errors, starts it, and waits until it is done.
func runDemo(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	fs := newFlags("demo")
	tenant := fs.Int64("tenant", 0, "the demo tenant")
	rows := fs.Int("rows", 2000, "customers the demo file deletes")
	base := fs.String("url", "http://127.0.0.1:8080", "where sweep serves")
	token := fs.String("token", "", "an API token of the tenant with imports:read and imports:write")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *tenant <= 0 || *token == "" {
		return usageError{"demo: --tenant and --token are required"}
	}
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	var ids []int64
	// Mostly customers no loan links, and a tenth that are linked, so the
	// demo shows both outcomes however many times it ran before.
	err = db.SQL().SelectContext(ctx, &ids, `
		(SELECT id FROM customers c WHERE tenant_id = $1 AND NOT EXISTS (SELECT 1 FROM loan_customers l
			WHERE l.tenant_id = c.tenant_id AND l.customer_id = c.id) ORDER BY id LIMIT $2)
		UNION ALL
		(SELECT DISTINCT customer_id FROM loan_customers WHERE tenant_id = $1 ORDER BY customer_id LIMIT $3)
		ORDER BY 1`, *tenant, *rows-*rows/10, *rows/10)
	db.Close()
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return fmt.Errorf("demo: tenant %d has no customers left; seed more with: sweep seed --tenant %d --customers 20000", *tenant, *tenant)
	}
	var file bytes.Buffer
	file.WriteString("action,customerId,note\n")
	file.WriteString("delete,42,wrong action\nremove,12a,typo\nremove,1.23E+15,spreadsheet\n")
	for _, id := range ids {
		fmt.Fprintf(&file, "remove,%d,\n", id)
	}

	api := &apiClient{base: strings.TrimRight(*base, "/"), token: *token}
	for range 100 { // wait for the server to answer
		if resp, err := http.Get(api.base + "/readyz"); err == nil && resp.StatusCode == http.StatusOK {
			resp.Body.Close()
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var imp map[string]any
	if err := api.upload(ctx, "demo.csv", file.Bytes(), &imp); err != nil {
		return err
	}
	id := imp["id"]
	fmt.Fprintf(stdout, "demo: uploaded demo.csv (%d rows) as import %v\n", len(ids)+3, id)
	if imp, err = api.waitWhile(ctx, id, "uploaded", "validating"); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "demo: import %v is %v: %v valid rows, %v rows with errors\n", id, imp["status"], imp["valid_rows"], imp["error_rows"])
	var errs struct {
		Errors []struct {
			Line    int64  `json:"line"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := api.do(ctx, "GET", fmt.Sprintf("/v1/imports/%v/errors?limit=5", id), nil, &errs); err != nil {
		return err
	}
	for _, e := range errs.Errors {
		fmt.Fprintf(stdout, "        line %d: %s\n", e.Line, e.Message)
	}
	if imp["status"] != "validated" {
		return fmt.Errorf("demo: import %v was %v: %v", id, imp["status"], imp["error"])
	}
	if err := api.do(ctx, "POST", fmt.Sprintf("/v1/imports/%v/start", id), nil, &imp); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "demo: started import %v\n", id)
	if imp, err = api.waitWhile(ctx, id, "queued", "running"); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "demo: import %v is %v: %v deleted, %v skipped, %v rows with errors (results: %s/v1/imports/%v/results)\n",
		id, imp["status"], imp["deleted_rows"], imp["skipped_rows"], imp["error_rows"], api.base, id)
	return nil
}

// apiClient calls sweep's HTTP API with a token.
type apiClient struct {
	base, token string
}

func (c *apiClient) do(ctx context.Context, method, path string, body io.Reader, out any, header ...string) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s %s", method, path, resp.Status, strings.TrimSpace(string(b)))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func (c *apiClient) upload(ctx context.Context, name string, data []byte, out any) error {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(data)
	mw.Close()
	return c.do(ctx, "POST", "/v1/imports", &b, out, "Content-Type", mw.FormDataContentType())
}

// waitWhile polls an import while its status is one of states.
func (c *apiClient) waitWhile(ctx context.Context, id any, states ...string) (map[string]any, error) {
	for {
		var imp map[string]any
		if err := c.do(ctx, "GET", fmt.Sprintf("/v1/imports/%v", id), nil, &imp); err != nil {
			return nil, err
		}
		still := false
		for _, s := range states {
			still = still || imp["status"] == s
		}
		if !still {
			return imp, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
