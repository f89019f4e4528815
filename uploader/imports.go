package uploader

import (
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/store"
)

// importOptions are the settings a client may send with a file.
type importOptions struct {
	policy    sweep.Policy
	autoStart bool
	runAt     *time.Time
}

// set applies one named option from a form field or a JSON member.
func (o *importOptions) set(name, value string) error {
	value = strings.TrimSpace(value)
	switch name {
	case "policy":
		p, err := sweep.ParsePolicy(value)
		if err != nil {
			return err
		}
		o.policy = p
	case "auto_start":
		b, err := strconv.ParseBool(value)
		if err != nil && value != "" {
			return sweep.Errorf(sweep.EINVALID, "auto_start must be true or false; found %q.", value)
		}
		o.autoStart = b
	case "run_at":
		if value == "" {
			o.runAt = nil
			return nil
		}
		t, err := time.Parse(time.RFC3339, value)
		if err != nil {
			return sweep.Errorf(sweep.EINVALID, "run_at must be a time such as 2026-12-01T02:00:00Z (RFC 3339); found %q.", value)
		}
		o.runAt = &t
	}
	return nil
}

const maxKeyLength = 255

// handleCreateImport stores an uploaded file (multipart field "file") or a JSON
// list of ids as a new import and queues its validation.
func (s *Server) handleCreateImport(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	key := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if len(key) > maxKeyLength {
		s.writeError(w, r, sweep.Errorf(sweep.EINVALID, "Idempotency-Key is longer than %d characters.", maxKeyLength))
		return
	}
	// The body may hold the file plus a little multipart framing.
	r.Body = http.MaxBytesReader(w, r.Body, s.limits.MaxUploadBytes+1<<20)
	n := store.NewImport{TenantID: p.TenantID, IdempotencyKey: key, CreatedBy: p.Name}
	if n.CreatedBy == "" {
		n.CreatedBy = fmt.Sprintf("token %d", p.TokenID)
	}
	var (
		imp     sweep.Import
		existed bool
		err     error
	)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "multipart/form-data":
		imp, existed, err = s.createFromMultipart(r, n)
	case "application/json":
		imp, existed, err = s.createFromJSON(r, n)
	default:
		err = sweep.Errorf(sweep.EUNSUPPORTED, "Send the file as multipart/form-data with a field named file (curl -F file=@customers.csv), or send JSON such as {\"customer_ids\": [1042, 1043]}.")
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		err = s.tooLarge()
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if imp.Status == sweep.StatusUploaded {
		if err := s.enqueueValidate(r.Context(), imp); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	w.Header().Set("Location", fmt.Sprintf("/v1/imports/%d", imp.ID))
	if existed {
		w.Header().Set("Idempotent-Replayed", "true")
		writeJSON(w, http.StatusOK, toJSON(imp))
		return
	}
	s.log.InfoContext(r.Context(), "import uploaded", "import_id", imp.ID, "tenant_id", imp.TenantID,
		"source", imp.Source, "file_size", imp.FileSize)
	writeJSON(w, http.StatusAccepted, toJSON(imp))
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

func (s *Server) createFromMultipart(r *http.Request, n store.NewImport) (imp sweep.Import, existed bool, err error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return imp, false, sweep.Errorf(sweep.EINVALID, "The multipart body cannot be read: %v.", err)
	}
	var opts importOptions
	gotFile := false
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return imp, false, s.tooLarge()
			}
			return imp, false, sweep.Errorf(sweep.EINVALID, "The multipart body cannot be read: %v.", err)
		}
		name := part.FormName()
		if name != "file" {
			v, _ := io.ReadAll(io.LimitReader(part, 1024))
			if err := opts.set(name, string(v)); err != nil {
				return imp, false, err
			}
			continue
		}
		if gotFile {
			return imp, false, sweep.Errorf(sweep.EINVALID, "Send one file per import; this request has more than one file field.")
		}
		gotFile = true
		n.Source = sweep.SourceUpload
		n.FileName = cleanFileName(part.FileName())
		imp, existed, err = s.storeFile(r.Context(), n, opts, part)
		if err != nil {
			return imp, false, err
		}
	}
	if !gotFile {
		return imp, false, sweep.Errorf(sweep.EINVALID, "The request has no file. Send it in a multipart field named file (curl -F file=@customers.csv).")
	}
	return s.applyLateOptions(r.Context(), imp, existed, opts)
}

