package main

import (
	"go/parser"
	"go/token"
	"slices"
	"strings"
	"testing"
)

const source = `package p

import "errors"

const q = ` + "`" + `SELECT id FROM imports
	WHERE tenant_id = $1 AND id > $2 AND (status = 'queued' OR status = 'paused')
	AND created_at BETWEEN $3 AND $4
	ORDER BY id` + "`" + `

func f(n int, ok bool, err error) error {
	if err != nil {
		return err
	}
	if ok && n <= 10 {
		return errors.New("x")
	}
	for i := 0; i < n-1; i++ {
	}
	return nil
}
`

// Every operator makes the mutant a reader expects, each mutant still
// parses, and the same source always gives the same list.
func TestGenerate(t *testing.T) {
	ms, err := generate("p.go", []byte(source))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.op+" "+m.String())
		if _, err := parser.ParseFile(token.NewFileSet(), "p.go", m.apply([]byte(source)), 0); err != nil {
			t.Errorf("%s does not parse: %v", m, err)
		}
	}
	want := []string{
		"sql-and p.go:6: WHERE tenant_id = $1 AND id > $2 AND (status = 'queued' OR status = 'paused') -> WHERE (tenant_id = $1 OR TRUE) AND id > $2 AND (status = 'queued' OR status = 'paused')",
		"sql-and p.go:6: WHERE tenant_id = $1 AND id > $2 AND (status = 'queued' OR status = 'paused') -> WHERE tenant_id = $1 AND (id > $2 OR TRUE) AND (status = 'queued' OR status = 'paused')",
		"sql-compare p.go:6: WHERE tenant_id = $1 AND id > $2 AND (status = 'queued' OR status = 'paused') -> WHERE tenant_id = $1 AND id >= $2 AND (status = 'queued' OR status = 'paused')",
		"sql-and p.go:6: WHERE tenant_id = $1 AND id > $2 AND (status = 'queued' OR status = 'paused') -> WHERE tenant_id = $1 AND id > $2 AND ((status = 'queued' OR status = 'paused') OR TRUE)",
		"sql-and p.go:7: AND created_at BETWEEN $3 AND $4 -> AND (created_at BETWEEN $3 AND $4 OR TRUE)",
		"comparison p.go:11: if err != nil { -> if err == nil {",
		"error-body p.go:11: if err != nil { ⏎ return err ⏎ } -> if err != nil {}",
		"negate p.go:14: if ok && n <= 10 { -> if !(ok && n <= 10) {",
		"and-or p.go:14: if ok && n <= 10 { -> if ok || n <= 10 {",
		"comparison p.go:14: if ok && n <= 10 { -> if ok && n < 10 {",
		"integer p.go:14: if ok && n <= 10 { -> if ok && n <= 11 {",
		"comparison p.go:17: for i := 0; i < n-1; i++ { -> for i := 0; i <= n-1; i++ {",
		"integer p.go:17: for i := 0; i < n-1; i++ { -> for i := 0; i < n-2; i++ {",
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("mutants:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	again, _ := generate("p.go", []byte(source))
	if !slices.EqualFunc(ms, again, func(a, b mutant) bool { return a == b }) {
		t.Error("a second generation differs from the first")
	}
}

func TestSample(t *testing.T) {
	ms := make([]mutant, 10)
	for i := range ms {
		ms[i].line = i
	}
	var lines []int
	for _, m := range sample(ms, 4) {
		lines = append(lines, m.line)
	}
	if want := []int{0, 2, 5, 7}; !slices.Equal(lines, want) {
		t.Errorf("sample(10, 4) took lines %v, want %v", lines, want)
	}
	if got := sample(ms, 0); len(got) != 10 {
		t.Errorf("sample(10, 0) kept %d, want all", len(got))
	}
}
