package uploader

import (
	"embed"
	"io/fs"
	"net/http"

	"github.com/sweephq/sweep/wire"
)

//go:embed web
var webFiles embed.FS

// webHandler serves the Import screen: index.html at / and its script and
// style under /assets/, all embedded, with headers that keep the page to its
// own origin (no external assets, no framing).
func webHandler() (index, assets http.Handler) {
	sub, _ := fs.Sub(webFiles, "web")
	secure := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.Header().Set("Referrer-Policy", "no-referrer")
			w.Header().Set("Cache-Control", "no-cache")
			h.ServeHTTP(w, r)
		})
	}
	files := http.FileServerFS(sub)
	index = secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, sub, "index.html")
	}))
	assets = secure(http.StripPrefix("/assets", files))
	return index, assets
}

// handleMe tells the page who the token belongs to.
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	scopes := make([]string, len(p.Scopes))
	for i, sc := range p.Scopes {
		scopes[i] = string(sc)
	}
	writeJSON(w, http.StatusOK, wire.Me{TenantID: p.TenantID, TokenID: p.TokenID, TokenName: p.Name, Scopes: scopes})
}
