package sweep

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The file format: a CSV with a header; the columns action (must be "remove")
// and customerId (a positive base-10 integer id) matter, others are ignored.
const (
	ColumnAction     = "action"
	ColumnCustomerID = "customerId"
	ActionRemove     = "remove"

	// MaxValueBytes is how much of an offending value a row error keeps.
	MaxValueBytes = 200

	sniffBytes = 64 << 10
)

// Record is one data row of an import file.
type Record struct {
	Line       int64     // physical line where the row starts (the header is line 1)
	CustomerID int64     // the parsed id; 0 when Err is set, or when the key is not a whole number
	Key        string    // the parsed key when the reader's key is a uuid or text (SetKey)
	Err        *RowError // why the row is rejected, or nil
	Fields     []string  // the row's fields as in the file; reused by the next call to Next
}

// FileReader reads an import file row by row and applies the format rules. It
// holds one row in memory at a time.
type FileReader struct {
	cr        *csv.Reader
	header    []string
	actionCol int
	idCol     int
	maxRows   int64
	rows      int64
	rec       Record
	key       Key
}

// SetKey makes the reader read customerId as k says (a whole number unless
// set): a uuid or text key fills Record.Key instead of CustomerID.
func (f *FileReader) SetKey(k Key) { f.key = k }

// fileError is a whole-file rejection: EINVALID with a message for the operator.
func fileError(format string, args ...any) error {
	return Errorf(EINVALID, format, args...)
}

// NewFileReader checks that r looks like a UTF-8 CSV file and reads its header.
// Whole-file problems (empty, binary, UTF-16, not UTF-8, a header without the
// required columns) are EINVALID errors whose message says what to fix. maxRows
// limits the data rows; 0 means no limit.
func NewFileReader(r io.Reader, maxRows int64) (*FileReader, error) {
	br := bufio.NewReaderSize(r, sniffBytes)
	head, err := br.Peek(sniffBytes)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("read file: %w", err)
	}
	if len(bytes.TrimSpace(bytes.TrimPrefix(head, utf8BOM))) == 0 {
		return nil, fileError("The file is empty. It needs a header line %s,%s and then one line per customer, such as remove,1042.", ColumnAction, ColumnCustomerID)
	}
	if bytes.HasPrefix(head, []byte{0xFF, 0xFE}) || bytes.HasPrefix(head, []byte{0xFE, 0xFF}) {
		return nil, fileError("The file is saved as UTF-16 text. Save it as \"CSV UTF-8\" and upload it again.")
	}
	if i := bytes.IndexByte(head, 0); i >= 0 {
		return nil, fileError("The file is not a CSV text file: it contains binary data (a NUL byte on line %d). Export the list as CSV and upload that.", lineOf(head, i))
	}
	if i := invalidUTF8(head, len(head) < sniffBytes); i >= 0 {
		return nil, fileError("The file is not UTF-8 text (line %d has bytes that are not UTF-8, as in files saved as \"CSV\" in a legacy encoding). Save it as \"CSV UTF-8\" and upload it again.", lineOf(head, i))
	}

	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	f := &FileReader{cr: cr, maxRows: maxRows, actionCol: -1, idCol: -1}
	hdr, err := cr.Read()
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return nil, fileError("The header line is not valid CSV: %s. The first line must be %s,%s.", csvProblem(pe), ColumnAction, ColumnCustomerID)
	} else if err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	f.header = append([]string(nil), hdr...)
	f.header[0] = strings.TrimPrefix(f.header[0], "\ufeff")
	if err := f.findColumns(); err != nil {
		return nil, err
	}
	return f, nil
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// invalidUTF8 returns the offset of the first byte that is not UTF-8 in b, or
// -1. Unless complete, a rune cut off at the end of b is not counted.
func invalidUTF8(b []byte, complete bool) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			if !complete && len(b)-i < utf8.UTFMax && !utf8.FullRune(b[i:]) {
				return -1
			}
			return i
		}
		i += n
	}
	return -1
}

func lineOf(b []byte, offset int) int {
	return bytes.Count(b[:offset], []byte{'\n'}) + 1
}

func normalizeHeader(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}

// squash folds a header name for suggestions: "Customer_ID" and "customer id"
// both become "customerid".
func squash(s string) string {
	return strings.NewReplacer("_", "", "-", "", " ", "", ".", "").Replace(normalizeHeader(s))
}

