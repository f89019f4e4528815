package uploader

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
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
	if wantsCSV(r) {
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

func wantsCSV(r *http.Request) bool {
	if f := r.URL.Query().Get("format"); f != "" {
		return strings.EqualFold(f, "csv")
	}
	return strings.Contains(r.Header.Get("Accept"), "text/csv")
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
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="import-%d-failed-rows.csv"`, imp.ID))
	cw := csv.NewWriter(w)
	if ferr != nil {
		// The file itself was rejected: there are no columns to give back.
		cw.Write([]string{"line", "error"})
		writeEscaped(cw, []string{"", sweep.ErrorMessage(ferr)})
		cw.Flush()
		return
	}
	header := append(append([]string(nil), fr.Header()...), "line", "error")
	writeEscaped(cw, header)
	var rec *sweep.Record
	var readErr error
	err := s.db.EachImportError(ctx, imp.TenantID, imp.ID, func(e store.ImportError) error {
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
	cw.Flush()
	if err != nil && !errors.Is(err, io.EOF) {
		s.log.ErrorContext(ctx, "write failed rows", "import_id", imp.ID, "tenant_id", imp.TenantID, "err", err)
	}
}
