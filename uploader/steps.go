package uploader

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/store"
)

// handleStartImport queues a validated import to run: now, or at run_at (from
// the body or the upload), with parallelism tasks.
func (s *Server) handleStartImport(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// Pointers and raw members tell a member left out from one sent as null
	// or 0.
	var body struct {
		RunAt       json.RawMessage `json:"run_at"`
		Parallelism *int            `json:"parallelism"`
		runSettingsBody
	}
	if _, err := s.readJSON(w, r, &body, 4096, `{"run_at": "2026-12-01T02:00:00Z", "parallelism": 2}`); err != nil {
		s.writeError(w, r, err)
		return
	}
	var runAt *time.Time
	if body.RunAt != nil {
		var v any
		if err = json.Unmarshal(body.RunAt, &v); err == nil {
			var str string
			if str, err = jsonOption("run_at", v); err == nil {
				runAt, err = parseRunAt(str, time.Now())
			}
		}
	}
	parallelism := 0
	if err == nil && body.Parallelism != nil {
		if parallelism = *body.Parallelism; parallelism < 1 || parallelism > 16 {
			err = sweep.Errorf(sweep.EINVALID, "parallelism must be from 1 to 16; found %d.", parallelism)
		}
	}
	var settings sweep.RunSettings
	if err == nil {
		settings, err = body.settings()
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p := principal(r)
	imp, err := s.life.StartImport(r.Context(), p.TenantID, id, sweep.StartOptions{RunAt: runAt, Parallelism: parallelism, RunSettings: settings,
		By: sweep.Requester{Name: p.Name, TokenID: p.TokenID}})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "import queued", "import_id", imp.ID, "tenant_id", imp.TenantID, "parallelism", imp.Parallelism)
	writeJSON(w, http.StatusAccepted, toJSON(r, imp))
}

// importStep answers a step that takes nothing but the import's id (validate,
// pause, resume, cancel): do performs it for the caller's tenant, and the
// answer is the import after it, 202. Like every step it reads its body
// first: none, or the JSON object {} (it takes no options); anything else
// is refused and nothing is done.
func (s *Server) importStep(name string, do func(ctx context.Context, p store.Principal, id int64) (sweep.Import, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err == nil {
			_, err = s.readJSON(w, r, &struct{}{}, 4096, `{}`)
		}
		if err == nil {
			var imp sweep.Import
			if imp, err = do(r.Context(), principal(r), id); err == nil {
				s.log.InfoContext(r.Context(), "import "+name, "import_id", imp.ID, "tenant_id", imp.TenantID, "status", imp.Status)
				writeJSON(w, http.StatusAccepted, toJSON(r, imp))
				return
			}
		}
		s.writeError(w, r, err)
	}
}

func (s *Server) validateImport(ctx context.Context, p store.Principal, id int64) (sweep.Import, error) {
	return s.life.RequestValidation(ctx, p.TenantID, id)
}

func (s *Server) cancelImport(ctx context.Context, p store.Principal, id int64) (sweep.Import, error) {
	return s.life.CancelImport(ctx, p.TenantID, id, p.Name)
}

// pauseImport stops a queued or running import after its chunk in flight;
// resumeImport queues it again.
func (s *Server) pauseImport(ctx context.Context, p store.Principal, id int64) (sweep.Import, error) {
	return s.life.PauseImport(ctx, p.TenantID, id, p.Name)
}

func (s *Server) resumeImport(ctx context.Context, p store.Principal, id int64) (sweep.Import, error) {
	return s.life.ResumeImport(ctx, p.TenantID, id)
}

// handleImportResults streams every row's outcome as CSV: line, customerId,
// outcome (deleted, skipped_already_deleted, skipped_linked_to_loan, pending,
// error) and detail.
func (s *Server) handleImportResults(w http.ResponseWriter, r *http.Request) {
	imp, ok := s.importFromPath(w, r)
	if !ok {
		return
	}
	s.sendCSV(w, r, fmt.Sprintf("import-%d-results.csv", imp.ID), func(cw *csv.Writer) error {
		cw.Write([]string{"line", "customerId", "outcome", "detail"})
		return s.db.EachOutcome(r.Context(), imp.TenantID, imp.ID, func(o store.Outcome) error {
			return writeEscaped(cw, []string{strconv.FormatInt(o.Line, 10), o.CustomerID, o.Outcome, o.Detail})
		})
	})
}
