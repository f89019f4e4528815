package uploader

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/sweephq/sweep"
)

// spool holds a request's file on local disk while the rest of the request is
// read and checked. Nothing reaches the database until the whole body has
// arrived, ended where it should, and every option in it is valid: a refused
// request stores nothing, and a slow client never holds a database
// connection or transaction.
type spool struct {
	f        *os.File
	size     int64
	lines    int64
	inLine   bool // the line being written has more than spaces so far
	maxBytes int64
	maxLines int64
	tooLarge func() error
}

func (s *Server) newSpool() (*spool, error) {
	f, err := os.CreateTemp(s.limits.SpoolDir, "sweep-upload-*")
	if err != nil {
		return nil, fmt.Errorf("spool upload: %w", err)
	}
	return &spool{f: f, maxBytes: s.limits.MaxUploadBytes, maxLines: s.limits.MaxRows + 1, tooLarge: s.tooLarge}, nil
}

// Write adds to the file, failing with ETOOLARGE past the byte limit or
// the line limit (blank lines, which the reader skips, are not counted).
func (sp *spool) Write(p []byte) (int, error) {
	if sp.size += int64(len(p)); sp.size > sp.maxBytes {
		return 0, sp.tooLarge()
	}
	for _, c := range p {
		switch c {
		case '\n':
			if sp.inLine {
				sp.lines++
			}
			sp.inLine = false
		case ' ', '\t', '\r':
		default:
			sp.inLine = true
		}
	}
	if sp.lines > sp.maxLines {
		return 0, sweep.Errorf(sweep.ETOOLARGE, "The file has more than %d lines; one import takes at most %d rows. Split it into smaller files.", sp.maxLines, sp.maxLines-1)
	}
	return sp.f.Write(p)
}

// reader returns the whole file from its start.
func (sp *spool) reader() (io.Reader, error) {
	if _, err := sp.f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return sp.f, nil
}

// Close removes the file.
func (sp *spool) Close() {
	if sp != nil {
		sp.f.Close()
		os.Remove(sp.f.Name())
	}
}

// bodyReader passes a request body through, giving the client at most idle
// between two reads that return data: a body that stalls is cut, whatever the
// request's overall time limit.
type bodyReader struct {
	r    io.Reader
	rc   *http.ResponseController
	idle time.Duration
}

func (s *Server) body(w http.ResponseWriter, r *http.Request) io.Reader {
	if s.limits.BodyIdleTimeout <= 0 {
		return r.Body
	}
	return &bodyReader{r: r.Body, rc: http.NewResponseController(w), idle: s.limits.BodyIdleTimeout}
}

func (b *bodyReader) Read(p []byte) (int, error) {
	b.rc.SetReadDeadline(time.Now().Add(b.idle)) // unsupported by some writers (tests): then only the server's limits apply
	return b.r.Read(p)
}

// bodyError turns a failure to read a request body into what the client
// should hear: too large, cut short, or stalled.
func (s *Server) bodyError(err error, what string) error {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return s.tooLarge()
	case sweep.ErrorCode(err) != sweep.EINTERNAL:
		return err
	case errors.Is(err, os.ErrDeadlineExceeded):
		return sweep.Errorf(sweep.EINVALID, "The %s stopped arriving; nothing was stored. Send it again.", what)
	}
	return sweep.Errorf(sweep.EINVALID, "The %s ended before its end (the connection was cut or the body is incomplete); nothing was stored. Send it again, whole.", what)
}

// mediaType returns the request's media type, lower case, without parameters.
func mediaType(r *http.Request) string {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return ct
}

// readJSON decodes an optional JSON object body into v (at most max bytes).
// An empty body leaves v as it is and reports false. A body that is not sent
// as application/json is refused with 415 rather than acted on without it;
// unknown members, a second value or trailing bytes, and a body cut short are
// refused with 400.
func (s *Server) readJSON(w http.ResponseWriter, r *http.Request, v any, max int64, example string) (bool, error) {
	b, err := io.ReadAll(io.LimitReader(s.body(w, r), max+1))
	if err != nil {
		return false, s.bodyError(err, "body")
	}
	if int64(len(b)) > max {
		return false, sweep.Errorf(sweep.ETOOLARGE, "The body is larger than %d bytes; send only JSON such as %s.", max, example)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return false, nil
	}
	if mediaType(r) != "application/json" {
		return false, sweep.Errorf(sweep.EUNSUPPORTED, "Send the body as JSON with the header Content-Type: application/json (curl -H 'Content-Type: application/json' -d '%s'); nothing was done.", example)
	}
	if err := exactMembers(b, v); err != nil {
		return false, sweep.Errorf(sweep.EINVALID, "The body must be one JSON object such as %s (%s); nothing was done.", example, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b)) // every member is known: exactMembers checked them
	if err := dec.Decode(v); err != nil {
		return false, sweep.Errorf(sweep.EINVALID, "The body must be one JSON object such as %s (%s); nothing was done.", example, jsonProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return false, sweep.Errorf(sweep.EINVALID, "The body has more after its JSON object; send one object such as %s. Nothing was done.", example)
	}
	return true, nil
}

// exactMembers checks that b is a JSON object whose members are each named
// exactly as a json tag of the struct v points to, once. encoding/json alone
// would match "RUN_AT" to run_at and keep the last of two "run_at": a request
// whose meaning depends on that is refused instead.
func exactMembers(b []byte, v any) error {
	names := map[string]bool{}
	t := reflect.TypeOf(v).Elem()
	for _, f := range reflect.VisibleFields(t) { // members of embedded structs too
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" && !f.Anonymous {
			names[name] = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return errors.New("it is not a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return errors.New(jsonProblem(err))
		}
		name := tok.(string)
		switch {
		case !names[name]:
			return fmt.Errorf("it has the unknown member %q", sweep.SafeValue(name))
		case seen[name]:
			return fmt.Errorf("%s is given twice", name)
		}
		seen[name] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return errors.New(jsonProblem(err))
		}
	}
	return nil
}

// jsonProblem describes a JSON decoding error in a few words, without echoing
// the body.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("it is not valid JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("%s must be a JSON %s", te.Field, jsonKind(te.Type.Kind().String()))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "it ends before the object is complete"
	}
	return "it is not valid JSON"
}

func jsonKind(k string) string {
	switch k {
	case "bool":
		return "boolean (true or false)"
	case "string", "struct", "ptr":
		return "string"
	case "slice", "array":
		return "array"
	case "map":
		return "object"
	}
	return "number"
}
