package uploader

import (
	"net/http"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/wire"
)

// handleImportImpact answers an import's impact preview: the one kept since
// it validated, counted again when the import's run is still to be decided
// (validated, awaiting approval) and the kept one is older than
// sweep.ImpactFreshFor, so whoever starts or approves it reads figures at
// most that old, with computed_at saying when they were counted. An import
// validated before sweep kept impacts (or whose worker could not compute
// it) gets one computed now and kept. An import that has not passed
// validation is 409 with its state.
func (s *Server) handleImportImpact(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		var m sweep.Impact
		m, err = s.db.RefreshImpact(r.Context(), principal(r).TenantID, id, s.maxRate, sweep.ImpactFreshFor)
		if err == nil {
			writeJSON(w, http.StatusOK, wire.FromImpact(m))
			return
		}
	}
	s.writeError(w, r, err)
}
