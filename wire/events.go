package wire

import (
	"time"

	"github.com/sweephq/sweep"
)

// Events is an import's timeline (GET /v1/imports/{id}/events), oldest first.
type Events struct {
	ImportID int64   `json:"import_id"`
	Events   []Event `json:"events"`
}

// Event is one step of the timeline: its kind, who (a token's name, or
// "sweep"), when, the step in words, and its figures.
type Event struct {
	At     time.Time      `json:"at"`
	Kind   string         `json:"kind"`
	Actor  string         `json:"actor"`
	Text   string         `json:"text"`
	Detail map[string]any `json:"detail"`
}

// FromEvent returns the wire format of e.
func FromEvent(e sweep.Event) Event {
	return Event{At: e.At, Kind: e.Kind, Actor: e.Actor, Text: e.Text(), Detail: e.Detail}
}
