package uploader

import (
	"context"
	"net/http"
	"strings"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/store"
)

type principalKey struct{}

// principal returns who the request acts for; only handlers wrapped by
// requireScope are called, so it is always set there.
func principal(r *http.Request) store.Principal {
	p, _ := r.Context().Value(principalKey{}).(store.Principal)
	return p
}

// requireScope authenticates the bearer token and checks that it carries scope
// before calling next. The token fixes the tenant for everything next does.
func (s *Server) requireScope(scope sweep.Scope, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearerToken(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sweep"`)
			s.writeError(w, r, sweep.Errorf(sweep.EUNAUTHORIZED,
				"Send an API token in the Authorization header (Authorization: Bearer <token>). An administrator creates one with: sweep token create."))
			return
		}
		p, err := s.db.Authenticate(r.Context(), token)
		if err != nil {
			if sweep.ErrorCode(err) == sweep.EUNAUTHORIZED {
				w.Header().Set("WWW-Authenticate", `Bearer realm="sweep", error="invalid_token"`)
			}
			s.writeError(w, r, err)
			return
		}
		if !sweep.HasScope(p.Scopes, scope) {
			s.writeError(w, r, sweep.Errorf(sweep.EFORBIDDEN,
				"This token does not have the %s scope. Ask an administrator for a token with it (sweep token create --scopes %s).", scope, scope))
			return
		}
		if err := s.checkRequestLine(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		s.inSlot(w, r, s.requestSlots, p.TenantID, "requests", func() {
			// The import's timeline names the token behind each step.
			ctx := store.WithActor(context.WithValue(r.Context(), principalKey{}, p), p.Name)
			next(w, r.WithContext(ctx))
		})
	}
}

func bearerToken(r *http.Request) (string, bool) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
