package uploader

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/store"
	"github.com/sweephq/sweep/wire"
)

const policyExample = `{"name": "nightly inactive", "kind": "inactive", "params": {"days": 730}, "cron_spec": "0 2 * * *", "max_batch": 10000, "dry_run": true}`

// decodePolicy applies the request body onto p. The body is one JSON object
// sent as application/json, read whole before anything is applied: a form
// (what curl -d sends without a Content-Type) or text is refused rather than
// read some other way, and so are unknown fields and bytes after the object.
func (s *Server) decodePolicy(w http.ResponseWriter, r *http.Request, p *sweep.CleanupPolicy) error {
	b, err := s.readPolicyBody(w, r)
	if err != nil {
		return err
	}
	return applyPolicy(b, p)
}

// readPolicyBody reads a create or update request's body (see decodePolicy).
func (s *Server) readPolicyBody(w http.ResponseWriter, r *http.Request) (wire.PolicyChange, error) {
	var b wire.PolicyChange
	if sent, err := s.readJSON(w, r, &b, 64<<10, policyExample); err != nil {
		return b, err
	} else if !sent {
		return b, sweep.Errorf(sweep.EINVALID, "The body is empty; send JSON such as %s.", policyExample)
	}
	return b, nil
}

// applyPolicy sets the members the request sent onto p.
func applyPolicy(b wire.PolicyChange, p *sweep.CleanupPolicy) error {
	if b.Name != nil {
		p.Name = *b.Name
	}
	if b.Kind != nil {
		p.Kind = *b.Kind
	}
	if b.Params != nil {
		var params sweep.CleanupParams
		if err := sweep.ExactMembers(*b.Params, &params); err != nil {
			return sweep.Errorf(sweep.EINVALID, "params must be an object with some of days, import_id and source (%s); nothing was changed.", err)
		}
		if err := json.Unmarshal(*b.Params, &params); err != nil {
			return sweep.Errorf(sweep.EINVALID, "params must be an object with some of days, import_id and source (%s); nothing was changed.", sweep.JSONProblem(err))
		}
		p.Params = params
	}
	if b.CronSpec != nil {
		p.CronSpec = *b.CronSpec
	}
	if b.MaxBatch != nil {
		p.MaxBatch = *b.MaxBatch
	}
	if b.Enabled != nil {
		p.Enabled = *b.Enabled
	}
	if b.DryRun != nil {
		p.DryRun = *b.DryRun
	}
	if b.RunWindow != nil {
		w, err := sweep.ParseWindow(*b.RunWindow)
		if err != nil {
			return err
		}
		p.RunWindow = w
	}
	return nil
}

func policyID(r *http.Request) (int64, error) {
	id, ok := sweep.ParsePathID(r.PathValue("id"))
	if !ok {
		return 0, sweep.Errorf(sweep.ENOTFOUND, "Cleanup policy %q was not found; policy ids are positive whole numbers.", r.PathValue("id"))
	}
	return id, nil
}

// loadPolicy returns the policy named in the path, of the caller's tenant.
func (s *Server) loadPolicy(r *http.Request) (sweep.CleanupPolicy, error) {
	id, err := policyID(r)
	if err != nil {
		return sweep.CleanupPolicy{}, err
	}
	return s.db.GetPolicy(r.Context(), principal(r).TenantID, id)
}

