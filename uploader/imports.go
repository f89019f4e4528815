package uploader

import (
	"cmp"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/store"
	"github.com/sweephq/sweep/wire"
)

// importOptions are the settings a client may send with a file.
type importOptions struct {
	policy    sweep.Policy
	autoStart bool
	runAt     *time.Time
	window    sweep.Window
	maxRate   int
	seen      map[string]bool
}

// importOptionNames are the options an upload takes besides its file or ids.
var importOptionNames = []string{"policy", "auto_start", "run_at", "run_window", "max_rows_per_second"}

// set applies one named option from a form field or a JSON member. Each may be
// given once; an unknown name is refused rather than ignored, so that a typo
// (runAt, autostart) never makes an import start at another time than meant.
// A value is read as sent, one spelling in a form field as in JSON: policy
// and auto_start in lower case, and no option with spaces around it.
func (o *importOptions) set(name, value string) error {
	err := o.setOption(name, value)
	var e *sweep.Error
	if errors.As(err, &e) && e.Param == "" {
		named := *e // a copy: some of these errors are shared values
		named.Param = name
		return &named
	}
	return err
}

func (o *importOptions) setOption(name, value string) error {
	if !slices.Contains(importOptionNames, name) {
		return sweep.Errorf(sweep.EINVALID, "%q is not an option of an upload; send only file (or customer_ids), %s.", sweep.SafeValue(name), strings.Join(importOptionNames, ", ")).For(name)
	}
	if o.seen == nil {
		o.seen = map[string]bool{}
	}
	if o.seen[name] {
		return sweep.Errorf(sweep.EINVALID, "%s is given twice; send it once.", name).For(name)
	}
	o.seen[name] = true
	switch name {
	case "policy":
		switch value {
		case "":
			return sweep.Errorf(sweep.EINVALID, "policy is empty; send line or file, or leave the option out.")
		case string(sweep.PolicyLine), string(sweep.PolicyFile):
			o.policy = sweep.Policy(value)
		default:
			return sweep.Errorf(sweep.EINVALID, "policy must be line or file, in lower case and without spaces; found %q.", sweep.SafeValue(value))
		}
	case "auto_start":
		switch value {
		case "true":
			o.autoStart = true
		case "false":
			o.autoStart = false
		default:
			return sweep.Errorf(sweep.EINVALID, "auto_start must be true or false, in lower case and without spaces (as in JSON); found %q.", sweep.SafeValue(value))
		}
	case "run_at":
		if value == "" {
			return errEmptyRunAt
		}
		t, err := parseRunAt(value, time.Now())
		if err != nil {
			return err
		}
		o.runAt = t
	case "run_window":
		w, err := parseWindow(value)
		if err != nil {
			return err
		}
		o.window = w
	case "max_rows_per_second":
		n, err := parseRate(value)
		if err != nil {
			return err
		}
		o.maxRate = n
	}
	return nil
}

// parseWindow reads a run_window option; empty is refused (leave the option
// out for none).
func parseWindow(value string) (sweep.Window, error) {
	if strings.TrimSpace(value) == "" { // ParseWindow reads spaces alone as no window
		return sweep.Window{}, sweep.Errorf(sweep.EINVALID, "run_window is empty; send a window such as \"Mon-Fri 22:00-06:00 America/Denver\", or leave it out to run at any time.")
	}
	return sweep.ParseWindow(value)
}

// parseRate reads a max_rows_per_second option: a whole number of rows per
// second, 0 for no cap.
func parseRate(value string) (int, error) {
	n, err := strconv.Atoi(value)
	if err != nil || value != strconv.Itoa(n) { // one spelling: digits, no sign, no leading zero
		return 0, sweep.Errorf(sweep.EINVALID, "max_rows_per_second must be a whole number of rows per second such as 5000 (0 for no cap); found %q.", sweep.SafeValue(value))
	}
	return n, sweep.CheckRate(n)
}

// maxRunAhead is how far ahead run_at may be.
const maxRunAhead = 366 * 24 * time.Hour

// errEmptyRunAt refuses a run_at sent empty or null: "no time" is said by
// leaving run_at out, never by a value that a client may have sent by mistake
// (with auto_start, it would start the deletion at once).
var errEmptyRunAt = sweep.Errorf(sweep.EINVALID, "run_at is empty or null; send a time such as \"2026-12-01T02:00:00Z\", or leave run_at out to start now.")

