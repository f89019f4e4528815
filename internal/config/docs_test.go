package config

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// configDoc is the page whose tables list every variable the loader reads.
const configDoc = "../../docs/configuration.md"

var sweepVar = regexp.MustCompile(`^SWEEP_[A-Z0-9_]+$`)

// loaderVariables returns every SWEEP_* variable the loader reads: those
// Load asks its getenv for, and, so that a variable read only on some
// branch is not missed, every string literal of this package's code that is
// a whole SWEEP_* name.
func loaderVariables(t *testing.T) map[string]bool {
	t.Helper()
	vars := map[string]bool{}
	_, _ = Load(func(name string) string {
		if !sweepVar.MatchString(name) {
			t.Errorf("Load reads %q, which is not a SWEEP_* variable", name)
		}
		vars[name] = true
		return ""
	})
	if len(vars) == 0 {
		t.Fatal("Load read no variable")
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil && sweepVar.MatchString(s) {
					vars[s] = true
				}
			}
			return true
		})
	}
	return vars
}

// documentedVariables returns the SWEEP_* names in the first column of
// every table of the configuration page (code blocks aside).
func documentedVariables(t *testing.T, md string) map[string]bool {
	t.Helper()
	name := regexp.MustCompile("`(SWEEP_[A-Z0-9_]+)`")
	vars := map[string]bool{}
	in := false
	for l := range strings.SplitSeq(md, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "```") {
			in = !in
			continue
		}
		if in || !strings.HasPrefix(l, "|") {
			continue
		}
		first, _, _ := strings.Cut(strings.TrimPrefix(l, "|"), "|")
		for _, m := range name.FindAllStringSubmatch(first, -1) {
			if vars[m[1]] {
				t.Errorf("%s: %s has two rows", configDoc, m[1])
			}
			vars[m[1]] = true
		}
	}
	if len(vars) == 0 {
		t.Fatalf("%s has no table of variables", configDoc)
	}
	return vars
}

// docs/configuration.md lists every variable the loader reads, and only those.
func TestDocumentedConfigIsTheLoaders(t *testing.T) {
	md, err := os.ReadFile(configDoc)
	if err != nil {
		t.Fatal(err)
	}
	read, documented := loaderVariables(t), documentedVariables(t, string(md))
	var missing, extra []string
	for v := range read {
		if !documented[v] {
			missing = append(missing, v)
		}
	}
	for v := range documented {
		if !read[v] {
			extra = append(extra, v)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	for _, v := range missing {
		t.Errorf("%s: the loader reads %s, but no table row documents it (add its name, default and meaning)", configDoc, v)
	}
	for _, v := range extra {
		t.Errorf("%s documents %s in a table, but the loader does not read it (remove the row, or move it under \"Variables outside the loader\", which is not a table)", configDoc, v)
	}
}
