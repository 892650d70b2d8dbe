package resolve

import (
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
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

// TestWalkFS is Walk and WalkNoFollow, the exported walker, over an
// fs.FS without inodes.
func TestWalkFS(t *testing.T) {
	fsys := fstest.MapFS{
		"usr/lib/x/f":  &fstest.MapFile{Data: []byte("x")},
		"lib":          &fstest.MapFile{Data: []byte("usr/lib"), Mode: fs.ModeSymlink},
		"abs":          &fstest.MapFile{Data: []byte("/lib/x"), Mode: fs.ModeSymlink},
		"up":           &fstest.MapFile{Data: []byte("../../../usr"), Mode: fs.ModeSymlink},
		"loop":         &fstest.MapFile{Data: []byte("loop"), Mode: fs.ModeSymlink},
		"empty":        &fstest.MapFile{Data: []byte(""), Mode: fs.ModeSymlink},
		"usr/lib/x/ln": &fstest.MapFile{Data: []byte("f"), Mode: fs.ModeSymlink},
	}
	r, err := New(fsys)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in, want string
		final    bool
		links    int
		err      string
	}{
		{in: "/lib/x/f", want: "/usr/lib/x/f", final: true, links: 1},
		{in: "/abs/f", want: "/usr/lib/x/f", final: true, links: 2},
		{in: "/up/lib/x/f", want: "/usr/lib/x/f", final: true, links: 1},
		{in: "/usr/lib/x/ln", want: "/usr/lib/x/f", final: true, links: 1},
		{in: "/usr/lib/x/ln", want: "/usr/lib/x/ln", final: false},
		{in: "/lib/x/new", want: "/usr/lib/x/new", final: false, links: 1},
		{in: "/lib/x/.", want: "/usr/lib/x", final: false, links: 1},
		{in: "/", want: "/", final: true},
		{in: "/loop", final: true, err: "/loop: " + errLoop.Error()},
		{in: "/nothing/here", final: true, err: "/nothing/here: file does not exist"},
		{in: "/nothing/here", final: false, err: "/nothing/here: file does not exist"},
		{in: "/empty", final: true, err: "/empty: file does not exist"},
		{in: "/usr/lib/x/f/..", final: true, err: "/usr/lib/x/f/..: " + errNotDir.Error()},
		{in: "/usr/lib/x/f/g", final: false, err: "/usr/lib/x/f/g: " + errNotDir.Error()},
		{in: "/" + strings.Repeat("a/", 3000) + "b", final: false, err: errTooLong.Error()},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%.40s follow=%v", tt.in, tt.final)
		t.Run(name, func(t *testing.T) {
			walk := r.WalkNoFollow
			if tt.final {
				walk = r.Walk
			}
			got, err := walk(tt.in)
			if tt.err != "" {
				if err == nil || !strings.HasSuffix(err.Error(), tt.err) {
					t.Fatalf("walk(%q) = %+v, %v; want error %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got.Real != tt.want || len(got.Links) != tt.links {
				t.Fatalf("walk(%q) = %+v, %v; want %q with %d links", tt.in, got, err, tt.want, tt.links)
			}
			if got.Info == nil && !strings.HasSuffix(tt.in, "/new") || got.Info != nil && strings.HasSuffix(tt.in, "/new") {
				t.Errorf("walk(%q).Info = %v", tt.in, got.Info)
			}
		})
	}
	t.Run("links are the caller's", func(t *testing.T) {
		a, _ := r.Walk("/abs/f")
		_ = append(a.Links[:1], Link{Path: "/clobbered"})
		b, _ := r.Walk("/abs/f")
		if b.Links[1].Path == "/clobbered" {
			t.Fatal("Walk returned the cached slice")
		}
	})
	t.Run("name", func(t *testing.T) {
		root, _ := r.Walk("/")
		f, _ := r.Walk("/lib/x/f")
		if root.Name() != "." || f.Name() != "usr/lib/x/f" {
			t.Fatalf("Name = %q, %q", root.Name(), f.Name())
		}
	})
}