func (s *Server) handleListPolicies(w http.ResponseWriter, r *http.Request) {
	ps, err := s.db.ListPolicies(r.Context(), principal(r).TenantID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := wire.CleanupPolicyList{Policies: make([]wire.CleanupPolicy, len(ps)), Kinds: sweep.CleanupKinds}
	for i, p := range ps {
		out.Policies[i] = wire.FromCleanupPolicy(p)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleCreatePolicy(w http.ResponseWriter, r *http.Request) {
	p := sweep.CleanupPolicy{TenantID: principal(r).TenantID, MaxBatch: 10_000, Enabled: true}
	err := s.decodePolicy(w, r, &p)
	if err == nil {
		err = s.askApproval(r, sweep.CleanupPolicy{}, &p)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err = s.db.CreatePolicy(r.Context(), p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "cleanup policy created", "tenant_id", p.TenantID, "policy_id", p.ID, "kind", p.Kind)
	w.Header().Set("Location", fmt.Sprintf("/v1/cleanup-policies/%d", p.ID))
	writeJSON(w, http.StatusCreated, wire.FromCleanupPolicy(p))
}

func (s *Server) handleGetPolicy(w http.ResponseWriter, r *http.Request) {
	p, err := s.loadPolicy(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wire.FromCleanupPolicy(p))
}

// handleUpdatePolicy applies the members sent onto the policy as it is. Two
// changes at once never lose one: a policy changed between the read and the
// write is read again and the change applied anew (a few times), so a
// disable that raced a rename stays a disable.
func (s *Server) handleUpdatePolicy(w http.ResponseWriter, r *http.Request) {
	p, err := s.loadPolicy(r) // another tenant's policy is 404 before its body is read
	var b wire.PolicyChange
	if err == nil {
		b, err = s.readPolicyBody(w, r)
	}
	for attempt := 0; err == nil; attempt++ {
		p, err = s.loadPolicy(r)
		before := p
		if err == nil {
			err = applyPolicy(b, &p)
		}
		if err == nil {
			err = s.askApproval(r, before, &p)
		}
		if err == nil {
			p, err = s.db.UpdatePolicy(r.Context(), p)
		}
		if !errors.Is(err, store.ErrPolicyChanged) || attempt == 4 {
			break
		}
		err = nil
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "cleanup policy updated", "tenant_id", p.TenantID, "policy_id", p.ID, "enabled", p.Enabled)
	writeJSON(w, http.StatusOK, wire.FromCleanupPolicy(p))
}

func (s *Server) handleDeletePolicy(w http.ResponseWriter, r *http.Request) {
	id, err := policyID(r)
	if err == nil {
		err = s.db.DeletePolicy(r.Context(), principal(r).TenantID, id)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "cleanup policy deleted", "tenant_id", principal(r).TenantID, "policy_id", id)
	w.WriteHeader(http.StatusNoContent)
}

// handlePreviewPolicy counts and lists what the policy would delete if it ran
// now; running it with nothing changed in between deletes exactly that set.
func (s *Server) handlePreviewPolicy(w http.ResponseWriter, r *http.Request) {
	p, err := s.loadPolicy(r)
	if err == nil {
		_, err = s.readJSON(w, r, &struct{}{}, 4096, `{}`) // no body, or {}: like every step
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	limit, err := queryInt(r, "limit", 1000, 0, 100_000)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	pv, err := s.db.PreviewPolicy(r.Context(), p, int(limit))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ids := pv.CustomerIDs
	if ids == nil {
		ids = []int64{}
	}
	writeJSON(w, http.StatusOK, wire.PolicyPreview{Policy: wire.FromCleanupPolicy(p), Count: pv.Count, CustomerIDs: ids, CustomerKeys: pv.CustomerKeys, Truncated: pv.Truncated})
}

// handleRunPolicyNow makes the policy's batch now, whether or not it is
// enabled, and answers with its import: validated then run on the low queue,
// or left validated for review when the policy is a dry run.
func (s *Server) handleRunPolicyNow(w http.ResponseWriter, r *http.Request) {
	p, err := s.loadPolicy(r)
	if err == nil {
		_, err = s.readJSON(w, r, &struct{}{}, 4096, `{}`) // no body, or {}: like every step
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	pr := principal(r)
	imp, err := s.life.RunPolicyNow(r.Context(), p, sweep.Requester{Name: pr.Name, TokenID: pr.TokenID})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "cleanup policy run now", "tenant_id", p.TenantID, "policy_id", p.ID, "import_id", imp.ID)
	writeJSON(w, http.StatusAccepted, toJSON(r, imp))
}

// askApproval decides whether policy p, created (before is zero) or changed
// from before, must await approval: when its batch may delete more customers
// than the tenant's threshold and it is new, or its selection (kind, params)
// or batch size changed. Other changes keep its approval as it was.
func (s *Server) askApproval(r *http.Request, before sweep.CleanupPolicy, p *sweep.CleanupPolicy) error {
	changed := before.ID == 0 || before.Kind != p.Kind || before.Params != p.Params || before.MaxBatch != p.MaxBatch
	if !changed {
		return nil
	}
	pr := principal(r)
	p.SelectedBy = sweep.Requester{Name: pr.Name, TokenID: pr.TokenID}
	threshold, err := s.db.ApprovalThreshold(r.Context(), p.TenantID, s.life.ApprovalThreshold())
	if err != nil {
		return err
	}
	p.AwaitsApproval = sweep.NeedsApproval(int64(p.MaxBatch), threshold)
	if p.AwaitsApproval {
		p.Approval = &sweep.Approval{RequestedBy: pr.Name, RequestedByToken: pr.TokenID}
	}
	return nil
}

// handleApprovePolicy approves a cleanup policy's selection and batch size:
// another token than the one that asked, typing the batch size.
func (s *Server) handleApprovePolicy(w http.ResponseWriter, r *http.Request) {
	id, err := policyID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	const example = `{"confirm_max_batch": 200000, "revision": 3}`
	var body wire.PolicyApproval
	sent, err := s.readJSON(w, r, &body, 4096, example)
	if err == nil && (!sent || body.ConfirmMaxBatch == nil || body.Revision == nil) {
		err = sweep.Errorf(sweep.EINVALID, "To approve, send the policy's batch size and revision, as you read them: %s.", example)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	pr := principal(r)
	p, err := s.db.ApprovePolicy(r.Context(), pr.TenantID, id, sweep.ApprovalStep{By: pr.Name, ByToken: pr.TokenID, Confirm: *body.ConfirmMaxBatch, Revision: *body.Revision})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "cleanup policy approved", "tenant_id", p.TenantID, "policy_id", p.ID)
	writeJSON(w, http.StatusOK, wire.FromCleanupPolicy(p))
}
