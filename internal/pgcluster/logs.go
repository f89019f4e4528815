package pgcluster

import (
	"bytes"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// tail returns the end of the log at path (its last lines, at most 4 KiB),
// indented, for an error message to say why a server failed.
func tail(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const limit = 4096
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(fi.Size()-limit, 0)
	b := make([]byte, fi.Size()-off)
	n, _ := f.ReadAt(b, off)
	return indent(b[:n], off > 0)
}

// indent formats command or log output to follow an error message.
func indent(b []byte, cut bool) string {
	if cut {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	s := strings.TrimRight(string(b), "\n")
	if s == "" {
		return ""
	}
	return "\n    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// lockedWriter lets the log copier and Start write to Options.Log without
// racing: the writer need not be safe for concurrent use.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// prefixed writes out's lines to w, each after prefix.
func prefixed(w io.Writer, prefix string, out []byte) {
	if w == nil || len(out) == 0 {
		return
	}
	var buf bytes.Buffer
	for _, line := range strings.SplitAfter(strings.TrimRight(string(out), "\n"), "\n") {
		buf.WriteString(prefix)
		buf.WriteString(strings.TrimSuffix(line, "\n"))
		buf.WriteByte('\n')
	}
	w.Write(buf.Bytes())
}

// logCopier follows the servers' log files (which pg_ctl writes) and copies
// their complete lines to a writer, until stopped.
type logCopier struct {
	w     io.Writer
	files []*followed
	stop  chan struct{}
	done  chan struct{}
}

type followed struct {
	prefix, path string
	off          int64
	partial      []byte
}

func newLogCopier(w io.Writer, files map[string]string) *logCopier {
	c := &logCopier{w: w, stop: make(chan struct{}), done: make(chan struct{})}
	for prefix, path := range files {
		c.files = append(c.files, &followed{prefix: prefix, path: path})
	}
	go c.run()
	return c
}

func (c *logCopier) run() {
	defer close(c.done)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			c.copy(true)
			return
		case <-t.C:
			c.copy(false)
		}
	}
}

func (c *logCopier) copy(final bool) {
	for _, f := range c.files {
		b, err := readFrom(f.path, f.off)
		if err != nil {
			continue
		}
		f.off += int64(len(b))
		b = append(f.partial, b...)
		end := bytes.LastIndexByte(b, '\n') + 1
		if final {
			end = len(b)
		}
		prefixed(c.w, f.prefix, b[:end])
		f.partial = append([]byte(nil), b[end:]...)
	}
}

func readFrom(path string, off int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return nil, err
	}
	return io.ReadAll(f)
}

// Close copies what is left and stops following; safe on a nil copier.
func (c *logCopier) Close() {
	if c == nil {
		return
	}
	close(c.stop)
	<-c.done
}
