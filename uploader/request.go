package uploader

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/sweephq/sweep"
)

// checkRequestLine refuses, before a route's handler reads anything, a
// request whose path or query string may be spelled more than one way:
//
//   - a path wildcard ({id}) written with percent-escapes: /v1/imports/%31
//     is not import 1, it is no import (404), so that one id has one
//     spelling on every route;
//   - a query string that is malformed, that gives a parameter twice
//     (?limit=1&limit=2: which one counts?), gives one empty, or names one
//     the route does not take (?format=xml on a route without formats, a
//     typo such as ?limt=5): 400 naming the parameter. A route takes the
//     parameters listed for its pattern in queryParams, and no other.
func (s *Server) checkRequestLine(r *http.Request) error {
	if err := exactWildcards(r); err != nil {
		return err
	}
	return checkQuery(r, s.queryParams[r.Pattern])
}

// exactWildcards checks that every wildcard of the route's pattern is
// written in the path exactly as its value reads: no percent-escapes.
func exactWildcards(r *http.Request) error {
	_, pattern, _ := strings.Cut(r.Pattern, " ")
	if pattern == "" {
		pattern = r.Pattern
	}
	pattern = pattern[strings.IndexByte(pattern, '/')+1:] // no host
	raw := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	for i, seg := range strings.Split(pattern, "/") {
		if strings.Contains(seg, "{") && !strings.HasPrefix(seg, "{$}") && i < len(raw) && strings.Contains(raw[i], "%") {
			return sweep.Errorf(sweep.ENOTFOUND, "There is nothing at %q: write ids in a path as plain digits, such as 42, without percent-escapes.",
				sweep.SafeValue(r.URL.EscapedPath()))
		}
	}
	return nil
}

// checkQuery checks r's query string against the parameters its route
// takes.
func checkQuery(r *http.Request, takes []string) error {
	if r.URL.RawQuery == "" {
		return nil
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return sweep.Errorf(sweep.EINVALID, "The query string is malformed (%s); write it as name=value pairs joined by &.", sweep.SafeValue(err.Error()))
	}
	for _, name := range slices.Sorted(maps.Keys(q)) {
		switch {
		case !slices.Contains(takes, name) && len(takes) == 0:
			return sweep.Errorf(sweep.EINVALID, "This route takes no query parameter; found %q. Leave the query string out.", sweep.SafeValue(name)).For(name)
		case !slices.Contains(takes, name):
			return sweep.Errorf(sweep.EINVALID, "%q is not a query parameter of this route; it takes %s.", sweep.SafeValue(name), strings.Join(takes, ", ")).For(name)
		case len(q[name]) > 1:
			return sweep.Errorf(sweep.EINVALID, "The query parameter %s is given %d times; give it once.", name, len(q[name])).For(name)
		case q[name][0] == "":
			return sweep.Errorf(sweep.EINVALID, "The query parameter %s is empty; give it a value or leave it out.", name).For(name)
		}
	}
	return nil
}
