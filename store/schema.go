package store

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// DefaultSchema is the PostgreSQL schema that holds sweep's own tables,
// sequences, functions and triggers unless SWEEP_SCHEMA names another. The
// platform's tables stay where the platform keeps them.
const DefaultSchema = "sweep"

// schemaName is a plain lower-case SQL identifier: the same unquoted or
// quoted, so one spelling works in a search_path, a URL and a statement.
var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// CheckSchema says why name cannot be sweep's schema, or returns nil.
func CheckSchema(name string) error {
	if !schemaName.MatchString(name) {
		return fmt.Errorf("schema %q is not a plain lower-case SQL identifier: letters a to z, digits and _, not starting with a digit, at most 63 characters, such as %s", name, DefaultSchema)
	}
	if strings.HasPrefix(name, "pg_") {
		return fmt.Errorf("schema %q starts with pg_, which PostgreSQL keeps for its own schemas", name)
	}
	return nil
}

// WithSchema returns the postgres:// URL raw with search_path set to schema
// and then public, so that every session opened through it reads and creates
// sweep's objects in schema and finds the platform's tables in public. lib/pq
// sends a URL parameter it does not know itself, such as search_path, to the
// server as a run-time parameter of the session. A search_path the URL
// already sets (as a parameter or in options) is kept: the operator's URL wins.
func WithSchema(raw, schema string) (string, error) {
	if err := CheckSchema(schema); err != nil {
		return "", err
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("sweep's schema needs a postgres:// URL")
	}
	q := u.Query()
	if q.Get("search_path") != "" || strings.Contains(q.Get("options"), "search_path") {
		return raw, nil
	}
	path := schema + ",public"
	if schema == "public" {
		path = schema
	}
	q.Set("search_path", path)
	u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	return u.String(), nil
}
