package uploader

import (
	"bytes"
	"encoding/json"
	"net/http"
	"unicode/utf8"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/store"
	"github.com/sweephq/sweep/wire"
)

// runSettingsBody holds the members of a request that set an import's run
// window and rows-per-second cap. A member left out keeps the setting; null
// (or "" for the window, 0 for the cap) removes it.
type runSettingsBody struct {
	RunWindow        json.RawMessage `json:"run_window"`
	MaxRowsPerSecond json.RawMessage `json:"max_rows_per_second"`
}

var jsonNull = []byte("null")

func (b runSettingsBody) settings() (sweep.RunSettings, error) {
	var out sweep.RunSettings
	if b.RunWindow != nil {
		var w sweep.Window
		if !bytes.Equal(b.RunWindow, jsonNull) {
			var str string
			if err := json.Unmarshal(b.RunWindow, &str); err != nil {
				return out, sweep.Errorf(sweep.EINVALID, `run_window must be a string such as "Mon-Fri 22:00-06:00 America/Denver", or null to run at any time.`)
			}
			var err error
			if w, err = sweep.ParseWindow(str); err != nil {
				return out, err
			}
		}
		out.RunWindow = &w
	}
	if b.MaxRowsPerSecond != nil {
		n := 0
		if !bytes.Equal(b.MaxRowsPerSecond, jsonNull) {
			if err := json.Unmarshal(b.MaxRowsPerSecond, &n); err != nil {
				return out, sweep.Errorf(sweep.EINVALID, "max_rows_per_second must be a whole number such as 5000, or 0 or null for no cap.")
			}
		}
		out.MaxRowsPerSecond = &n
	}
	return out, out.Check()
}

// handleChangeRun sets the run window or the rows-per-second cap of an
// import that has not ended; a running import follows them from its next
// time slice (within seconds).
func (s *Server) handleChangeRun(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	const example = `{"max_rows_per_second": 2000, "run_window": "Mon-Fri 22:00-06:00 America/Denver"}`
	var body runSettingsBody
	sent, err := s.readJSON(w, r, &body, 4096, example)
	if err == nil && (!sent || body.RunWindow == nil && body.MaxRowsPerSecond == nil) {
		err = sweep.Errorf(sweep.EINVALID, "Say what to change, such as %s (null removes a setting).", example)
	}
	var settings sweep.RunSettings
	if err == nil {
		settings, err = body.settings()
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	imp, err := s.life.ChangeRun(r.Context(), principal(r).TenantID, id, settings)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "import run changed", "import_id", imp.ID, "tenant_id", imp.TenantID,
		"run_window", imp.RunWindow.String(), "max_rows_per_second", imp.MaxRowsPerSecond)
	writeJSON(w, http.StatusOK, toJSON(r, imp))
}

// throttleStatus is the answer of /v1/throttle: what holds the tenant's runs
// now.
func (s *Server) throttleStatus(r *http.Request) (wire.Throttle, error) {
	tenant := principal(r).TenantID
	holds, err := s.db.RunHolds(r.Context(), tenant)
	if err != nil {
		return wire.Throttle{}, err
	}
	out := wire.Throttle{MaxRowsPerSecond: s.maxRate, Signals: []wire.Signal{}, ManualHolds: []wire.ManualHold{}}
	for _, h := range holds {
		out.ManualHolds = append(out.ManualHolds, wire.ManualHold{AllTenants: h.TenantID == store.AllTenants,
			Reason: h.Reason, HeldBy: h.HeldBy, Since: h.CreatedAt, Message: h.Message()})
		out.Held = true
	}
	if s.throttle != nil {
		for _, rd := range s.throttle.Readings(r.Context()) {
			out.Signals = append(out.Signals, wire.Signal{Signal: rd.Signal, Holding: rd.Holding, Message: rd.Message, ReadAt: rd.At})
			out.Held = out.Held || rd.Holding
		}
	}
	return out, nil
}

func (s *Server) handleThrottle(w http.ResponseWriter, r *http.Request) {
	st, err := s.throttleStatus(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// handleHoldRuns holds every run of the caller's tenant, like gh-ost's
// throttle: each stops after its chunk in flight and waits, holding no worker,
// until the hold is released. Holding again replaces the reason.
func (s *Server) handleHoldRuns(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Reason *string `json:"reason"`
	}
	const example = `{"reason": "month-end close"}`
	_, err := s.readJSON(w, r, &body, 4096, example)
	reason := ""
	if err == nil && body.Reason != nil {
		reason = *body.Reason
		if utf8.RuneCountInString(reason) > 200 || sweep.HasControl(reason) {
			err = sweep.Errorf(sweep.EINVALID, "reason must be at most 200 characters without control characters, such as %s.", example)
		}
	}
	if err == nil {
		_, err = s.db.SetRunHold(r.Context(), principal(r).TenantID, reason, principal(r).Name)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "runs held", "tenant_id", principal(r).TenantID, "by", principal(r).Name)
	s.handleThrottle(w, r)
}

// handleReleaseRuns ends the tenant's manual hold; a platform-wide hold (set
// from the command line) stays.
func (s *Server) handleReleaseRuns(w http.ResponseWriter, r *http.Request) {
	if _, err := s.db.ClearRunHold(r.Context(), principal(r).TenantID); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "runs released", "tenant_id", principal(r).TenantID, "by", principal(r).Name)
	s.handleThrottle(w, r)
}
