package uploader

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/store"
)

// handleImportErrors answers the row errors of an import: JSON pages by
// default, or with Accept: text/csv (or ?format=csv) the failed rows of the
// file with their original columns plus line and error, ready to fix and
// upload again.
func (s *Server) handleImportErrors(w http.ResponseWriter, r *http.Request) {
	imp, ok := s.importFromPath(w, r)
	if !ok {
		return
	}
	asCSV, err := wantsCSV(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if asCSV {
		s.writeFailedRows(w, r, imp)
		return
	}
	limit, err := queryInt(r, "limit", 100, 1, 1000)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	after, err := queryInt(r, "after_line", 0, 0, 1<<62)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	errs, err := s.db.ListImportErrors(r.Context(), imp.TenantID, imp.ID, after, int(limit))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := struct {
		ImportID  int64               `json:"import_id"`
		Total     int64               `json:"total"`
		FileError string              `json:"file_error,omitempty"`
		Errors    []store.ImportError `json:"errors"`
		Next      string              `json:"next,omitempty"`
	}{ImportID: imp.ID, Total: imp.ErrorRows, Errors: errs}
	if imp.Status == sweep.StatusRejected {
		out.FileError = imp.Error
	}
	if len(errs) == int(limit) {
		out.Next = fmt.Sprintf("/v1/imports/%d/errors?limit=%d&after_line=%d", imp.ID, limit, errs[len(errs)-1].Line)
	}
	writeJSON(w, http.StatusOK, out)
}

// wantsCSV reads which form of the errors is asked for: ?format=csv or
// json (any letter case) decides, else the Accept header. The CSV holds
// every failed row, so it takes no paging parameters.
func wantsCSV(r *http.Request) (bool, error) {
	q := r.URL.Query()
	asCSV := strings.Contains(r.Header.Get("Accept"), "text/csv")
	switch f := q.Get("format"); {
	case strings.EqualFold(f, "csv"):
		asCSV = true
	case strings.EqualFold(f, "json"):
		asCSV = false
	case f != "":
		return false, sweep.Errorf(sweep.EINVALID, "format must be csv (the failed rows, ready to fix) or json (a page of row errors); found %q.", sweep.SafeValue(f))
	}
	if asCSV && (q.Has("limit") || q.Has("after_line")) {
		return false, sweep.Errorf(sweep.EINVALID, "limit and after_line page the JSON list of errors; the CSV holds every failed row. Leave them out, or ask for format=json.")
	}
	return asCSV, nil
}

// escapeCell defuses a cell a spreadsheet would run as a formula by prefixing
// it with a single quote.
func escapeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func writeEscaped(cw *csv.Writer, cells []string) error {
	for i, c := range cells {
		cells[i] = escapeCell(c)
	}
	return cw.Write(cells)
}

// writeFailedRows streams the failed rows: it reads the stored file and the
// errors, both in line order, side by side, so memory stays flat however many
// rows failed.
func (s *Server) writeFailedRows(w http.ResponseWriter, r *http.Request, imp sweep.Import) {
	ctx := r.Context()
	fr, ferr := sweep.NewFileReader(s.db.FileReader(ctx, imp.TenantID, imp.ID), 0)
	if ferr != nil && sweep.ErrorCode(ferr) == sweep.EINTERNAL {
		s.writeError(w, r, ferr)
		return
	}
	s.sendCSV(w, r, fmt.Sprintf("import-%d-failed-rows.csv", imp.ID), func(cw *csv.Writer) error {
		if ferr != nil {
			// The file itself was rejected: there are no columns to give back.
			cw.Write([]string{"line", "error"})
			return writeEscaped(cw, []string{"", sweep.ErrorMessage(ferr)})
		}
		header := append(append([]string(nil), fr.Header()...), "line", "error")
		writeEscaped(cw, header)
		var rec *sweep.Record
		var readErr error
		return s.db.EachImportError(ctx, imp.TenantID, imp.ID, func(e store.ImportError) error {
			for readErr == nil && (rec == nil || rec.Line < e.Line) {
				rec, readErr = fr.Next()
			}
			cells := make([]string, len(fr.Header()), len(fr.Header())+2)
			if readErr == nil && rec.Line == e.Line {
				copy(cells, rec.Fields)
			}
			cells = append(cells, fmt.Sprint(e.Line), e.Message)
			return writeEscaped(cw, cells)
		})
	})
}

// sendCSV writes a CSV answer that fill produces from the database into a
// temporary file first, then sends the file: however slowly the client reads,
// no database connection or cursor waits on it. A failure while filling is
// answered as an error, never as a CSV cut short.
func (s *Server) sendCSV(w http.ResponseWriter, r *http.Request, name string, fill func(cw *csv.Writer) error) {
	f, err := os.CreateTemp(s.limits.SpoolDir, "sweep-download-*")
	if err != nil {
		s.writeError(w, r, fmt.Errorf("spool %s: %w", name, err))
		return
	}
	defer os.Remove(f.Name())
	defer f.Close()
	bw := bufio.NewWriterSize(f, 256<<10)
	cw := csv.NewWriter(bw)
	err = fill(cw)
	if cw.Flush(); err == nil {
		err = cw.Error()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		s.writeError(w, r, fmt.Errorf("write %s: %w", name, err))
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, name))
	if st, err := f.Stat(); err == nil {
		w.Header().Set("Content-Length", strconv.FormatInt(st.Size(), 10))
	}
	if _, err := io.Copy(w, f); err != nil {
		s.log.DebugContext(r.Context(), "send csv", "file", name, "err", err) // the client went away
	}
}
