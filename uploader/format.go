package uploader

import (
	"net/http"

	"github.com/gocarina/gocsv"
	"github.com/sweephq/sweep"
)

// sampleRow is one line of the sample file.
type sampleRow struct {
	Action     string `csv:"action"`
	CustomerID string `csv:"customerId"`
}

var sampleRows = []sampleRow{
	{sweep.ActionRemove, "1042"},
	{sweep.ActionRemove, "1043"},
	{sweep.ActionRemove, "20517"},
}

// handleSample serves a sample file an operator can fill in.
func (s *Server) handleSample(w http.ResponseWriter, r *http.Request) {
	b, err := gocsv.MarshalBytes(sampleRows)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="sweep-sample.csv"`)
	w.Write(b)
}

// instructions are the format rules in plain words, for the API and the page.
type instructions struct {
	Summary  string            `json:"summary"`
	Columns  map[string]string `json:"columns"`
	Rules    []string          `json:"rules"`
	Policies map[string]string `json:"policies"`
	Checks   []string          `json:"checks"`
	Limits   map[string]int64  `json:"limits"`
	Sample   string            `json:"sample"`
}

func (s *Server) handleInstructions(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, instructions{
		Summary: "Upload a CSV file with a header line and one row per customer to delete. sweep checks every row, shows what to fix, and deletes only when you start the import. Loans are never deleted.",
		Columns: map[string]string{
			sweep.ColumnAction:     "Must be remove (any letter case).",
			sweep.ColumnCustomerID: "The customer's id: a whole number greater than 0, digits only, such as 1042. Leading zeros are ignored (0123 is 123).",
		},
		Rules: []string{
			"The first line is the header and names the columns action and customerId, in any order and letter case. Other columns are allowed and ignored.",
			"Save the file as CSV UTF-8 with commas between columns. A byte order mark and Windows line ends are fine.",
			"Blank lines are skipped.",
			"Write ids in full: no decimal point, sign, spaces or scientific notation (1.2E+15). In a spreadsheet, format the id column as Text.",
			"Each customer once: a repeated id is an error on every repeat after the first.",
			"Every rejected row is reported with its line number and what to do; download the failed rows as CSV, fix them and upload that file.",
		},
		Policies: map[string]string{
			string(sweep.PolicyLine): "Default. Rows with errors are left out; the valid rows can be deleted.",
			string(sweep.PolicyFile): "Any error rejects the whole file; nothing is deleted until every row is valid.",
		},
		Checks: []string{
			"The id must belong to a customer of your tenant.",
			"A customer linked to a loan is refused: unlink the customer from the loan first, then validate the import again.",
		},
		Limits: map[string]int64{"max_upload_bytes": s.limits.MaxUploadBytes, "max_rows": s.limits.MaxRows},
		Sample: "/v1/sample.csv",
	})
}