// storeFile streams a file into a new import, enforcing the byte and row limits
// as it goes.
func (s *Server) storeFile(ctx context.Context, n store.NewImport, opts importOptions, file io.Reader) (sweep.Import, bool, error) {
	n.Policy = opts.policy
	if n.Policy == "" {
		n.Policy = sweep.PolicyLine
	}
	n.AutoStart, n.RunAt = opts.autoStart, opts.runAt
	return s.db.CreateImport(ctx, n, &limitReader{r: file, s: s, maxBytes: s.limits.MaxUploadBytes, maxLines: s.limits.MaxRows + 1})
}

// applyLateOptions applies options that arrived after the file (curl sends
// fields in the order given) to the import before its validation is queued.
func (s *Server) applyLateOptions(ctx context.Context, imp sweep.Import, existed bool, opts importOptions) (sweep.Import, bool, error) {
	if existed {
		return imp, true, nil
	}
	policy := cmp.Or(opts.policy, imp.Policy)
	if policy == imp.Policy && opts.autoStart == imp.AutoStart && equalTime(opts.runAt, imp.RunAt) {
		return imp, false, nil
	}
	imp, err := s.db.SetImportOptions(ctx, imp.TenantID, imp.ID, policy, opts.autoStart, opts.runAt)
	return imp, false, err
}

func equalTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

func cleanFileName(name string) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	if name == "." || name == "/" {
		name = ""
	}
	return sweep.SafeValue(name)
}

// limitReader passes a file through while counting bytes and lines, and fails
// with ETOOLARGE past the limits, which rolls the whole upload back.
type limitReader struct {
	r                 io.Reader
	s                 *Server
	maxBytes, n       int64
	maxLines, newline int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	k, err := l.r.Read(p)
	l.n += int64(k)
	if l.n > l.maxBytes {
		return 0, l.s.tooLarge()
	}
	for _, c := range p[:k] {
		if c == '\n' {
			l.newline++
		}
	}
	if l.newline > l.maxLines {
		return 0, sweep.Errorf(sweep.ETOOLARGE, "The file has more than %d lines; one import takes at most %d rows. Split it into smaller files.", l.maxLines, l.maxLines-1)
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return k, l.s.tooLarge()
	}
	return k, err
}

// createFromJSON turns {"customer_ids": [...]} into an import whose stored file
// is the equivalent CSV, so ids from programs pass exactly the same rules as an
// operator's file. The ids are streamed, never held in memory.
func (s *Server) createFromJSON(r *http.Request, n store.NewImport) (imp sweep.Import, existed bool, err error) {
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return imp, false, sweep.Errorf(sweep.EINVALID, "The body must be a JSON object such as {\"customer_ids\": [1042, 1043]}.")
	}
	var opts importOptions
	gotIDs := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return imp, false, jsonError(err)
		}
		name, _ := tok.(string)
		switch name {
		case "customer_ids":
			if gotIDs {
				return imp, false, sweep.Errorf(sweep.EINVALID, "customer_ids appears twice in the body.")
			}
			gotIDs = true
			n.Source = sweep.SourceAPI
			n.FileName = "customer_ids.json"
			pr, pw := io.Pipe()
			done := make(chan struct{})
			go func() {
				defer close(done)
				pw.CloseWithError(idsToCSV(dec, pw, s.limits.MaxRows))
			}()
			imp, existed, err = s.storeFile(r.Context(), n, opts, pr)
			pr.CloseWithError(io.ErrClosedPipe) // stops the writer when the store gave up early
			<-done                              // the decoder is ours again
			if err != nil {
				return imp, false, err
			}
		case "policy", "auto_start", "run_at":
			var v any
			if err := dec.Decode(&v); err != nil {
				return imp, false, jsonError(err)
			}
			str := fmt.Sprint(v)
			if v == nil {
				str = ""
			}
			if err := opts.set(name, str); err != nil {
				return imp, false, err
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return imp, false, jsonError(err)
			}
		}
	}
	if !gotIDs {
		return imp, false, sweep.Errorf(sweep.EINVALID, "The body has no customer_ids. Send {\"customer_ids\": [1042, 1043]}.")
	}
	return s.applyLateOptions(r.Context(), imp, existed, opts)
}

func jsonError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || sweep.ErrorCode(err) != sweep.EINTERNAL {
		return err
	}
	return sweep.Errorf(sweep.EINVALID, "The body is not valid JSON: %v.", err)
}