// parseRunAt reads a run_at: an RFC 3339 time no further than a year ahead,
// written without surrounding spaces; a time already past (at most a day)
// means now, anything older is refused as a likely mistake. Empty is refused
// (errEmptyRunAt).
func parseRunAt(value string, now time.Time) (*time.Time, error) {
	if value == "" {
		return nil, errEmptyRunAt
	}
	if strings.TrimSpace(value) != value {
		return nil, sweep.Errorf(sweep.EINVALID, "run_at has spaces before or after the time; send it as a time such as 2026-12-01T02:00:00Z, without spaces; found %q.", sweep.SafeValue(value))
	}
	t, err := time.Parse(time.RFC3339, value)
	if err != nil {
		return nil, sweep.Errorf(sweep.EINVALID, "run_at must be a time such as 2026-12-01T02:00:00Z (RFC 3339, with a time zone); found %q.", sweep.SafeValue(value))
	}
	if t.Before(now.Add(-24*time.Hour)) || t.After(now.Add(maxRunAhead)) {
		return nil, sweep.Errorf(sweep.EINVALID, "run_at must be within a year from now (a time in the last 24 hours means now); found %s.", t.UTC().Format(time.RFC3339))
	}
	t = t.UTC()
	return &t, nil
}

const maxKeyLength = 255

// idempotencyKey reads the Idempotency-Key header: absent, or 1 to 255 bytes
// of printable ASCII (a UUID, a job name and date). A key of spaces, or one
// with other bytes, is refused rather than taken as no key.
func idempotencyKey(r *http.Request) (string, error) {
	raw, sent := r.Header["Idempotency-Key"]
	if !sent {
		return "", nil
	}
	key := strings.TrimSpace(strings.Join(raw, ","))
	if len(raw) > 1 || key == "" || len(key) > maxKeyLength {
		return "", sweep.Errorf(sweep.EINVALID, "Idempotency-Key must be sent once, with 1 to %d characters; leave the header out to send a request without one.", maxKeyLength)
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return "", sweep.Errorf(sweep.EINVALID, "Idempotency-Key may hold only printable ASCII characters (letters, digits, punctuation), such as a UUID.")
		}
	}
	return key, nil
}

// handleCreateImport stores an uploaded file (multipart field "file") or a JSON
// list of ids as a new import and queues its validation. The whole request is
// read, and every option checked, before anything is stored: a request
// answered with an error leaves nothing behind, whatever the order of its
// parts.
func (s *Server) handleCreateImport(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	key, err := idempotencyKey(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// The body may hold the file plus a little multipart framing.
	r.Body = http.MaxBytesReader(w, r.Body, s.limits.MaxUploadBytes+1<<20)
	n := store.NewImport{TenantID: p.TenantID, IdempotencyKey: key, CreatedBy: p.Name, CreatedByToken: p.TokenID}
	if n.CreatedBy == "" {
		n.CreatedBy = fmt.Sprintf("token %d", p.TokenID)
	}
	var (
		sp   *spool
		opts importOptions
	)
	switch mediaType(r) {
	case "multipart/form-data":
		n.Source = sweep.SourceUpload
		sp, err = s.readMultipart(w, r, &opts, &n.FileName)
	case "application/json":
		n.Source, n.FileName = sweep.SourceAPI, "customer_ids.json"
		if err = jsonContentType(r, `{"customer_ids": [1042, 1043]}`); err == nil {
			sp, err = s.readJSONIDs(w, r, &opts)
		}
	default:
		err = sweep.Errorf(sweep.EUNSUPPORTED, "Send the file as multipart/form-data with a field named file (curl -F file=@customers.csv), or send JSON such as {\"customer_ids\": [1042, 1043]} with Content-Type: application/json.")
	}
	defer sp.Close()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	n.Policy, n.AutoStart, n.RunAt = cmp.Or(opts.policy, sweep.PolicyLine), opts.autoStart, opts.runAt
	n.RunWindow, n.MaxRowsPerSecond = opts.window, opts.maxRate
	file, err := sp.reader()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// Once stored, a queue that cannot be reached only delays the validation
	// (the reconciler queues it): the answer is 202 all the same.
	imp, existed, err := s.life.CreateImport(r.Context(), n, file)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", fmt.Sprintf("/v1/imports/%d", imp.ID))
	if existed {
		w.Header().Set("Idempotent-Replayed", "true")
		writeJSON(w, http.StatusOK, toJSON(r, imp))
		return
	}
	s.log.InfoContext(r.Context(), "import uploaded", "import_id", imp.ID, "tenant_id", imp.TenantID,
		"source", imp.Source, "file_size", imp.FileSize)
	writeJSON(w, http.StatusAccepted, toJSON(r, imp))
}

func (s *Server) tooLarge() error {
	return sweep.Errorf(sweep.ETOOLARGE, "The file is larger than %s, the most one upload takes. Split it into smaller files.", humanBytes(s.limits.MaxUploadBytes))
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}

// maxOptionBytes is the most a form field other than the file may hold.
const maxOptionBytes = 1024

// readMultipart reads a multipart upload to its closing boundary: the file
// goes to a spool, the other fields into opts. A body that ends before its
// closing boundary is refused, however much of the file came.
func (s *Server) readMultipart(w http.ResponseWriter, r *http.Request, opts *importOptions, fileName *string) (*spool, error) {
	_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if params["boundary"] == "" {
		return nil, sweep.Errorf(sweep.EINVALID, "The multipart body has no boundary in its Content-Type; let your HTTP client build the form (curl -F file=@customers.csv).")
	}
	mr := multipart.NewReader(s.body(w, r), params["boundary"])
	var sp *spool
	for {
		part, err := mr.NextPart()
		if err == io.EOF { // only the closing boundary ends the form; a wrapped EOF is a body cut short
			break
		} else if err != nil {
			sp.Close()
			return nil, s.bodyError(err, "multipart body")
		}
		name := part.FormName()
		if name != "file" {
			v, err := io.ReadAll(io.LimitReader(part, maxOptionBytes+1))
			if err == nil && len(v) > maxOptionBytes {
				err = sweep.Errorf(sweep.EINVALID, "The form field %q is longer than %d bytes.", sweep.SafeValue(name), maxOptionBytes)
			} else if err != nil {
				err = s.bodyError(err, "multipart body")
			} else {
				err = opts.set(name, string(v))
			}
			if err != nil {
				sp.Close()
				return nil, err
			}
			continue
		}
		if sp != nil {
			sp.Close()
			return nil, sweep.Errorf(sweep.EINVALID, "Send one file per import; this request has more than one file field.")
		}
		if sp, err = s.newSpool(); err != nil {
			return nil, err
		}
		*fileName = cleanFileName(part.FileName())
		if _, err := io.Copy(sp, part); err != nil {
			sp.Close()
			return nil, s.bodyError(err, "multipart body")
		}
	}
	if sp == nil {
		return nil, sweep.Errorf(sweep.EINVALID, "The request has no file. Send it in a multipart field named file (curl -F file=@customers.csv).")
	}
	return sp, nil
}

func cleanFileName(name string) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	if name == "." || name == "/" {
		name = ""
	}
	return sweep.SafeValue(name)
}

