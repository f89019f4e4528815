package sweep_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/google/go-cmp/cmp"
	"github.com/sweephq/sweep"
)

// The documentation is README.md and the pages under docs/.
func docFiles(t *testing.T) []string {
	t.Helper()
	pages, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) == 0 {
		t.Fatal("no pages under docs/")
	}
	return append([]string{"README.md"}, pages...)
}

// withoutCode returns md with its fenced code blocks blanked out, line for line.
func withoutCode(md string) string {
	lines := strings.Split(md, "\n")
	in := false
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			in = !in
			lines[i] = ""
			continue
		}
		if in {
			lines[i] = ""
		}
	}
	return strings.Join(lines, "\n")
}

// anchors returns the fragment of every heading of md, as GitHub makes
// them: lower case, spaces to hyphens, other punctuation dropped, and a
// repeated heading numbered.
func anchors(md string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	for l := range strings.SplitSeq(withoutCode(md), "\n") {
		if !strings.HasPrefix(l, "#") {
			continue
		}
		h := strings.TrimSpace(strings.TrimLeft(l, "#"))
		var b strings.Builder
		for _, r := range strings.ToLower(h) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		a := b.String()
		if n := seen[a]; n > 0 {
			out[a+"-"+strconv.Itoa(n)] = true
		} else {
			out[a] = true
		}
		seen[a]++
	}
	return out
}

var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// Every relative link of the documentation points at a file of the
// repository, and a link into a page at one of its headings.
func TestDocLinksResolve(t *testing.T) {
	for _, file := range docFiles(t) {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range mdLink.FindAllStringSubmatch(withoutCode(string(src)), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, frag, _ := strings.Cut(target, "#")
			dest := file
			if path != "" {
				dest = filepath.Join(filepath.Dir(file), path)
				if _, err := os.Stat(dest); err != nil {
					t.Errorf("%s: the link %s points at %s, which does not exist", file, target, dest)
					continue
				}
			}
			if frag == "" {
				continue
			}
			if !strings.HasSuffix(dest, ".md") {
				t.Errorf("%s: the link %s has a fragment into a file that is not a page", file, target)
				continue
			}
			page, err := os.ReadFile(dest)
			if err != nil {
				t.Fatal(err)
			}
			if !anchors(string(page))[frag] {
				t.Errorf("%s: the link %s names no heading of %s", file, target, dest)
			}
		}
	}
}

// The table of edges in docs/design.md is the state table of status.go.
func TestStateEdgesInTheDocsAreTheTable(t *testing.T) {
	src, err := os.ReadFile("docs/design.md")
	if err != nil {
		t.Fatal(err)
	}
	const heading = "## The states of an import"
	text := withoutCode(string(src))
	i := strings.Index(text, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("docs/design.md has no section %q", heading)
	}
	section := text[i+len(heading)+2:]
	if j := strings.Index(section, "\n## "); j >= 0 {
		section = section[:j]
	}
	code := regexp.MustCompile("`([a-z_]+)`")
	documented := map[sweep.Status][]sweep.Status{}
	rows := 0
	for l := range strings.SplitSeq(section, "\n") {
		cells := strings.Split(strings.Trim(strings.TrimSpace(l), "|"), "|")
		if !strings.HasPrefix(strings.TrimSpace(l), "|") || len(cells) != 2 {
			continue
		}
		froms := code.FindAllStringSubmatch(cells[0], -1)
		if len(froms) == 0 {
			continue // the header and its rule
		}
		rows++
		var tos []sweep.Status
		for _, m := range code.FindAllStringSubmatch(cells[1], -1) {
			tos = append(tos, sweep.Status(m[1]))
		}
		for _, m := range froms {
			from := sweep.Status(m[1])
			if !from.Valid() {
				t.Errorf("docs/design.md names a state %q that status.go lacks", from)
			}
			if _, dup := documented[from]; dup {
				t.Errorf("docs/design.md lists the edges from %s twice", from)
			}
			documented[from] = tos
		}
	}
	if rows == 0 {
		t.Fatalf("docs/design.md has no table of edges under %q", heading)
	}
	for _, s := range sweep.Statuses {
		got, ok := documented[s]
		if !ok {
			t.Errorf("docs/design.md does not say where %s may move", s)
			continue
		}
		want := s.Next()
		slices.Sort(want)
		slices.Sort(got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("docs/design.md: the edges from %s differ from status.go (-status.go +docs):\n%s", s, diff)
		}
	}
}

// Every test docs/testing.md names (or, for a name ending in *, some test
// whose name starts so) is a function of a _test.go file of the module.
func TestDocsNameOnlyExistingTests(t *testing.T) {
	src, err := os.ReadFile("docs/testing.md")
	if err != nil {
		t.Fatal(err)
	}
	named := regexp.MustCompile("`((?:Test|Example|Fuzz|Benchmark)[A-Za-z0-9_]*\\*?)`").FindAllStringSubmatch(string(src), -1)
	if len(named) < 100 {
		t.Fatalf("docs/testing.md names %d tests; its table of claims names far more", len(named))
	}
	funcs := map[string]bool{}
	decl := regexp.MustCompile(`(?m)^func ((?:Test|Example|Fuzz|Benchmark)[A-Za-z0-9_]*)\(`)
	err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && path != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range decl.FindAllStringSubmatch(string(b), -1) {
			funcs[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range named {
		name := m[1]
		if prefix, ok := strings.CutSuffix(name, "*"); ok {
			found := false
			for f := range funcs {
				if strings.HasPrefix(f, prefix) {
					found = true
					break
				}
			}
			if !found {
				t.Errorf("docs/testing.md names %s, but no test starts with %s", name, prefix)
			}
			continue
		}
		if !funcs[name] {
			t.Errorf("docs/testing.md names %s, which is no test of this module", name)
		}
	}
}
