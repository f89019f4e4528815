package uploader

import (
	"net/http"

	"github.com/sweephq/sweep/wire"
)

// handleImportEvents answers the import's timeline: every step with who and
// when, oldest first.
func (s *Server) handleImportEvents(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	events, err := s.db.ImportEvents(r.Context(), principal(r).TenantID, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := wire.Events{ImportID: id, Events: make([]wire.Event, len(events))}
	for i, e := range events {
		out.Events[i] = wire.FromEvent(e)
	}
	writeJSON(w, http.StatusOK, out)
}
