package jobs_test

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// upstreamPage is the documentation page of upstream systems, and
// upstreamSection the heading of its section that shows the Go program.
const (
	upstreamPage    = "docs/upstream.md"
	upstreamSection = "## Go services: package jobs"
)

// The Go program of docs/upstream.md (under "## Go services: package jobs") is
// ExampleClient_DeleteCustomers, which `go test` runs against a real worker
// and checks the output of: its func main has the example's body, line for
// line, and it imports exactly the packages that body uses. So a developer
// who copies the documented program runs code that is known to work.
func TestReadmeUpstreamProgramIsTheExample(t *testing.T) {
	page, err := os.ReadFile("../" + upstreamPage)
	if err != nil {
		t.Fatal(err)
	}
	src, err := goBlockOfSection(string(page), upstreamSection)
	if err != nil {
		t.Fatal(err)
	}
	if formatted, err := format.Source([]byte(src)); err != nil {
		t.Fatalf("%s: the Go program under %q does not parse: %v", upstreamPage, upstreamSection, err)
	} else if string(formatted) != src {
		t.Errorf("%s: the Go program under %q is not gofmt-formatted; gofmt gives:\n%s", upstreamPage, upstreamSection, formatted)
	}
	fset := token.NewFileSet()
	prog, err := parser.ParseFile(fset, upstreamPage, src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	if prog.Name.Name != "main" {
		t.Errorf("%s: the upstream program is package %s; want main, a program a developer can run", upstreamPage, prog.Name.Name)
	}
	var mainFunc *ast.FuncDecl
	for _, d := range prog.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Name.Name != "main" || d.Recv != nil {
				t.Errorf("%s: the upstream program declares func %s; want func main only", upstreamPage, d.Name.Name)
				continue
			}
			mainFunc = d
		case *ast.GenDecl:
			if d.Tok != token.IMPORT {
				t.Errorf("%s: the upstream program declares a %s; want imports and func main only", upstreamPage, d.Tok)
			}
		}
	}
	if mainFunc == nil {
		t.Fatalf("%s: the upstream program has no func main", upstreamPage)
	}

	exampleSrc, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	exFile, err := parser.ParseFile(fset, "example_test.go", exampleSrc, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	var example *ast.FuncDecl
	for _, d := range exFile.Decls {
		if f, ok := d.(*ast.FuncDecl); ok && f.Name.Name == "ExampleClient_DeleteCustomers" {
			example = f
		}
	}
	if example == nil {
		t.Fatal("example_test.go has no ExampleClient_DeleteCustomers")
	}

	want := bodyLines(fset, exampleSrc, example.Body)
	if i := slices.Index(want, "// Output:"); i >= 0 {
		want = want[:i] // the output check is the test's, not the program's
	} else {
		t.Error("ExampleClient_DeleteCustomers has no // Output: line, so go test never runs it")
	}
	if diff := cmp.Diff(want, bodyLines(fset, []byte(src), mainFunc.Body)); diff != "" {
		t.Errorf("%s: the upstream program (func main) and ExampleClient_DeleteCustomers in jobs/example_test.go differ; make them the same code (-example +docs):\n%s", upstreamPage, diff)
	}
	if diff := cmp.Diff(importsUsed(exFile, example.Body), importPaths(prog)); diff != "" {
		t.Errorf("%s: the upstream program should import exactly the packages ExampleClient_DeleteCustomers uses (-used +imported):\n%s", upstreamPage, diff)
	}
}

// goBlockOfSection returns the first ```go block of the markdown section
// whose heading line is heading.
func goBlockOfSection(md, heading string) (string, error) {
	lines := strings.SplitAfter(md, "\n")
	start := slices.IndexFunc(lines, func(l string) bool { return strings.TrimSpace(l) == heading })
	if start < 0 {
		return "", fmt.Errorf("%s has no section %q", upstreamPage, heading)
	}
	var block strings.Builder
	in := false
	for _, l := range lines[start+1:] {
		switch {
		case !in && strings.HasPrefix(l, "## "):
			return "", fmt.Errorf("%s has no ```go block in section %q", upstreamPage, heading)
		case !in && strings.TrimSpace(l) == "```go":
			in = true
		case in && strings.TrimSpace(l) == "```":
			return block.String(), nil
		case in:
			block.WriteString(l)
		}
	}
	return "", fmt.Errorf("%s has an unterminated ```go block in section %q", upstreamPage, heading)
}

// bodyLines returns the lines between a function body's braces, each trimmed
// of surrounding white space, without blank lines.
func bodyLines(fset *token.FileSet, src []byte, body *ast.BlockStmt) []string {
	from, to := fset.Position(body.Lbrace).Offset+1, fset.Position(body.Rbrace).Offset
	var out []string
	for l := range bytes.Lines(src[from:to]) {
		if s := strings.TrimSpace(string(l)); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// importsUsed returns the paths of f's imports that body refers to, sorted.
func importsUsed(f *ast.File, body *ast.BlockStmt) []string {
	byName := map[string]string{}
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		name := path.Base(p)
		if imp.Name != nil {
			name = imp.Name.Name
		}
		byName[name] = p
	}
	used := map[string]bool{}
	ast.Inspect(body, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok && byName[id.Name] != "" {
				used[byName[id.Name]] = true
			}
		}
		return true
	})
	var out []string
	for p := range used {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// importPaths returns the paths f imports, sorted.
func importPaths(f *ast.File) []string {
	var out []string
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}
