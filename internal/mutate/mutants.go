package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// A mutant is one small change to one file: the bytes [start, end) of the
// original replaced by repl.
type mutant struct {
	file     string // slash path relative to the module root
	line     int    // line of the change in the original file
	op       string // the operator that made it, for the summary
	start    int
	end      int
	repl     string
	original string // the original line, trimmed
	mutated  string // the same line with the change, trimmed
}

// apply returns src with the mutant's change made.
func (m mutant) apply(src []byte) []byte {
	out := make([]byte, 0, len(src)+len(m.repl))
	out = append(out, src[:m.start]...)
	out = append(out, m.repl...)
	return append(out, src[m.end:]...)
}

func (m mutant) String() string {
	return fmt.Sprintf("%s:%d: %s -> %s", m.file, m.line, m.original, m.mutated)
}

// Operators, each named as in the summary.
const (
	opCompare = "comparison"  // < <= > >= == != shifted or flipped
	opLogic   = "and-or"      // && and || swapped
	opNegate  = "negate"      // an if or for condition negated
	opErrBody = "error-body"  // the body of if err != nil { ... return } dropped
	opInt     = "integer"     // an integer operand of + - or a comparison, plus one
	opSQLAnd  = "sql-and"     // one condition of a WHERE or an AND made TRUE
	opSQLCmp  = "sql-compare" // < <= > >= in SQL shifted
)

var compareSwap = map[token.Token]string{
	token.LSS: "<=", token.LEQ: "<",
	token.GTR: ">=", token.GEQ: ">",
	token.EQL: "!=", token.NEQ: "==",
}

// generate returns every mutant of one file, in the order of their position:
// the same source always gives the same list.
func generate(file string, src []byte) ([]mutant, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	tf := fset.File(f.Pos())
	off := func(p token.Pos) int { return tf.Offset(p) }
	var ms []mutant
	add := func(op string, start, end int, repl string) {
		ms = append(ms, newMutant(file, src, op, start, end, repl))
	}

	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GenDecl:
			if n.Tok == token.IMPORT {
				return false
			}
		case *ast.BinaryExpr:
			p := off(n.OpPos)
			if s, ok := compareSwap[n.Op]; ok {
				add(opCompare, p, p+len(n.Op.String()), s)
			}
			switch n.Op {
			case token.LAND:
				add(opLogic, p, p+2, "||")
			case token.LOR:
				add(opLogic, p, p+2, "&&")
			}
			if _, cmp := compareSwap[n.Op]; cmp || n.Op == token.ADD || n.Op == token.SUB {
				for _, e := range []ast.Expr{n.X, n.Y} {
					if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.INT {
						if v, err := strconv.ParseInt(lit.Value, 0, 64); err == nil {
							add(opInt, off(lit.Pos()), off(lit.End()), strconv.FormatInt(v+1, 10))
						}
					}
				}
			}
		case *ast.IfStmt:
			negate(src, n.Cond, off, add)
			if isErrCheck(n.Cond) && endsInReturn(n.Body) && n.Else == nil {
				add(opErrBody, off(n.Body.Lbrace)+1, off(n.Body.Rbrace), "")
			}
		case *ast.ForStmt:
			if n.Cond != nil {
				negate(src, n.Cond, off, add)
			}
		case *ast.BasicLit:
			if n.Kind == token.STRING {
				ms = append(ms, sqlMutants(file, src, off(n.Pos()), n.Value)...)
			}
		}
		return true
	})
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].start < ms[j].start })
	return ms, nil
}

// negate adds the negation of a condition that is not a plain comparison
// (those are flipped by the comparison operator already).
func negate(src []byte, cond ast.Expr, off func(token.Pos) int, add func(op string, start, end int, repl string)) {
	if be, ok := cond.(*ast.BinaryExpr); ok {
		if _, cmp := compareSwap[be.Op]; cmp {
			return
		}
	}
	if u, ok := cond.(*ast.UnaryExpr); ok && u.Op == token.NOT {
		add(opNegate, off(u.OpPos), off(u.OpPos)+1, "")
		return
	}
	start, end := off(cond.Pos()), off(cond.End())
	add(opNegate, start, end, "!("+string(src[start:end])+")")
}

// isErrCheck reports whether cond is err != nil (for any name ending in err
// or Err).
func isErrCheck(cond ast.Expr) bool {
	be, ok := cond.(*ast.BinaryExpr)
	if !ok || be.Op != token.NEQ {
		return false
	}
	id, ok := be.X.(*ast.Ident)
	nilID, ok2 := be.Y.(*ast.Ident)
	return ok && ok2 && nilID.Name == "nil" && (strings.HasSuffix(id.Name, "err") || strings.HasSuffix(id.Name, "Err"))
}

func endsInReturn(b *ast.BlockStmt) bool {
	if len(b.List) == 0 {
		return false
	}
	_, ok := b.List[len(b.List)-1].(*ast.ReturnStmt)
	return ok
}

