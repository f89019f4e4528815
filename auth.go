package sweep

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"slices"
	"strings"
)

// Scope is a permission carried by an API token.
type Scope string

// The scopes a token may hold.
const (
	ScopeImportsRead     Scope = "imports:read"
	ScopeImportsWrite    Scope = "imports:write"
	ScopeCustomersDelete Scope = "customers:delete"
	ScopeAdmin           Scope = "admin"
	// ScopeImportsApprove lets a token approve or reject another token's
	// deletion above the tenant's threshold.
	ScopeImportsApprove Scope = "imports:approve"
)

// Scopes lists every known scope.
var Scopes = []Scope{ScopeImportsRead, ScopeImportsWrite, ScopeImportsApprove, ScopeCustomersDelete, ScopeAdmin}

// ParseScopes parses a comma-separated list such as
// "imports:read,imports:write". Spaces around names are ignored, repeats are
// dropped, and the result is sorted. An unknown or empty list is an EINVALID error
// that lists the valid names.
func ParseScopes(s string) ([]Scope, error) {
	var out []Scope
	for part := range strings.SplitSeq(s, ",") {
		name := Scope(strings.ToLower(strings.TrimSpace(part)))
		if name == "" {
			continue
		}
		if !slices.Contains(Scopes, name) {
			return nil, Errorf(EINVALID, "unknown scope %q; valid scopes are %s.", part, scopeList())
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	if len(out) == 0 {
		return nil, Errorf(EINVALID, "at least one scope is required; valid scopes are %s.", scopeList())
	}
	slices.Sort(out)
	return out, nil
}

func scopeList() string {
	names := make([]string, len(Scopes))
	for i, s := range Scopes {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// HasScope reports whether granted contains want. The admin scope grants nothing
// else by itself: a token is given exactly what it needs.
func HasScope(granted []Scope, want Scope) bool {
	return slices.Contains(granted, want)
}

// TokenPrefix starts every token, so a leaked one is easy to recognise in a
// secret scanner.
const TokenPrefix = "swp_"

// NewToken returns a new random bearer token (256 bits of entropy). It is shown
// once; only HashToken(token) is stored.
func NewToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error on supported platforms
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// HashToken returns the SHA-256 of a token, the only form in which it is stored.
// A fast hash is right here: tokens are long random strings, not passwords.
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}
