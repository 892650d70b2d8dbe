package lint

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestComplexity(t *testing.T) {
	tests := []struct {
		name, body string
		want       int
	}{
		{"straight", ``, 1},
		{"if else", `if a { } else if b { } else { }`, 3},
		{"for and range", `for { }; for range x { }`, 3},
		{"and or", `_ = a && b || c`, 3},
		{"switch default not counted", `switch { case a: case b, c: default: }`, 3},
		{"type switch", `switch x.(type) { case int: case string: default: }`, 3},
		{"select default not counted", `select { case <-ch: case ch <- 1: default: }`, 3},
		{"func literal counts in its function", `f := func() { if a { } }; f()`, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "package p\nfunc f() {\n" + tt.body + "\n}\n"
			file, err := parser.ParseFile(token.NewFileSet(), "p.go", src, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got := Complexity(file.Decls[0].(*ast.FuncDecl)); got != tt.want {
				t.Errorf("Complexity = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestOver checks what Over reads and how it names functions, on a tree
// made here.
func TestOver(t *testing.T) {
	root := t.TempDir()
	complex := strings.Repeat("if a {}\n", 3)
	files := map[string]string{
		"p/p.go":               "package p\nfunc f(a bool) {\n" + complex + "}\nfunc (T) m(a bool) {\n" + complex + "}\nfunc (*T) n(a bool) {\n" + complex + "}\nfunc (G[X]) g(a bool) {\n" + complex + "}\nfunc simple() {}\n",
		"p/p_test.go":          "package p\nfunc t(a bool) {\n" + complex + "}\n",
		"p/testdata/x/main.go": "package main\nfunc t(a bool) {\n" + complex + "}\n",
		".hidden/h.go":         "package h\nfunc t(a bool) {\n" + complex + "}\n",
	}
	for name, src := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Over(root, 3)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, f := range got {
		lines = append(lines, f.String())
	}
	want := "p/p.go:2 f 4\np/p.go:7 (T).m 4\np/p.go:12 (*T).n 4\np/p.go:17 (G).g 4"
	if s := strings.Join(lines, "\n"); s != want {
		t.Errorf("Over:\n%s\nwant:\n%s", s, want)
	}
}

// TestModuleComplexity fails for every function of the module, outside
// tests, above MaxComplexity.
func TestModuleComplexity(t *testing.T) {
	funcs, err := Over(filepath.Join("..", ".."), MaxComplexity)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range funcs {
		t.Errorf("%s: cyclomatic complexity above %d; split it into steps that each do one thing", f, MaxComplexity)
	}
}