// readJSONIDs reads {"customer_ids": [...], "policy": ..., "auto_start": ...,
// "run_at": ...} to its end: the ids are streamed into a spool as the
// equivalent import file (sweep.WriteIDsFile's form), so ids from programs
// pass exactly the same rules as an operator's file; the options go into
// opts. Members other than these, a member given twice, a value of the wrong
// JSON type, a body cut short and bytes after the object are refused.
func (s *Server) readJSONIDs(w http.ResponseWriter, r *http.Request, opts *importOptions) (*spool, error) {
	tr := &tokenLimit{r: s.body(w, r)}
	dec := json.NewDecoder(tr)
	tr.dec = dec
	dec.UseNumber()
	const example = `{"customer_ids": [1042, 1043]}`
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		if err == io.EOF {
			return nil, sweep.Errorf(sweep.EINVALID, "The body is empty; send a JSON object such as %s.", example)
		} else if err != nil && !errors.As(err, new(*json.SyntaxError)) {
			return nil, s.bodyError(err, "JSON body")
		}
		return nil, sweep.Errorf(sweep.EINVALID, "The body must be a JSON object such as %s.", example)
	}
	var sp *spool
	fail := func(err error) (*spool, error) {
		sp.Close()
		return nil, err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fail(s.jsonError(err))
		}
		name, _ := tok.(string)
		if name != "customer_ids" {
			if !slices.Contains(importOptionNames, name) { // refused before its value is read
				return fail(opts.set(name, ""))
			}
			var v any
			if err := dec.Decode(&v); err != nil {
				return fail(s.jsonError(err))
			}
			str, err := jsonOption(name, v)
			if err == nil {
				err = opts.set(name, str)
			}
			if err != nil {
				return fail(err)
			}
			continue
		}
		if sp != nil {
			return fail(sweep.Errorf(sweep.EINVALID, "customer_ids appears twice in the body; send the ids in one array."))
		}
		if sp, err = s.newSpool(); err != nil {
			return nil, err
		}
		if err := s.idsToCSV(dec, sp); err != nil {
			return fail(err)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return fail(s.jsonError(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil || errors.As(err, new(*json.SyntaxError)) {
			err = sweep.Errorf(sweep.EINVALID, "The body has more after its JSON object; send one object such as %s.", example)
		}
		return fail(s.jsonError(err))
	}
	if sp == nil {
		return nil, sweep.Errorf(sweep.EINVALID, "The body has no customer_ids. Send %s.", example)
	}
	return sp, nil
}

// maxJSONToken is the most bytes one JSON value of an upload may take (an
// id, an option): a body of a gigabyte in one string is refused as it comes,
// never held in memory.
const maxJSONToken = 64 << 10

// tokenLimit feeds a JSON decoder and fails once the decoder holds more than
// maxJSONToken bytes it has not yet consumed, which is a single value that
// long.
type tokenLimit struct {
	r   io.Reader
	dec *json.Decoder
	n   int64
}

func (t *tokenLimit) Read(p []byte) (int, error) {
	if t.n-t.dec.InputOffset() > maxJSONToken {
		return 0, sweep.Errorf(sweep.ETOOLARGE, "A value in the JSON body is longer than %d bytes; ids and options are short. Send {\"customer_ids\": [1042, 1043]}.", maxJSONToken)
	}
	k, err := t.r.Read(p)
	t.n += int64(k)
	return k, err
}

// jsonOption checks an option member's JSON type: policy, run_at and
// run_window are strings (run_at never null), auto_start is a boolean,
// max_rows_per_second a number.
func jsonOption(name string, v any) (string, error) {
	switch name {
	case "policy":
		if s, ok := v.(string); ok {
			return s, nil
		}
		return "", sweep.Errorf(sweep.EINVALID, `policy must be the string "line" or "file".`)
	case "auto_start":
		if b, ok := v.(bool); ok {
			return strconv.FormatBool(b), nil
		}
		return "", sweep.Errorf(sweep.EINVALID, "auto_start must be true or false (a JSON boolean, not a number or a string).")
	case "run_at":
		if v == nil {
			return "", errEmptyRunAt
		} else if s, ok := v.(string); ok {
			return s, nil // parseRunAt refuses "" with errEmptyRunAt
		}
		return "", sweep.Errorf(sweep.EINVALID, `run_at must be a string such as "2026-12-01T02:00:00Z".`)
	case "run_window":
		if s, ok := v.(string); ok {
			return s, nil
		}
		return "", sweep.Errorf(sweep.EINVALID, `run_window must be a string such as "Mon-Fri 22:00-06:00 America/Denver".`)
	case "max_rows_per_second":
		if n, ok := v.(json.Number); ok {
			return n.String(), nil
		}
		return "", sweep.Errorf(sweep.EINVALID, "max_rows_per_second must be a JSON number such as 5000 (0 for no cap).")
	}
	return "", nil // set refuses unknown names
}

func (s *Server) jsonError(err error) error {
	if errors.As(err, new(*json.SyntaxError)) {
		return sweep.Errorf(sweep.EINVALID, "The body is not valid JSON (%s). Send an object such as {\"customer_ids\": [1042, 1043]}.", sweep.JSONProblem(err))
	}
	return s.bodyError(err, "JSON body")
}

// idsToCSV reads the array of ids at dec's position and writes it as an import
// file: a header and one "remove,<id>" row per element, as written.
func (s *Server) idsToCSV(dec *json.Decoder, w io.Writer) error {
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		if err != nil && !errors.As(err, new(*json.SyntaxError)) {
			return s.jsonError(err)
		}
		return sweep.Errorf(sweep.EINVALID, "customer_ids must be an array such as [1042, 1043].")
	}
	cw := csv.NewWriter(w)
	cw.Write([]string{sweep.ColumnAction, sweep.ColumnCustomerID})
	var n int64
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return s.jsonError(err)
		}
		var v string
		switch t := tok.(type) {
		case json.Number:
			v = t.String()
		case string:
			v = t
		default:
			return sweep.Errorf(sweep.EINVALID, "customer_ids element %d is not an id; each id must be a number or a string (digits, or the platform's uuid or text key where its customers have one).", n+1)
		}
		if n++; n > s.limits.MaxRows {
			return sweep.Errorf(sweep.ETOOLARGE, "customer_ids has more than %d ids, the most one import takes. Split the list.", s.limits.MaxRows)
		}
		if err := cw.Write([]string{sweep.ActionRemove, v}); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return s.jsonError(err)
	}
	if n == 0 {
		return sweep.Errorf(sweep.EINVALID, "customer_ids is empty; send at least one id.")
	}
	cw.Flush()
	return cw.Error()
}

