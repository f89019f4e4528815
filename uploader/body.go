package uploader

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
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

// jsonContentType refuses (415) a body not sent as application/json in
// UTF-8: another media type, or a charset parameter other than utf-8 (any
// letter case), which sweep would otherwise read as UTF-8 all the same.
func jsonContentType(r *http.Request, example string) error {
	ct, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "application/json" {
		return sweep.Errorf(sweep.EUNSUPPORTED, "Send the body as JSON with the header Content-Type: application/json (curl -H 'Content-Type: application/json' -d '%s'); nothing was done.", example)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return sweep.Errorf(sweep.EUNSUPPORTED, "Send JSON in UTF-8 (Content-Type: application/json, or application/json; charset=utf-8); found charset %q; nothing was done.", sweep.SafeValue(cs))
	}
	return nil
}

// readJSON decodes an optional JSON object body into v (at most max bytes).
// An empty body leaves v as it is and reports false. A body that is not sent
// as application/json in UTF-8 is refused with 415 rather than acted on
// without it;
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
	if err := jsonContentType(r, example); err != nil {
		return false, err
	}
	if err := sweep.DecodeExact(b, v); err != nil {
		return false, sweep.Errorf(sweep.EINVALID, "The body must be one JSON object such as %s (%s); nothing was done.", example, err)
	}
	return true, nil
}
