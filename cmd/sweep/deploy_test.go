package main

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// definedMetrics finds every metric sweep defines: the first argument of a
// prometheus.NewCounter, NewGaugeVec, NewHistogram, NewDesc ... call in its
// non-test Go files, with the names of the labels its series carry (the
// variable labels and the constant ones). A histogram's _bucket (with le),
// _count and _sum series count as defined too.
func definedMetrics(t *testing.T, root string) map[string][]string {
	t.Helper()
	defined := map[string][]string{}
	fset := token.NewFileSet()
	str := func(e ast.Expr) string {
		if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			s, _ := strconv.Unquote(lit.Value)
			return s
		}
		return ""
	}
	strs := func(e ast.Expr) []string { // []string{"a", "b"}
		var out []string
		if cl, ok := e.(*ast.CompositeLit); ok {
			for _, el := range cl.Elts {
				if s := str(el); s != "" {
					out = append(out, s)
				}
			}
		}
		return out
	}
	keys := func(e ast.Expr) []string { // prometheus.Labels{"a": ..., "b": ...}
		var out []string
		if cl, ok := e.(*ast.CompositeLit); ok {
			for _, el := range cl.Elts {
				if kv, ok := el.(*ast.KeyValueExpr); ok {
					if s := str(kv.Key); s != "" {
						out = append(out, s)
					}
				}
			}
		}
		return out
	}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "prometheus" || !strings.HasPrefix(sel.Sel.Name, "New") {
				return true
			}
			var name string
			var labels []string
			if sel.Sel.Name == "NewDesc" && len(call.Args) == 4 {
				name = str(call.Args[0])
				labels = append(strs(call.Args[2]), keys(call.Args[3])...)
			} else if opts, ok := call.Args[0].(*ast.CompositeLit); ok {
				for _, el := range opts.Elts {
					kv, ok := el.(*ast.KeyValueExpr)
					if !ok {
						continue
					}
					switch k := kv.Key.(*ast.Ident); k.Name {
					case "Name":
						name = str(kv.Value)
					case "ConstLabels":
						labels = append(labels, keys(kv.Value)...)
					}
				}
				if len(call.Args) > 1 && strings.HasSuffix(sel.Sel.Name, "Vec") {
					labels = append(labels, strs(call.Args[1])...)
				}
			}
			if !strings.HasPrefix(name, "sweep_") {
				return true
			}
			defined[name] = labels
			if strings.Contains(sel.Sel.Name, "Histogram") {
				defined[name+"_bucket"] = append(slices.Clone(labels), "le")
				defined[name+"_count"] = labels
				defined[name+"_sum"] = labels
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return defined
}

// The alert rules and the Grafana dashboard in deploy/ use only metrics that
// sweep defines, and only labels those metrics carry, so a renamed metric or
// label cannot leave a silent alert or an empty panel behind.
func TestDeployFilesUseDefinedMetrics(t *testing.T) {
	root := filepath.Join("..", "..")
	defined := definedMetrics(t, root)
	for name, labels := range map[string][]string{
		"sweep_customers_deleted_total":       nil,
		"sweep_rows_processed_total":          {"outcome"},
		"sweep_imports":                       {"state"},
		"sweep_chunk_duration_seconds_bucket": {"le"},
	} {
		if got, ok := defined[name]; !ok || !slices.Equal(got, labels) {
			t.Fatalf("metric definitions found under %s: %s has labels %v (defined: %v), want %v", root, name, got, ok, labels)
		}
	}

	dash, err := os.ReadFile(filepath.Join(root, "deploy", "grafana", "sweep-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(dash, &d); err != nil || len(d.Panels) == 0 {
		t.Fatalf("dashboard: %v, %d panels", err, len(d.Panels))
	}
	exprs := map[string]string{} // where -> PromQL
	for _, p := range d.Panels {
		for i, tg := range p.Targets {
			exprs["dashboard panel "+strconv.Quote(p.Title)+" target "+strconv.Itoa(i)] = tg.Expr
		}
	}
	alerts, err := os.ReadFile(filepath.Join(root, "deploy", "prometheus", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	alert := ""
	for line := range strings.Lines(string(alerts)) {
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "- alert:"):
			alert = strings.TrimSpace(strings.TrimPrefix(trimmed, "- alert:"))
		case strings.HasPrefix(trimmed, "expr:"):
			exprs["alert "+alert] = strings.TrimSpace(strings.TrimPrefix(trimmed, "expr:"))
		case alert != "" && strings.HasPrefix(line, "          ") && !strings.Contains(trimmed, ":"):
			exprs["alert "+alert] += " " + trimmed // the lines of a block expr: |
		}
	}
	if len(exprs) < 20 {
		t.Fatalf("found %d expressions in the dashboard and the alerts; want every one", len(exprs))
	}

	metric := regexp.MustCompile(`\b(sweep_[a-z_]+)(\{[^}]*\})?`)
	matcher := regexp.MustCompile(`([a-z_]+)\s*(=~|!~|!=|=)`)
	grouping := regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
	for where, expr := range exprs {
		var usable []string // the labels of every sweep metric in the expression
		for _, m := range metric.FindAllStringSubmatch(expr, -1) {
			labels, ok := defined[m[1]]
			if !ok {
				t.Errorf("%s uses %s, which sweep does not define: %s", where, m[1], expr)
				continue
			}
			usable = append(usable, labels...)
			for _, l := range matcher.FindAllStringSubmatch(m[2], -1) {
				if !slices.Contains(labels, l[1]) {
					t.Errorf("%s selects %s{%s}, a label %s does not have (it has %v)", where, m[1], l[1], m[1], labels)
				}
			}
		}
		if !strings.Contains(expr, "sweep_") {
			continue // Go runtime and process figures
		}
		for _, g := range grouping.FindAllStringSubmatch(expr, -1) {
			for l := range strings.SplitSeq(g[1], ",") {
				if l = strings.TrimSpace(l); l != "" && !slices.Contains(usable, l) {
					t.Errorf("%s groups by %q, which none of its metrics carries: %s", where, l, expr)
				}
			}
		}
	}
}
