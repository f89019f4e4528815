package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/sweephq/sweep/uploader"
)

// ExcludedRoutes returns the route patterns the server registers that the
// API's OpenAPI document leaves out on purpose, each with the reason.
func ExcludedRoutes() map[string]string {
	return map[string]string{
		"GET /{$}":     "the Import screen, an HTML page for people in a browser; no client calls it",
		"GET /assets/": "the Import screen's script and style, served to the browser with the page",
		"/v1/":         "the catch-all that answers 404 not_found for any path under /v1/ the API lacks; it is no operation",
	}
}

// contractBodyLimit is the most of a request or answer body Contract keeps
// to check; a longer body (a big upload or download) is checked for its
// status and content type only.
const contractBodyLimit = 1 << 20

// Contract returns h, an API handler, wrapped so that every request a test
// makes through it and every answer is checked against the API's OpenAPI
// document (uploader.OpenAPI):
//
//   - each answer's status must be documented for its operation, with its
//     headers, its content type and, for JSON, a body that matches the schema;
//   - a request the API accepted (2xx) must match the operation's parameters
//     and request body. Requests the API refused are not checked, since
//     hostile tests send malformed ones on purpose, but their answers are;
//   - a request for a path and method the document lacks must have been
//     answered 404, 405 or a redirect, unless it went to an excluded route.
//
// The document's object schemas are checked as closed: an answer with a
// member the document does not name fails, so the document lists everything
// the API writes. A mismatch fails t with the request, the status and what
// does not match; tokens are not checked (the API does that itself).
func Contract(t testing.TB, h http.Handler) http.Handler {
	t.Helper()
	c, err := loadContract()
	if err != nil {
		t.Fatalf("contract: %v", err)
	}
	return &contractHandler{t: t, c: c, next: h, excluded: ExcludedRoutes()}
}

// ContractSchema checks a JSON body against the schema of that name in the
// API's document (components/schemas), closed as Contract closes them: for
// bodies that travel outside the API's own answers, such as the webhook
// messages sweep sends.
func ContractSchema(name string, body []byte) error {
	c, err := loadContract()
	if err != nil {
		return err
	}
	ref := c.doc.Components.Schemas[name]
	if ref == nil {
		return fmt.Errorf("the OpenAPI document has no schema %s", name)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	if err := ref.Value.VisitJSON(v, openapi3.MultiErrors(), openapi3.VisitAsResponse()); err != nil {
		return errors.New(describe(err))
	}
	return nil
}

// contract is the API's document, loaded and checked once per test binary.
type contract struct {
	doc    *openapi3.T
	router routers.Router
}

var loadContract = sync.OnceValues(func() (*contract, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(uploader.OpenAPI())
	if err != nil {
		return nil, fmt.Errorf("load the OpenAPI document: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("the OpenAPI document is not valid: %w", err)
	}
	closeSchemas(doc)
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route the OpenAPI document: %w", err)
	}
	return &contract{doc: doc, router: router}, nil
})

// closeSchemas makes every object schema of doc that names its properties
// and says nothing of others refuse members it does not name.
func closeSchemas(doc *openapi3.T) {
	seen := map[*openapi3.Schema]bool{}
	var walk func(ref *openapi3.SchemaRef)
	walk = func(ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		s := ref.Value
		seen[s] = true
		if len(s.Properties) > 0 && s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil {
			no := false
			s.AdditionalProperties.Has = &no
		}
		for _, p := range s.Properties {
			walk(p)
		}
		walk(s.Items)
		walk(s.AdditionalProperties.Schema)
		for _, list := range []openapi3.SchemaRefs{s.OneOf, s.AnyOf, s.AllOf} {
			for _, r := range list {
				walk(r)
			}
		}
	}
	for _, s := range doc.Components.Schemas {
		walk(s)
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				for _, mt := range op.RequestBody.Value.Content {
					walk(mt.Schema)
				}
			}
			for _, resp := range op.Responses.Map() {
				if resp.Value != nil {
					for _, mt := range resp.Value.Content {
						walk(mt.Schema)
					}
				}
			}
		}
	}
}

type contractHandler struct {
	t        testing.TB
	c        *contract
	next     http.Handler
	excluded map[string]string
}

func (h *contractHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body *capture
	if r.Body != nil && r.Body != http.NoBody {
		body = &capture{r: r.Body, max: contractBodyLimit}
		r.Body = body
	}
	rec := &contractRecorder{ResponseWriter: w, body: capture{max: contractBodyLimit}}
	h.next.ServeHTTP(rec, r)
	h.check(r, body, rec)
}