func (f *FileReader) findColumns() error {
	want := map[string]*int{normalizeHeader(ColumnAction): &f.actionCol, normalizeHeader(ColumnCustomerID): &f.idCol}
	for i, h := range f.header {
		col, ok := want[normalizeHeader(h)]
		if !ok {
			continue
		}
		if *col >= 0 {
			return fileError("The header names %s twice (columns %d and %d). Keep one of them and upload the file again.", strings.TrimSpace(h), *col+1, i+1)
		}
		*col = i
	}
	if f.actionCol >= 0 && f.idCol >= 0 {
		return nil
	}
	// Say exactly what is wrong: data where the header should be, or a column
	// with a near-miss name, or a column missing.
	if len(f.header) > 0 && strings.EqualFold(strings.TrimSpace(f.header[0]), ActionRemove) {
		return fileError("The first line must be the header %s,%s, but it is a data row (%s). Add the header line above the first row.", ColumnAction, ColumnCustomerID, truncate(strings.Join(f.header, ","), 80))
	}
	if len(f.header) == 1 && strings.Contains(f.header[0], ";") {
		return fileError("The columns are separated by semicolons (;), but sweep needs commas. Save the file as \"CSV UTF-8 (comma delimited)\" and upload it again.")
	}
	var missing []string
	for _, c := range []struct {
		name string
		col  int
	}{{ColumnAction, f.actionCol}, {ColumnCustomerID, f.idCol}} {
		if c.col >= 0 {
			continue
		}
		msg := fmt.Sprintf("no %s column", c.name)
		for _, h := range f.header {
			if squash(h) == squash(c.name) {
				msg = fmt.Sprintf("no %s column (there is %q: rename it to %s)", c.name, strings.TrimSpace(h), c.name)
				break
			}
		}
		missing = append(missing, msg)
	}
	return fileError("The header has %s. The first line must name the columns, such as %s,%s; found %q.",
		strings.Join(missing, " and "), ColumnAction, ColumnCustomerID, truncate(strings.Join(f.header, ","), 80))
}

// Header returns the file's header as written (without a byte order mark).
func (f *FileReader) Header() []string { return f.header }

// Rows returns how many data rows have been read so far.
func (f *FileReader) Rows() int64 { return f.rows }

// Next returns the next data row, with Err set when the row is rejected. Blank
// lines are skipped. At the end it returns io.EOF, or an EINVALID error when the
// file had no data rows. Over maxRows rows it returns an EINVALID error.
func (f *FileReader) Next() (*Record, error) {
	for {
		fields, err := f.cr.Read()
		if errors.Is(err, io.EOF) {
			if f.rows == 0 {
				return nil, fileError("The file has a header but no data rows. Add one line per customer, such as remove,1042.")
			}
			return nil, io.EOF
		}
		f.rec = Record{Fields: fields}
		var pe *csv.ParseError
		switch {
		case errors.As(err, &pe):
			f.rec.Line = int64(pe.StartLine)
			f.rec.Fields = nil
			f.rec.Err = &RowError{Line: f.rec.Line, Message: fmt.Sprintf("This line is not valid CSV: %s.", csvProblem(pe))}
		case err != nil:
			return nil, fmt.Errorf("read file: %w", err)
		default:
			line, _ := f.cr.FieldPos(0)
			f.rec.Line = int64(line)
			if blank(fields) {
				continue
			}
			f.parse()
		}
		f.rows++
		if f.maxRows > 0 && f.rows > f.maxRows {
			return nil, Errorf(ETOOLARGE, "The file has more than %d data rows, the most one import takes. Split it into files of at most %d rows.", f.maxRows, f.maxRows)
		}
		return &f.rec, nil
	}
}

func blank(fields []string) bool {
	for _, s := range fields {
		if strings.TrimSpace(s) != "" {
			return false
		}
	}
	return true
}

func (f *FileReader) parse() {
	r := &f.rec
	var problems []string
	col := ""
	fail := func(column, msg string, value string) {
		if col == "" {
			col = column
			r.Err = &RowError{Line: r.Line, Column: column, Value: SafeValue(value)}
		}
		problems = append(problems, msg)
	}
	for _, fl := range r.Fields {
		if !utf8.ValidString(fl) {
			fail("", "This line has bytes that are not UTF-8 text. Save the file as \"CSV UTF-8\" and upload it again.", fl)
			break
		}
		if strings.IndexByte(fl, 0) >= 0 {
			fail("", "This line contains a NUL byte, which a text file never has. Remove it.", fl)
			break
		}
	}
	if r.Err == nil {
		if f.actionCol >= len(r.Fields) {
			fail(ColumnAction, fmt.Sprintf("The row has %d column(s), so %s (column %d) is missing. Add it.", len(r.Fields), ColumnAction, f.actionCol+1), "")
		} else if msg := CheckAction(r.Fields[f.actionCol]); msg != "" {
			fail(ColumnAction, msg, r.Fields[f.actionCol])
		}
		if f.idCol >= len(r.Fields) {
			fail(ColumnCustomerID, fmt.Sprintf("The row has %d column(s), so %s (column %d) is missing. Add it.", len(r.Fields), ColumnCustomerID, f.idCol+1), "")
		} else if f.key.Kind != KeyWhole {
			if key, msg := f.key.Parse(r.Fields[f.idCol]); msg != "" {
				fail(ColumnCustomerID, msg, r.Fields[f.idCol])
			} else if r.Err == nil {
				r.Key = key
			}
		} else if id, msg := ParseCustomerID(r.Fields[f.idCol]); msg != "" {
			fail(ColumnCustomerID, msg, r.Fields[f.idCol])
		} else if r.Err == nil {
			r.CustomerID = id
		}
	}
	if r.Err != nil {
		r.Err.Message = strings.Join(problems, " Also: ")
	}
}

