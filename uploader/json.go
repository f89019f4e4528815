package uploader

import (
	"fmt"
	"math"
	"time"

	"github.com/sweephq/sweep"
)

// importJSON is how the API shows an import.
type importJSON struct {
	ID            int64      `json:"id"`
	Status        string     `json:"status"`
	Source        string     `json:"source"`
	Policy        string     `json:"policy"`
	FileName      string     `json:"file_name"`
	FileSize      int64      `json:"file_size"`
	FileSHA256    string     `json:"file_sha256"`
	AutoStart     bool       `json:"auto_start"`
	RunAt         *time.Time `json:"run_at,omitempty"`
	Parallelism   int        `json:"parallelism"`
	CancelAsked   bool       `json:"cancel_requested,omitempty"`
	RowsLeft      int64      `json:"rows_left"`
	TotalRows     int64      `json:"total_rows"`
	ValidRows     int64      `json:"valid_rows"`
	ErrorRows     int64      `json:"error_rows"`
	ProcessedRows int64      `json:"processed_rows"`
	DeletedRows   int64      `json:"deleted_rows"`
	SkippedRows   int64      `json:"skipped_rows"`
	Percent       float64    `json:"percent"`
	RowsPerSecond float64    `json:"rows_per_second"`
	ETASeconds    *int64     `json:"eta_seconds,omitempty"`
	Error         string     `json:"error,omitempty"`
	CreatedBy     string     `json:"created_by"`
	CleanupPolicy int64      `json:"cleanup_policy_id,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	ValidatedAt   *time.Time `json:"validated_at,omitempty"`
	StartedAt     *time.Time `json:"started_at,omitempty"`
	FinishedAt    *time.Time `json:"finished_at,omitempty"`
	Actions       []string   `json:"actions"`
	Links         links      `json:"links"`
}

type links struct {
	Self    string `json:"self"`
	Errors  string `json:"errors"`
	Failed  string `json:"failed_rows_csv"`
	Results string `json:"results_csv"`
}

func toJSON(imp sweep.Import) importJSON {
	j := importJSON{
		ID: imp.ID, Status: string(imp.Status), Source: string(imp.Source), Policy: string(imp.Policy),
		FileName: imp.FileName, FileSize: imp.FileSize, FileSHA256: imp.FileSHA256,
		AutoStart: imp.AutoStart, RunAt: imp.RunAt, Parallelism: imp.Parallelism, CancelAsked: imp.CancelRequested,
		RowsLeft:  imp.ValidRows - imp.ProcessedRows,
		TotalRows: imp.TotalRows, ValidRows: imp.ValidRows, ErrorRows: imp.ErrorRows,
		ProcessedRows: imp.ProcessedRows, DeletedRows: imp.DeletedRows, SkippedRows: imp.SkippedRows,
		RowsPerSecond: math.Round(imp.RowsPerSecond), Error: imp.Error, CreatedBy: imp.CreatedBy,
		CleanupPolicy: imp.CleanupPolicyID, CreatedAt: imp.CreatedAt, UpdatedAt: imp.UpdatedAt, ValidatedAt: imp.ValidatedAt,
		StartedAt: imp.StartedAt, FinishedAt: imp.FinishedAt, Actions: imp.Actions(),
	}
	if imp.ValidRows > 0 {
		j.Percent = math.Round(1000*float64(imp.ProcessedRows)/float64(imp.ValidRows)) / 10
	}
	if imp.Status == sweep.StatusRunning && imp.RowsPerSecond > 0 {
		eta := int64(math.Ceil(float64(imp.ValidRows-imp.ProcessedRows) / imp.RowsPerSecond))
		j.ETASeconds = &eta
	}
	self := fmt.Sprintf("/v1/imports/%d", imp.ID)
	j.Links = links{Self: self, Errors: self + "/errors", Failed: self + "/errors?format=csv", Results: self + "/results"}
	return j
}
