package resolve

import (
	"debug/elf"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestWalk(t *testing.T) {
	root := mkTree(t, tree{
		"/usr/lib/f":   "x",
		"/lib":         link("usr/lib"),
		"/abs":         link("/usr/lib/f"),
		"/up":          link("../../../../usr/lib/f"),
		"/loop1":       link("loop2"),
		"/loop2":       link("loop1"),
		"/dotdot":      link("lib/../lib/f"), // ".." after a symlink is physical: /usr/lib/.. is /usr
		"/usr/x/y":     dir{},
		"/escape":      link("/proc/self/root/etc/passwd"),
		"/usr/lib/dir": dir{},
	})
	r, err := New(os.DirFS(root))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path, real string
		links      []Link
		err        string
	}{
		{path: "/lib/f", real: "/usr/lib/f", links: []Link{{"/lib", "usr/lib"}}},
		{path: "/abs", real: "/usr/lib/f", links: []Link{{"/abs", "/usr/lib/f"}}},
		{path: "/up", real: "/usr/lib/f", links: []Link{{"/up", "../../../../usr/lib/f"}}},
		{path: "/../../lib/f", real: "/usr/lib/f", links: []Link{{"/lib", "usr/lib"}}},
		{path: "/lib/../lib/f", real: "/usr/lib/f", links: []Link{{"/lib", "usr/lib"}}},
		{path: "/lib/../x/y", real: "/usr/x/y", links: []Link{{"/lib", "usr/lib"}}}, // lexically /x/y
		{path: "/dotdot", real: "/usr/lib/f", links: []Link{{"/dotdot", "lib/../lib/f"}, {"/lib", "usr/lib"}}},
		{path: "/loop1", err: errLoop.Error()},
		{path: "/usr/lib/f/g", err: errNotDir.Error()},
		{path: "/escape", err: "no such file"},
		{path: "/" + strings.Repeat("a/", 3000), err: errTooLong.Error()},
	}
	for _, tc := range tests {
		t.Run(tc.path[:min(len(tc.path), 40)], func(t *testing.T) {
			w := r.walk(tc.path)
			if tc.err != "" {
				if w.err == nil || !strings.Contains(w.err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", w.err, tc.err)
				}
				return
			}
			if w.err != nil || w.real != tc.real || !slices.Equal(w.links, tc.links) {
				t.Fatalf("walk = %q %q %v, want %q %q", w.real, w.links, w.err, tc.real, tc.links)
			}
		})
	}
}

// TestOpenDetectsSwap replaces a vetted file before it is read: the
// resolver refuses it instead of reading whatever is there now.
func TestOpenDetectsSwap(t *testing.T) {
	root := mkTree(t, tree{"/usr/bin/app": elfSpec{static: true, typ: elf.ET_EXEC}, "/other": elfSpec{static: true, typ: elf.ET_EXEC}})
	r, err := New(os.DirFS(root))
	if err != nil {
		t.Fatal(err)
	}
	w := r.walk("/usr/bin/app")
	if w.err != nil {
		t.Fatal(w.err)
	}
	if err := os.Rename(filepath.Join(root, "other"), filepath.Join(root, "usr/bin/app")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.object(w); err == nil || !strings.Contains(err.Error(), "changed while being resolved") {
		t.Fatalf("object after swap: %v", err)
	}
	if errors.Is(err, ErrNotELF) {
		t.Fatal("swap reported as not ELF")
	}
}