// check holds one exchange against the document.
func (h *contractHandler) check(r *http.Request, body *capture, rec *contractRecorder) {
	status, header := rec.result()
	where := fmt.Sprintf("%s %s answered %d", r.Method, r.URL.RequestURI(), status)

	routed := r.Clone(context.Background())
	if routed.Method == http.MethodHead {
		routed.Method = http.MethodGet
	}
	route, params, err := h.c.router.FindRoute(routed)
	if err != nil {
		switch {
		case h.excluded[r.Pattern] != "":
		case status == http.StatusNotFound, status == http.StatusMethodNotAllowed:
		case status >= 300 && status < 400: // the mux's redirect to a clean path
		default:
			h.t.Errorf("contract: %s, but the OpenAPI document has no operation %s %s (%v)", where, r.Method, r.URL.Path, err)
		}
		return
	}

	opts := &openapi3filter.Options{
		AuthenticationFunc:    func(context.Context, *openapi3filter.AuthenticationInput) error { return nil },
		IncludeResponseStatus: true,
		MultiError:            true,
	}
	req := r.Clone(context.Background())
	req.Body = http.NoBody
	if body != nil {
		if status >= 200 && status < 300 {
			body.drain() // what the handler left unread, up to the limit
		}
		if body.over {
			opts.ExcludeRequestBody = true
		} else {
			req.Body = io.NopCloser(bytes.NewReader(body.buf.Bytes()))
		}
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	if status >= 200 && status < 300 {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			h.t.Errorf("contract: %s, but the request does not match operation %s: %s", where, route.Operation.OperationID, describe(err))
		}
	}

	respOpts := *opts
	mediaType, _, _ := mime.ParseMediaType(header.Get("Content-Type"))
	if rec.body.over || mediaType == "text/csv" || r.Method == http.MethodHead {
		respOpts.ExcludeResponseBody = true
		if err := checkContentType(route, status, mediaType, rec.body.n); err != nil {
			h.t.Errorf("contract: %s: %v", where, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: &respOpts},
		Status:                 status,
		Header:                 header,
		Options:                &respOpts,
	}
	out.SetBodyBytes(rec.body.buf.Bytes())
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		h.t.Errorf("contract: %s, which does not match operation %s: %s", where, route.Operation.OperationID, describe(err))
	}
	if resp := route.Operation.Responses.Status(status); resp != nil && resp.Value != nil && len(resp.Value.Content) == 0 && rec.body.n > 0 {
		h.t.Errorf("contract: %s with a body of %d bytes, but the document gives that answer of operation %s no content", where, rec.body.n, route.Operation.OperationID)
	}
}

// checkContentType checks an answer whose body is not read: its content type
// must be one the document gives the status.
func checkContentType(route *routers.Route, status int, mediaType string, n int64) error {
	resp := route.Operation.Responses.Status(status)
	if resp == nil || resp.Value == nil {
		return fmt.Errorf("the document has no answer %d for operation %s", status, route.Operation.OperationID)
	}
	if len(resp.Value.Content) == 0 {
		if n > 0 {
			return fmt.Errorf("a body of %d bytes, but the document gives the answer no content", n)
		}
		return nil
	}
	if resp.Value.Content.Get(mediaType) == nil {
		return fmt.Errorf("content type %q, but the document gives %s", mediaType, strings.Join(slices.Sorted(maps.Keys(resp.Value.Content)), ", "))
	}
	return nil
}

// describe says what failed to match in a line or a few, without the whole
// schema kin-openapi puts in its errors.
func describe(err error) string {
	var parts []string
	var walk func(err error)
	walk = func(err error) {
		var me openapi3.MultiError
		var se *openapi3.SchemaError
		switch {
		case errors.As(err, &me):
			for _, e := range me {
				walk(e)
			}
		case errors.As(err, &se):
			value := fmt.Sprintf("%v", se.Value)
			if len(value) > 200 {
				value = value[:200] + "…"
			}
			parts = append(parts, fmt.Sprintf("at %q: %s (value %s)", "/"+strings.Join(se.JSONPointer(), "/"), se.Reason, value))
		default:
			var re *openapi3filter.RequestError
			var rs *openapi3filter.ResponseError
			switch {
			case errors.As(err, &re) && re.Err != nil:
				parts = append(parts, re.Reason)
				walk(re.Err)
			case errors.As(err, &rs) && rs.Err != nil:
				parts = append(parts, rs.Reason)
				walk(rs.Err)
			default:
				parts = append(parts, err.Error())
			}
		}
	}
	walk(err)
	return strings.Join(parts, "; ")
}

// capture keeps the first max bytes of what passes through it: a request
// body as the handler reads it, or an answer as it is written.
type capture struct {
	r    io.ReadCloser
	buf  bytes.Buffer
	max  int
	n    int64
	over bool
	eof  bool
}

func (c *capture) keep(p []byte) {
	c.n += int64(len(p))
	if c.over {
		return
	}
	if c.buf.Len()+len(p) > c.max {
		c.over = true
		c.buf.Reset()
		return
	}
	c.buf.Write(p)
}

func (c *capture) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.keep(p[:n])
	if err == io.EOF {
		c.eof = true
	}
	return n, err
}

func (c *capture) Close() error { return c.r.Close() }

// drain reads the rest of the body, up to the limit. A handler that
// accepted a request read what it needed of it (a form ends at its closing
// boundary); a body the server no longer lets be read is checked as far as
// the handler read it.
func (c *capture) drain() {
	if c.eof || c.over {
		return
	}
	io.Copy(io.Discard, io.LimitReader(c, int64(c.max+1)))
}

// contractRecorder passes an answer through, keeping its status, its headers
// as they were sent and the start of its body.
type contractRecorder struct {
	http.ResponseWriter
	mu     sync.Mutex
	status int
	header http.Header
	body   capture
}

func (w *contractRecorder) WriteHeader(code int) {
	w.mu.Lock()
	if w.status == 0 && code >= 200 { // 1xx answers are interim
		w.status = code
		w.header = w.ResponseWriter.Header().Clone()
	}
	w.mu.Unlock()
	w.ResponseWriter.WriteHeader(code)
}

func (w *contractRecorder) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.status == 0 {
		w.status = http.StatusOK
		w.header = w.ResponseWriter.Header().Clone()
		if w.header.Get("Content-Type") == "" && len(p) > 0 {
			w.header.Set("Content-Type", http.DetectContentType(p)) // as net/http will
		}
	}
	w.body.keep(p)
	w.mu.Unlock()
	return w.ResponseWriter.Write(p)
}

func (w *contractRecorder) Flush() {
	http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *contractRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// result returns the answer's status and headers (200 and the headers as
// they stand when the handler wrote nothing).
func (w *contractRecorder) result() (int, http.Header) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.status == 0 {
		return http.StatusOK, w.ResponseWriter.Header().Clone()
	}
	return w.status, w.header
}