func pathID(r *http.Request) (int64, error) {
	id, ok := sweep.ParsePathID(r.PathValue("id"))
	if !ok {
		return 0, sweep.Errorf(sweep.ENOTFOUND, "Import %q was not found; import ids are written as digits without a sign or leading zeros, such as 42.", sweep.SafeValue(r.PathValue("id"))).For("id")
	}
	return id, nil
}

// importFromPath loads the import named in the path for the caller's tenant,
// answering the error itself when there is none.
func (s *Server) importFromPath(w http.ResponseWriter, r *http.Request) (sweep.Import, bool) {
	id, err := pathID(r)
	if err == nil {
		var imp sweep.Import
		if imp, err = s.db.GetImport(r.Context(), principal(r).TenantID, id); err == nil {
			return imp, true
		}
	}
	s.writeError(w, r, err)
	return sweep.Import{}, false
}

func (s *Server) handleGetImport(w http.ResponseWriter, r *http.Request) {
	imp, ok := s.importFromPath(w, r)
	if !ok {
		return
	}
	j := toJSON(r, imp)
	holds, err := s.db.ImportHolds(r.Context(), imp.TenantID, imp.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	for _, h := range holds {
		j.Holds = append(j.Holds, wire.FromHold(h))
	}
	writeJSON(w, http.StatusOK, j)
}

func queryInt(r *http.Request, name string, def, lo, hi int64) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, sweep.Errorf(sweep.EINVALID, "%s must be a whole number from %d to %d; found %q.", name, lo, hi, s).For(name)
	}
	return n, nil
}

