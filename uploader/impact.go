package uploader

import (
	"net/http"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/client"
)

// handleImportImpact answers an import's impact preview: the one kept since
// it validated, or, for an import validated before sweep kept them (or whose
// worker could not compute it), one computed now and kept. An import that
// has not passed validation is 409 with its state.
func (s *Server) handleImportImpact(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		tenant := principal(r).TenantID
		var m sweep.Impact
		m, err = s.db.Impact(r.Context(), tenant, id)
		if sweep.ErrorCode(err) == sweep.ENOTFOUND {
			// No impact kept: computing it tells a missing import (404) and
			// one in the wrong state (409) apart.
			m, err = s.db.ComputeImpact(r.Context(), tenant, id, s.maxRate)
		}
		if err == nil {
			writeJSON(w, http.StatusOK, client.FromImpact(m))
			return
		}
	}
	s.writeError(w, r, err)
}
