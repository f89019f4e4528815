package uploader

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/jobs"
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
	var body struct {
		RunAt       *time.Time `json:"run_at"`
		Parallelism int        `json:"parallelism"`
	}
	if r.ContentLength != 0 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&body); err != nil && !errors.Is(err, io.EOF) {
			s.writeError(w, r, sweep.Errorf(sweep.EINVALID, "The body must be JSON such as {\"run_at\": \"2026-12-01T02:00:00Z\", \"parallelism\": 2}: %v.", err))
			return
		}
	}
	if body.Parallelism < 0 || body.Parallelism > 16 {
		s.writeError(w, r, sweep.Errorf(sweep.EINVALID, "parallelism must be from 1 to 16; found %d.", body.Parallelism))
		return
	}
	imp, err := s.db.StartImport(r.Context(), principal(r).TenantID, id, body.RunAt, body.Parallelism)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.enqueueRun(r, imp); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "import queued", "import_id", imp.ID, "tenant_id", imp.TenantID, "parallelism", imp.Parallelism)
	writeJSON(w, http.StatusAccepted, toJSON(imp))
}

// enqueueRun queues the run tasks of a queued import.
func (s *Server) enqueueRun(r *http.Request, imp sweep.Import) error {
	tasks, err := jobs.StartTasks(imp)
	if err != nil {
		return err
	}
	for i, t := range tasks {
		info, err := s.queue.EnqueueContext(r.Context(), t)
		if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) && !errors.Is(err, asynq.ErrDuplicateTask) {
			s.log.ErrorContext(r.Context(), "enqueue run", "import_id", imp.ID, "tenant_id", imp.TenantID, "err", err)
			// The reconciler will find the queued import without a task.
			return sweep.Errorf(sweep.EUNAVAILABLE, "Import %d is queued, but its task could not be sent to the workers; it will be picked up automatically within a few minutes.", imp.ID)
		}
		if info != nil && i == 0 {
			s.db.SetTaskID(r.Context(), imp.TenantID, imp.ID, info.ID)
		}
	}
	return nil
}

func (s *Server) handleCancelImport(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p := principal(r)
	imp, err := s.db.CancelImport(r.Context(), p.TenantID, id, p.Name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "import cancel requested", "import_id", imp.ID, "tenant_id", imp.TenantID, "status", imp.Status)
	writeJSON(w, http.StatusAccepted, toJSON(imp))
}

// handleImportResults streams every row's outcome as CSV: line, customerId,
// outcome (deleted, skipped_already_deleted, skipped_linked_to_loan, pending,
// error) and detail.
func (s *Server) handleImportResults(w http.ResponseWriter, r *http.Request) {
	imp, ok := s.importFromPath(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="import-%d-results.csv"`, imp.ID))
	cw := csv.NewWriter(w)
	cw.Write([]string{"line", "customerId", "outcome", "detail"})
	err := s.db.EachOutcome(r.Context(), imp.TenantID, imp.ID, func(o store.Outcome) error {
		return writeEscaped(cw, []string{strconv.FormatInt(o.Line, 10), o.CustomerID, o.Outcome, o.Detail})
	})
	cw.Flush()
	if err != nil {
		s.log.ErrorContext(r.Context(), "write results", "import_id", imp.ID, "tenant_id", imp.TenantID, "err", err)
	}
}

// handleDeleteCustomer deletes one customer: 204, 404 when the tenant has no
// such customer, 409 with an instruction when a loan links it.
func (s *Server) handleDeleteCustomer(w http.ResponseWriter, r *http.Request) {
	s.deleteCustomer(w, r, r.PathValue("id"))
}

func (s *Server) deleteCustomer(w http.ResponseWriter, r *http.Request, raw string) {
	id, msg := sweep.ParseCustomerID(raw)
	if msg != "" {
		s.writeError(w, r, sweep.Errorf(sweep.ENOTFOUND, "Customer %q was not found: %s", raw, msg))
		return
	}
	p := principal(r)
	if err := s.db.DeleteCustomer(r.Context(), p.TenantID, id, p.TokenID); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "customer deleted", "tenant_id", p.TenantID, "token_id", p.TokenID)
	w.WriteHeader(http.StatusNoContent)
}

// odataCustomer matches the platform's own path for a customer, Customers(42)
// (an "L" suffix for a long literal is accepted too).
var odataCustomer = regexp.MustCompile(`^Customers\(([0-9]+)L?\)$`)

// handleODataDelete serves DELETE /api/public/api/1/odata.svc/Customers({id})
// as the platform does: the tenant comes from the Autopal-Instance-Id header
// and must be the token's.
func (s *Server) handleODataDelete(w http.ResponseWriter, r *http.Request) {
	m := odataCustomer.FindStringSubmatch(strings.TrimPrefix(r.URL.Path, odataPrefix))
	if m == nil {
		s.writeError(w, r, sweep.Errorf(sweep.ENOTFOUND, "Use DELETE %sCustomers(<id>) to delete a customer.", odataPrefix))
		return
	}
	inst := strings.TrimSpace(r.Header.Get("Autopal-Instance-Id"))
	tenant, err := strconv.ParseInt(inst, 10, 64)
	if err != nil || tenant <= 0 {
		s.writeError(w, r, sweep.Errorf(sweep.EINVALID, "Send the instance id in the Autopal-Instance-Id header, such as Autopal-Instance-Id: 5200243."))
		return
	}
	if tenant != principal(r).TenantID {
		s.writeError(w, r, sweep.Errorf(sweep.EFORBIDDEN, "The token does not belong to instance %d.", tenant))
		return
	}
	s.deleteCustomer(w, r, m[1])
}

const odataPrefix = "/api/public/api/1/odata.svc/"