// newMutant fills in the line and its text before and after the change.
func newMutant(file string, src []byte, op string, start, end int, repl string) mutant {
	m := mutant{file: file, op: op, start: start, end: end, repl: repl}
	m.line = 1 + strings.Count(string(src[:start]), "\n")
	m.original, m.mutated = spanText(src, start, end, repl)
	return m
}

// spanText gives the lines from start to end, joined by " ⏎ ", before and
// after the change.
func spanText(src []byte, start, end int, repl string) (string, string) {
	ls := strings.LastIndexByte(string(src[:start]), '\n') + 1
	le := strings.IndexByte(string(src[end:]), '\n')
	if le < 0 {
		le = len(src)
	} else {
		le += end
	}
	join := func(s string) string {
		var parts []string
		for _, l := range strings.Split(s, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				parts = append(parts, l)
			}
		}
		if len(parts) == 0 {
			return "(nothing)"
		}
		return strings.Join(parts, " ⏎ ")
	}
	return join(string(src[ls:le])), join(string(src[ls:start]) + repl + string(src[end:le]))
}

var (
	sqlWord     = regexp.MustCompile(`\b(SELECT|UPDATE|INSERT|DELETE|WHERE)\b`)
	sqlAnd      = regexp.MustCompile(`\s(WHERE|AND)\s`)
	sqlCompare  = regexp.MustCompile(` (<=|>=|<|>) `)
	sqlStopWord = regexp.MustCompile(`^\s(AND|OR|ORDER BY|GROUP BY|LIMIT|RETURNING|FOR|ON CONFLICT|UNION|HAVING|THEN|ELSE|END|WHEN|SET|FROM)\b`)
	sqlLastWord = regexp.MustCompile(`\b(WHERE|AND|OR|ON|WHEN|BETWEEN)\b`)
)

// sqlMutants mutates a string literal that holds SQL, conservatively: each
// condition after WHERE or AND made (cond OR TRUE) in turn (up to the next AND, OR or clause, outside
// parentheses and quotes; never the AND of a BETWEEN), and each < <= > >=
// written between spaces shifted.
func sqlMutants(file string, src []byte, litStart int, lit string) []mutant {
	if !sqlWord.MatchString(lit) {
		return nil
	}
	var ms []mutant
	for _, loc := range sqlAnd.FindAllStringIndex(lit, -1) {
		before := lit[:loc[0]]
		if w := sqlLastWord.FindAllString(before, -1); len(w) > 0 && w[len(w)-1] == "BETWEEN" {
			continue
		}
		end, ok := clauseEnd(lit, loc[1])
		if !ok {
			continue
		}
		// The condition stays, made true: its parameters keep their types.
		ms = append(ms, newMutant(file, src, opSQLAnd, litStart+loc[1], litStart+end, "("+lit[loc[1]:end]+" OR TRUE)"))
	}
	for _, loc := range sqlCompare.FindAllStringSubmatchIndex(lit, -1) {
		op := lit[loc[2]:loc[3]]
		repl := map[string]string{"<": "<=", "<=": "<", ">": ">=", ">=": ">"}[op]
		ms = append(ms, newMutant(file, src, opSQLCmp, litStart+loc[2], litStart+loc[3], repl))
	}
	return ms
}

// clauseEnd finds where the condition starting at i ends: before the next
// AND, OR or clause keyword at the same depth, before the parenthesis that
// closes the enclosing one, or at the end of the literal. It refuses a
// condition with quotes it cannot follow.
func clauseEnd(lit string, i int) (int, bool) {
	depth := 0
	inQuote, between := false, false
	last := len(lit) - 1 // the closing quote or backquote
	for j := i; j < last; j++ {
		c := lit[j]
		switch {
		case !inQuote && depth == 0 && strings.HasPrefix(lit[j:], " BETWEEN "):
			between = true
		case !inQuote && depth == 0 && between && strings.HasPrefix(lit[j:], " AND "):
			between = false // the AND of BETWEEN x AND y
			j += len(" AND") - 1
		case c == '\'':
			inQuote = !inQuote
		case inQuote:
		case c == '(':
			depth++
		case c == ')':
			if depth == 0 {
				return trimEnd(lit, i, j), true
			}
			depth--
		case c == ';' && depth == 0:
			return trimEnd(lit, i, j), true
		case c == '"' && lit[0] == '"':
			return 0, false
		case (c == ' ' || c == '\n' || c == '\t') && depth == 0 && sqlStopWord.MatchString(lit[j:]):
			return trimEnd(lit, i, j), true
		}
	}
	if inQuote || depth != 0 {
		return 0, false
	}
	return trimEnd(lit, i, last), true
}

// trimEnd leaves the white space before end in place.
func trimEnd(lit string, start, end int) int {
	for end > start && strings.ContainsRune(" \t\n", rune(lit[end-1])) {
		end--
	}
	return end
}
