package tree

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
)

func paths(t *Tree) string {
	var out []string
	for _, e := range t.Walk() {
		out = append(out, e.Path)
	}
	return strings.Join(out, " ")
}

func TestAddCreatesParentsAndWalksInOrder(t *testing.T) {
	tr := New()
	for _, p := range []string{"/a-b", "/a/b/c", "/a/b", "/lib", "/a/z"} {
		if err := tr.Add(Entry{Path: p, Type: Dir, Mode: 0o700, Source: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := paths(tr), "/ /a /a/b /a/b/c /a/z /a-b /lib"; got != want {
		t.Errorf("Walk = %q, want %q", got, want)
	}
	if e, _ := tr.Get("/a"); e.Mode != 0o755 {
		t.Errorf("implicit parent mode = %v, want 0755", e.Mode)
	}
	if e, _ := tr.Get("/a/b"); e.Mode != 0o700 {
		t.Errorf("explicit dir did not replace the implicit one: mode %v", e.Mode)
	}
}

func TestAddDuplicates(t *testing.T) {
	file := Entry{Path: "/etc/passwd", Type: Reg, Mode: 0o644, ID: FileID{1, 2}, Source: "files[0]"}
	for _, tc := range []struct {
		name   string
		second Entry
		ok     bool
	}{
		{"same host file", file, true},
		{"other host file", Entry{Path: "/etc/passwd", Type: Reg, Mode: 0o644, ID: FileID{1, 3}, Source: "files[1]"}, false},
		{"other mode", Entry{Path: "/etc/passwd", Type: Reg, Mode: 0o600, ID: FileID{1, 2}, Source: "files[1]"}, false},
		{"generated file", Entry{Path: "/etc/passwd", Type: Reg, Mode: 0o644, Source: "users"}, false},
		{"symlink", Entry{Path: "/etc/passwd", Type: Symlink, Target: "x", Source: "symlinks[0]"}, false},
		{"file under a file", Entry{Path: "/etc/passwd/x", Type: Reg, Source: "files[2]"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := New()
			if err := tr.Add(file); err != nil {
				t.Fatal(err)
			}
			err := tr.Add(tc.second)
			if tc.ok != (err == nil) {
				t.Fatalf("Add = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && (!errors.Is(err, ErrDuplicate) || !strings.Contains(err.Error(), "files[0]")) {
				t.Errorf("error %q does not wrap ErrDuplicate or name the first source", err)
			}
		})
	}
}

func TestAddRejectsUncleanPaths(t *testing.T) {
	for _, p := range []string{"etc", "/etc/../x", "/etc/", ""} {
		if err := New().Add(Entry{Path: p, Type: Dir}); err == nil {
			t.Errorf("Add(%q): no error", p)
		}
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		e    Entry
		bad  bool
	}{
		{"plain file", Entry{Type: Reg, Mode: 0o755}, false},
		{"setuid", Entry{Type: Reg, Mode: 0o755 | fs.ModeSetuid}, true},
		{"setgid dir", Entry{Type: Dir, Mode: 0o755 | fs.ModeSetgid}, true},
		{"world-writable file", Entry{Type: Reg, Mode: 0o666}, true},
		{"world-writable dir", Entry{Type: Dir, Mode: 0o777}, true},
		{"tmp", Entry{Type: Dir, Mode: 0o777 | fs.ModeSticky}, false},
		{"dev null", Entry{Type: CharDev, Mode: 0o666, Major: 1, Minor: 3}, false},
		{"symlink", Entry{Type: Symlink, Mode: 0o777, Target: "x"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := New()
			tc.e.Path, tc.e.Source = "/x", "test"
			if err := tr.Add(tc.e); err != nil {
				t.Fatal(err)
			}
			err := tr.Check()
			if tc.bad != (err != nil) {
				t.Fatalf("Check = %v, want bad=%v", err, tc.bad)
			}
			if err != nil && (!errors.Is(err, ErrUnsafeMode) || !strings.Contains(err.Error(), "/x")) {
				t.Errorf("error %q does not name the path or wrap ErrUnsafeMode", err)
			}
		})
	}
}
