package lint

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
)

// MaxComplexity is the highest cyclomatic complexity a function may have.
const MaxComplexity = 20

// Func is a function and its cyclomatic complexity.
type Func struct {
	Pos        token.Position // Filename relative to the root given to Over
	Name       string         // "f", or "(T).m" and "(*T).m" for methods
	Complexity int
}

// String returns "file:line name complexity".
func (f Func) String() string {
	return fmt.Sprintf("%s:%d %s %d", f.Pos.Filename, f.Pos.Line, f.Name, f.Complexity)
}

// Complexity returns the cyclomatic complexity of fn.
func Complexity(fn *ast.FuncDecl) int {
	c := 1
	ast.Inspect(fn, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.IfStmt, *ast.ForStmt, *ast.RangeStmt:
			c++
		case *ast.CaseClause:
			if n.List != nil { // not default
				c++
			}
		case *ast.CommClause:
			if n.Comm != nil { // not default
				c++
			}
		case *ast.BinaryExpr:
			if n.Op == token.LAND || n.Op == token.LOR {
				c++
			}
		}
		return true
	})
	return c
}

// Over returns the functions above max in the Go files below root, but
// for _test.go files and the testdata, vendor and hidden directories Go
// ignores too, sorted by file and line.
func Over(root string, max int) ([]Func, error) {
	var out []Func
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && skipDir(d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		out = append(out, over(fset, root, f, max)...)
		return nil
	})
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Pos, out[j].Pos
		return a.Filename < b.Filename || a.Filename == b.Filename && a.Line < b.Line
	})
	return out, err
}

// skipDir reports whether go build ignores a directory of this name.
func skipDir(name string) bool {
	return name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")
}

// over returns the functions of f above max.
func over(fset *token.FileSet, root string, f *ast.File, max int) []Func {
	var out []Func
	for _, decl := range f.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok {
			continue
		}
		if c := Complexity(fn); c > max {
			pos := fset.Position(fn.Pos())
			if rel, err := filepath.Rel(root, pos.Filename); err == nil {
				pos.Filename = rel
			}
			out = append(out, Func{Pos: pos, Name: funcName(fn), Complexity: c})
		}
	}
	return out
}

// funcName names fn as gocyclo does: "f", "(T).m" or "(*T).m".
func funcName(fn *ast.FuncDecl) string {
	if fn.Recv == nil || len(fn.Recv.List) == 0 {
		return fn.Name.Name
	}
	return "(" + typeName(fn.Recv.List[0].Type) + ")." + fn.Name.Name
}

// typeName writes a receiver type: T, *T, T[P].
func typeName(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.StarExpr:
		return "*" + typeName(t.X)
	case *ast.IndexExpr:
		return typeName(t.X)
	case *ast.IndexListExpr:
		return typeName(t.X)
	case *ast.Ident:
		return t.Name
	}
	return fmt.Sprintf("%T", e)
}