// idsToCSV reads the array of ids at dec's position and writes it as an import
// file: a header and one "remove,<id>" row per element, as written.
func idsToCSV(dec *json.Decoder, w io.Writer, maxRows int64) error {
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return sweep.Errorf(sweep.EINVALID, "customer_ids must be an array such as [1042, 1043].")
	}
	cw := csv.NewWriter(w)
	cw.Write([]string{sweep.ColumnAction, sweep.ColumnCustomerID})
	var n int64
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return jsonError(err)
		}
		var v string
		switch t := tok.(type) {
		case json.Number:
			v = t.String()
		case string:
			v = t
		default:
			return sweep.Errorf(sweep.EINVALID, "customer_ids element %d is %v; each id must be a number or a string of digits.", n+1, tok)
		}
		if n++; maxRows > 0 && n > maxRows {
			return sweep.Errorf(sweep.ETOOLARGE, "customer_ids has more than %d ids, the most one import takes. Split the list.", maxRows)
		}
		cw.Write([]string{sweep.ActionRemove, v})
	}
	if _, err := dec.Token(); err != nil {
		return jsonError(err)
	}
	if n == 0 {
		return sweep.Errorf(sweep.EINVALID, "customer_ids is empty; send at least one id.")
	}
	cw.Flush()
	return cw.Error()
}

// enqueueValidate queues the validation round the import is in. Enqueueing a
// round twice is a no-op (the task id is derived from import and round).
func (s *Server) enqueueValidate(ctx context.Context, imp sweep.Import) error {
	t, err := jobs.NewImportValidateTask(imp)
	if err != nil {
		return err
	}
	info, err := s.queue.EnqueueContext(ctx, t)
	if err == nil {
		return s.db.SetTaskID(ctx, imp.TenantID, imp.ID, info.ID)
	} else if errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
		return nil
	}
	s.log.ErrorContext(ctx, "enqueue validation", "import_id", imp.ID, "tenant_id", imp.TenantID, "err", err)
	return sweep.Errorf(sweep.EUNAVAILABLE, "Import %d is stored, but its validation could not be queued. Try POST /v1/imports/%d/validate in a minute.", imp.ID, imp.ID)
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, sweep.Errorf(sweep.ENOTFOUND, "Import %q was not found; import ids are positive whole numbers.", r.PathValue("id"))
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
	if imp, ok := s.importFromPath(w, r); ok {
		writeJSON(w, http.StatusOK, toJSON(imp))
	}
}

func queryInt(r *http.Request, name string, def, lo, hi int64) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, sweep.Errorf(sweep.EINVALID, "%s must be a whole number from %d to %d; found %q.", name, lo, hi, s)
	}
	return n, nil
}

func (s *Server) handleListImports(w http.ResponseWriter, r *http.Request) {
	limit, err := queryInt(r, "limit", 50, 1, 500)
	if err == nil {
		var before int64
		before, err = queryInt(r, "before", 0, 0, 1<<62)
		var policy int64
		if err == nil {
			policy, err = queryInt(r, "cleanup_policy_id", 0, 0, 1<<62)
		}
		if err == nil {
			var imps []sweep.Import
			imps, err = s.db.ListImports(r.Context(), principal(r).TenantID, before, int(limit), policy)
			if err == nil {
				out := struct {
					Imports []importJSON `json:"imports"`
					Next    string       `json:"next,omitempty"`
				}{Imports: make([]importJSON, len(imps))}
				for i, imp := range imps {
					out.Imports[i] = toJSON(imp)
				}
				if len(imps) == int(limit) {
					out.Next = fmt.Sprintf("/v1/imports?limit=%d&before=%d", limit, imps[len(imps)-1].ID)
					if policy > 0 {
						out.Next += fmt.Sprintf("&cleanup_policy_id=%d", policy)
					}
				}
				writeJSON(w, http.StatusOK, out)
				return
			}
		}
	}
	s.writeError(w, r, err)
}

func (s *Server) handleValidateImport(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	imp, err := s.db.RequestValidation(r.Context(), principal(r).TenantID, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.enqueueValidate(r.Context(), imp); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, toJSON(imp))
}

func (s *Server) handleDeleteImport(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		err = s.db.DeleteImport(r.Context(), principal(r).TenantID, id)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
