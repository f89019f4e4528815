package uploader

import (
	_ "embed"
	"net/http"
	"slices"
)

// openAPIDocument is the OpenAPI 3.0 description of the HTTP API, written by
// hand and kept true by the contract tests: every route registered here is in
// it and every path in it is registered, and the API tests check each request
// they make, and each answer, against it.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPI returns the OpenAPI 3.0 document of the API (JSON), the one GET
// /openapi.json serves.
func OpenAPI() []byte { return slices.Clone(openAPIDocument) }

// handleOpenAPI serves the document; it takes no token, so a client can be
// generated from a running sweep.
func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(openAPIDocument)
}

// routeMux is the server's ServeMux, remembering the pattern of every route
// registered on it, so that a test can hold the routes against the document.
type routeMux struct {
	*http.ServeMux
	patterns []string
}

func newRouteMux() *routeMux { return &routeMux{ServeMux: http.NewServeMux()} }

// Handle registers handler for pattern.
func (m *routeMux) Handle(pattern string, handler http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, handler)
}

// HandleFunc registers handler for pattern.
func (m *routeMux) HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request)) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.HandleFunc(pattern, handler)
}

// Routes returns the patterns of every route the server answers, in the order
// they were registered ("GET /v1/imports/{id}", "/v1/").
func (s *Server) Routes() []string { return slices.Clone(s.mux.patterns) }