// handleListImports serves a page of the import history, newest first,
// filtered by the query: status (a comma-separated list), source,
// created_by, created_after and created_before (RFC 3339), cleanup_policy_id;
// has_more says whether another page follows, and next is its link.
func (s *Server) handleListImports(w http.ResponseWriter, r *http.Request) {
	f, limit, err := importFilter(r)
	var imps []sweep.Import
	var more bool
	if err == nil {
		imps, more, err = s.db.ListImports(r.Context(), principal(r).TenantID, f)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := wire.ImportList{Imports: make([]wire.Import, len(imps)), HasMore: more}
	for i, imp := range imps {
		out.Imports[i] = toJSON(r, imp)
	}
	if more {
		q := r.URL.Query()
		q.Set("limit", strconv.FormatInt(limit, 10))
		q.Set("before", strconv.FormatInt(imps[len(imps)-1].ID, 10))
		out.Next = "/v1/imports?" + q.Encode()
	}
	writeJSON(w, http.StatusOK, out)
}

// importFilter reads the import list's query, refusing a value it cannot
// read with what to send.
func importFilter(r *http.Request) (store.ImportFilter, int64, error) {
	var f store.ImportFilter
	limit, err := queryInt(r, "limit", 50, 1, 500)
	if err != nil {
		return f, 0, err
	}
	f.Limit = int(limit)
	if f.Before, err = queryInt(r, "before", 0, 0, 1<<62); err != nil {
		return f, 0, err
	}
	if f.PolicyID, err = queryInt(r, "cleanup_policy_id", 0, 0, 1<<62); err != nil {
		return f, 0, err
	}
	q := r.URL.Query()
	if v := q.Get("status"); v != "" {
		for _, name := range strings.Split(v, ",") {
			st := sweep.Status(strings.TrimSpace(name))
			if !st.Valid() {
				return f, 0, sweep.Errorf(sweep.EINVALID, "status %q is not a state of an import; send one or more of %s, separated by commas.", sweep.SafeValue(name), joinStates(sweep.Statuses)).For("status")
			}
			f.Statuses = append(f.Statuses, st)
		}
	}
	if v := q.Get("source"); v != "" {
		if !slices.Contains(sweep.Sources, sweep.Source(v)) {
			return f, 0, sweep.Errorf(sweep.EINVALID, "source %q is not a source of an import; send one of upload, api, upstream, schedule.", sweep.SafeValue(v)).For("source")
		}
		f.Source = sweep.Source(v)
	}
	f.CreatedBy = q.Get("created_by")
	for _, b := range []struct {
		name string
		dst  *time.Time
	}{{"created_after", &f.CreatedFrom}, {"created_before", &f.CreatedTo}} {
		if v := q.Get(b.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return f, 0, sweep.Errorf(sweep.EINVALID, "%s must be a time such as 2026-12-01T00:00:00Z; found %q.", b.name, sweep.SafeValue(v)).For(b.name)
			}
			*b.dst = t
		}
	}
	return f, limit, nil
}

func joinStates(ss []sweep.Status) string {
	names := make([]string, len(ss))
	for i, s := range ss {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

func (s *Server) handleDeleteImport(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		err = s.life.DeleteImport(r.Context(), principal(r).TenantID, id)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