func csvProblem(pe *csv.ParseError) string {
	switch {
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return fmt.Sprintf("a double quote (\") appears inside a field that is not quoted, on line %d. Put the whole field in double quotes and double every quote inside it, or remove the quote", pe.Line)
	case errors.Is(pe.Err, csv.ErrQuote):
		return fmt.Sprintf("a quoted field that starts on line %d is not closed properly (see line %d). Close it with a double quote, and double every quote inside it", pe.StartLine, pe.Line)
	}
	return pe.Err.Error()
}

// CheckAction returns "" when s is the action "remove" (any letter case,
// surrounding spaces allowed), and otherwise what to do.
func CheckAction(s string) string {
	t := strings.TrimSpace(s)
	switch {
	case strings.EqualFold(t, ActionRemove):
		return ""
	case t == "":
		return fmt.Sprintf("%s is empty. Write %s.", ColumnAction, ActionRemove)
	}
	return fmt.Sprintf("%s must be %s; found %q. sweep only removes customers: write %s, or take the row out of the file.", ColumnAction, ActionRemove, truncate(t, 40), ActionRemove)
}

// ParseCustomerID parses a customer id: ASCII digits only (surrounding spaces
// allowed, leading zeros ignored, so "0123" is 123), greater than 0, at most the
// largest int64. Otherwise it returns 0 and what to do.
func ParseCustomerID(s string) (int64, string) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Sprintf("%s is empty. Write the customer's id, a whole number such as 1042.", ColumnCustomerID)
	}
	if !allDigits(t) {
		return 0, badID(t)
	}
	digits := strings.TrimLeft(t, "0")
	if digits == "" {
		return 0, fmt.Sprintf("%s must be greater than 0; found %q. Check the id.", ColumnCustomerID, t)
	}
	id, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, fmt.Sprintf("%s %s is too large: ids are at most 9223372036854775807. Check the value.", ColumnCustomerID, truncate(t, 40))
	}
	return id, ""
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// badID explains why t, which is not all digits, is not an id.
func badID(t string) string {
	q := strconv.Quote(truncate(t, 40))
	switch {
	case len(t) > 1 && t[0] == '-' && allDigits(t[1:]):
		return fmt.Sprintf("%s must be greater than 0; found %s. Check the id.", ColumnCustomerID, q)
	case len(t) > 1 && t[0] == '+' && allDigits(t[1:]):
		return fmt.Sprintf("%s must be digits only, without a sign; found %s. Write %s.", ColumnCustomerID, q, strings.TrimLeft(t[1:], "0"))
	}
	if whole, frac, ok := strings.Cut(t, "."); ok && allDigits(whole) && whole != "" && allDigits(frac) {
		if strings.Trim(frac, "0") == "" {
			return fmt.Sprintf("%s must be a whole number without a decimal point; found %s. Write %s.", ColumnCustomerID, q, whole)
		}
		return fmt.Sprintf("%s must be a whole number such as 1042; found %s. Check the id.", ColumnCustomerID, q)
	}
	if i := strings.IndexAny(t, "eE"); i > 0 && strings.ContainsAny(t[:i], "0123456789") {
		if _, err := strconv.ParseFloat(t, 64); err == nil {
			return fmt.Sprintf("%s is in scientific notation (%s), which spreadsheets use for long numbers and which can lose digits. Format the column as Text, type the full ids and export again.", ColumnCustomerID, q)
		}
	}
	if strings.ContainsAny(t, " \t") && allDigits(strings.NewReplacer(" ", "", "\t", "").Replace(t)) {
		return fmt.Sprintf("%s must be one number without spaces; found %s.", ColumnCustomerID, q)
	}
	return fmt.Sprintf("%s must be a whole number such as 1042; found %s.", ColumnCustomerID, q)
}

// SafeValue makes a value (a row's cell, a file name) fit to store and show on
// one line of a terminal or a page: invalid UTF-8 and control characters (NUL,
// ESC, BEL, tab, line breaks, DEL, C1, bidirectional overrides; see isControl)
// become U+FFFD, and it is cut to MaxValueBytes at a character boundary.
func SafeValue(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if strings.ContainsFunc(s, isControl) {
		s = strings.Map(func(r rune) rune {
			if isControl(r) {
				return '\uFFFD'
			}
			return r
		}, s)
	}
	return truncate(s, MaxValueBytes)
}

// HasControl reports whether s holds a character a terminal or a text view
// acts upon (see isControl): such text is refused where people will read it.
func HasControl(s string) bool { return strings.ContainsFunc(s, isControl) }

// isControl reports whether r is a character a terminal or a text view acts
// on instead of showing: C0 controls (tab and line breaks included), DEL, C1
// controls, and the bidirectional embeddings, overrides and isolates, which
// make text read in another order than it is stored.
func isControl(r rune) bool {
	return unicode.IsControl(r) || (r >= '\u202A' && r <= '\u202E') || (r >= '\u2066' && r <= '\u2069')
}

// truncate cuts s to at most n bytes at a character boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
