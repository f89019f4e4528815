package uploader

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/sweephq/sweep"
)

// handleApprove queues an import awaiting approval. The approver types the
// number of customers it deletes; the token that asked for the run may not
// approve it (403, saying who must).
func (s *Server) handleApprove(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	const example = `{"confirm_customers": 1000000}`
	var body struct {
		Confirm *int64 `json:"confirm_customers"`
	}
	sent, err := s.readJSON(w, r, &body, 4096, example)
	if err == nil && (!sent || body.Confirm == nil) {
		err = sweep.Errorf(sweep.EINVALID, "To approve, send the number of customers the import deletes, as you read it: %s.", example)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p := principal(r)
	imp, err := s.life.ApproveImport(r.Context(), p.TenantID, id, sweep.ApprovalStep{By: p.Name, ByToken: p.TokenID, Confirm: *body.Confirm})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "import approved", "import_id", imp.ID, "tenant_id", imp.TenantID, "valid_rows", imp.ValidRows)
	writeJSON(w, http.StatusAccepted, toJSON(r, imp))
}

// handleReject ends an import awaiting approval rejected, with a reason the
// requester reads; nothing is deleted.
func (s *Server) handleReject(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	const example = `{"reason": "the list includes active borrowers"}`
	var body struct {
		Reason *string `json:"reason"`
	}
	sent, err := s.readJSON(w, r, &body, 4096, example)
	switch {
	case err != nil:
	case !sent || body.Reason == nil || strings.TrimSpace(*body.Reason) == "":
		err = sweep.Errorf(sweep.EINVALID, "Say why you reject it, for the person who asked: %s.", example)
	case utf8.RuneCountInString(*body.Reason) > 500 || sweep.HasControl(*body.Reason):
		err = sweep.Errorf(sweep.EINVALID, "The reason must be at most 500 characters without control characters, such as %s.", example)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p := principal(r)
	imp, err := s.life.RejectImport(r.Context(), p.TenantID, id, sweep.ApprovalStep{By: p.Name, ByToken: p.TokenID, Reason: strings.TrimSpace(*body.Reason)})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "import rejected by its approver", "import_id", imp.ID, "tenant_id", imp.TenantID)
	writeJSON(w, http.StatusAccepted, toJSON(r, imp))
}
