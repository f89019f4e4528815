package uploader

import (
	"net/http"

	"github.com/gocarina/gocsv"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/wire"
)

// sampleRow is one line of the sample file.
type sampleRow struct {
	Action     string `csv:"action"`
	CustomerID string `csv:"customerId"`
}

// sampleRows are the sample file's rows, in the spelling of the plan's key.
func sampleRows(k sweep.Key) []sampleRow {
	ids := []string{"1042", "1043", "20517"}
	switch k.Kind {
	case sweep.KeyUUID:
		ids = []string{k.Example(), "9b2e4c1a-0f3d-4b7e-8a6c-5d4e3f2a1b0c", "c7d8e9f0-1a2b-4c3d-9e4f-5a6b7c8d9e0f"}
	case sweep.KeyText:
		ids = []string{k.Example(), "CUST-1043", "CUST-20517"}
	}
	rows := make([]sampleRow, len(ids))
	for i, id := range ids {
		rows[i] = sampleRow{sweep.ActionRemove, id}
	}
	return rows
}

// keyWords say how customerId is written for the plan's key: the column's
// description and the rule on writing ids.
func keyWords(k sweep.Key) (column, rule string) {
	switch k.Kind {
	case sweep.KeyUUID:
		return "The customer's id, a UUID such as " + k.Example() + ". Capitals, braces and missing hyphens are fine.",
			"Write each id as the platform shows it: 32 hexadecimal digits, in groups of 8-4-4-4-12."
	case sweep.KeyText:
		return "The customer's id exactly as the platform writes it, such as " + k.Example() + ", without spaces around it; letter case counts.",
			"Write each id exactly as the platform shows it: CUST-1 and cust-1 are two customers."
	}
	return "The customer's id: a whole number greater than 0, digits only, such as 1042. Leading zeros are ignored (0123 is 123).",
		"Write ids in full: no decimal point, sign, spaces or scientific notation (1.2E+15). In a spreadsheet, format the id column as Text."
}

// planKey is how the plan reads a customer's key; a whole number when no
// plan can be read (the request answers as before, and the run says why).
func (s *Server) planKey(r *http.Request) sweep.Key {
	k, err := s.db.Key(r.Context())
	if err != nil {
		return sweep.Key{}
	}
	return k
}

// handleSample serves a sample file an operator can fill in.
func (s *Server) handleSample(w http.ResponseWriter, r *http.Request) {
	b, err := gocsv.MarshalBytes(sampleRows(s.planKey(r)))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="sweep-sample.csv"`)
	w.Write(b)
}

func (s *Server) handleInstructions(w http.ResponseWriter, r *http.Request) {
	column, rule := keyWords(s.planKey(r))
	writeJSON(w, http.StatusOK, wire.Instructions{
		Summary: "Upload a CSV file with a header line and one row per customer to delete. sweep checks every row, shows what to fix, and deletes only when you start the import. Loans are never deleted.",
		Columns: map[string]string{
			sweep.ColumnAction:     "Must be remove (any letter case).",
			sweep.ColumnCustomerID: column,
		},
		Rules: []string{
			"The first line is the header and names the columns action and customerId, in any order and letter case. Other columns are allowed and ignored.",
			"Save the file as CSV UTF-8 with commas between columns. A byte order mark and Windows line ends are fine.",
			"Blank lines are skipped.",
			rule,
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
