package uploader

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
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
	// Pointers tell a member left out from one sent as null or 0.
	var body struct {
		RunAt       *string `json:"run_at"`
		Parallelism *int    `json:"parallelism"`
	}
	if _, err := s.readJSON(w, r, &body, 4096, `{"run_at": "2026-12-01T02:00:00Z", "parallelism": 2}`); err != nil {
		s.writeError(w, r, err)
		return
	}
	var runAt *time.Time
	if body.RunAt != nil {
		if *body.RunAt == "" {
			err = sweep.Errorf(sweep.EINVALID, "run_at is empty; send a time such as \"2026-12-01T02:00:00Z\", or leave it out to start now.")
		} else {
			runAt, err = parseRunAt(*body.RunAt, time.Now())
		}
	}
	parallelism := 0
	if err == nil && body.Parallelism != nil {
		if parallelism = *body.Parallelism; parallelism < 1 || parallelism > 16 {
			err = sweep.Errorf(sweep.EINVALID, "parallelism must be from 1 to 16; found %d.", parallelism)
		}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	imp, err := s.life.StartImport(r.Context(), principal(r).TenantID, id, sweep.StartOptions{RunAt: runAt, Parallelism: parallelism})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "import queued", "import_id", imp.ID, "tenant_id", imp.TenantID, "parallelism", imp.Parallelism)
	writeJSON(w, http.StatusAccepted, toJSON(imp))
}

func (s *Server) handleCancelImport(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p := principal(r)
	imp, err := s.life.CancelImport(r.Context(), p.TenantID, id, p.Name)
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
	s.sendCSV(w, r, fmt.Sprintf("import-%d-results.csv", imp.ID), func(cw *csv.Writer) error {
		cw.Write([]string{"line", "customerId", "outcome", "detail"})
		return s.db.EachOutcome(r.Context(), imp.TenantID, imp.ID, func(o store.Outcome) error {
			return writeEscaped(cw, []string{strconv.FormatInt(o.Line, 10), o.CustomerID, o.Outcome, o.Detail})
		})
	})
}

// handleDeleteCustomer deletes one customer: 204, 404 when the tenant has no
// such customer, 409 with an instruction when a loan links it.
func (s *Server) handleDeleteCustomer(w http.ResponseWriter, r *http.Request) {
	s.deleteCustomer(w, r, r.PathValue("id"))
}

func (s *Server) deleteCustomer(w http.ResponseWriter, r *http.Request, raw string) {
	id, ok := sweep.ParsePathID(raw)
	if !ok {
		s.writeError(w, r, sweep.Errorf(sweep.ENOTFOUND, "Customer %q was not found: customer ids in a path are written as digits without a sign, spaces or leading zeros, such as 1042.", sweep.SafeValue(raw)))
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
