package deb_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jailimg/jailimg/internal/debtest"
	"github.com/jailimg/jailimg/pkg/deb"
)

func open(t testing.TB, b []byte) (*deb.Archive, error) {
	t.Helper()
	return deb.Open(bytes.NewReader(b), int64(len(b)))
}

var goodData = []debtest.Entry{
	{Name: "./", Kind: "dir"},
	{Name: "./usr/", Kind: "dir"},
	{Name: "./usr/sbin/", Kind: "dir"},
	{Name: "./usr/sbin/hello", Kind: "file", Body: "ELF pretend", Mode: 0o4755},
	{Name: "./usr/lib/", Kind: "dir"},
	{Name: "./usr/lib/libhello.so.1.0", Kind: "file", Body: "lib"},
	{Name: "./usr/lib/libhello.so.1", Kind: "symlink", Body: "libhello.so.1.0"},
	{Name: "./usr/sbin/hello2", Kind: "link", Body: "./usr/sbin/hello"},
}

// TestExtract reads and extracts a package in each compression dpkg-deb
// writes: the control file, every entry, file contents and modes (setuid
// dropped), links; the maintainer script in control.tar is never written.
func TestExtract(t *testing.T) {
	for _, suffix := range []string{"", ".gz", ".xz", ".zst"} {
		t.Run("data.tar"+suffix, func(t *testing.T) {
			a, err := open(t, debtest.Deb(t, suffix, goodData...))
			if err != nil {
				t.Fatal(err)
			}
			control, err := a.Control()
			if err != nil || string(control) != debtest.Control {
				t.Fatalf("Control: %q, %v", control, err)
			}
			dir := t.TempDir()
			root, err := os.OpenRoot(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer root.Close()
			entries, err := a.Extract(context.Background(), root)
			if err != nil {
				t.Fatal(err)
			}
			var paths []string
			for _, e := range entries {
				paths = append(paths, e.Path)
			}
			want := "/usr /usr/sbin /usr/sbin/hello /usr/lib /usr/lib/libhello.so.1.0 /usr/lib/libhello.so.1 /usr/sbin/hello2"
			if got := strings.Join(paths, " "); got != want {
				t.Errorf("entries %s, want %s", got, want)
			}
			fi, err := os.Stat(filepath.Join(dir, "usr/sbin/hello"))
			if err != nil || fi.Mode() != 0o755 {
				t.Errorf("hello: %v %v, want -rwxr-xr-x (setuid dropped)", fi.Mode(), err)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "usr/sbin/hello2")); string(b) != "ELF pretend" {
				t.Errorf("hard link holds %q", b)
			}
			if l, _ := os.Readlink(filepath.Join(dir, "usr/lib/libhello.so.1")); l != "libhello.so.1.0" {
				t.Errorf("symlink to %q", l)
			}
			if _, err := os.Stat(filepath.Join(dir, "postinst")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the maintainer script was written: %v", err)
			}
		})
	}
}

// TestMalformed: archives that are not a .deb, or lie about their members,
// are refused with an error matching ErrInvalid that says what is wrong.
func TestMalformed(t *testing.T) {
	good := debtest.Deb(t, ".gz", goodData...)
	control := debtest.Compress(t, ".gz", debtest.Tar(t, debtest.Entry{Name: "./control", Kind: "file", Body: debtest.Control}))
	data := debtest.Compress(t, ".gz", debtest.Tar(t, goodData...))
	cases := []struct {
		name string
		deb  []byte
		want string
	}{
		{"empty", nil, "not an ar archive"},
		{"not ar", []byte("PK\x03\x04 a zip file"), "not an ar archive"},
		{"truncated", good[:len(good)-100], "declared"},
		{"header cut", good[:100], "ar header"},
		{"no members", []byte("!<arch>\n"), "want debian-binary"},
		{"format 3", debtest.Ar(debtest.Member{Name: "debian-binary", Data: []byte("3.0\n")}, debtest.Member{Name: "control.tar.gz", Data: control}, debtest.Member{Name: "data.tar.gz", Data: data}), "format"},
		{"data before control", debtest.Ar(debtest.Member{Name: "debian-binary", Data: []byte("2.0\n")}, debtest.Member{Name: "data.tar.gz", Data: data}, debtest.Member{Name: "control.tar.gz", Data: control}), "unexpected member"},
		{"no data", debtest.Ar(debtest.Member{Name: "debian-binary", Data: []byte("2.0\n")}, debtest.Member{Name: "control.tar.gz", Data: control}, debtest.Member{Name: "_gpgbuilder", Data: nil}), "unexpected member"},
		{"bzip2", debtest.Ar(debtest.Member{Name: "debian-binary", Data: []byte("2.0\n")}, debtest.Member{Name: "control.tar.gz", Data: control}, debtest.Member{Name: "data.tar.bz2", Data: data}), "unsupported compression"},
		{"slash in name", debtest.Ar(debtest.Member{Name: "debian-binary", Data: []byte("2.0\n")}, debtest.Member{Name: "control.tar.gz", Data: control}, debtest.Member{Name: "a/data.tar", Data: data}), "bad member name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := open(t, tc.deb)
			if !errors.Is(err, deb.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open: %v, want an ErrInvalid saying %q", err, tc.want)
			}
		})
	}
}

// TestHostileEntries: data.tar entries that would write outside the root
// (.., through a symlink, by a hard link) or create devices are refused,
// and nothing is written outside the root.
func TestHostileEntries(t *testing.T) {
	cases := []struct {
		name    string
		entries []debtest.Entry
		want    string
	}{
		{"dotdot", []debtest.Entry{{Name: "./../../escaped", Kind: "file", Body: "x"}}, "leaves the package's root"},
		{"absolute symlink dir", []debtest.Entry{{Name: "./lib", Kind: "symlink", Body: "/"}, {Name: "./lib/escaped", Kind: "file", Body: "x"}}, "escaped"},
		{"relative symlink dir", []debtest.Entry{{Name: "./lib", Kind: "symlink", Body: "../../.."}, {Name: "./lib/escaped", Kind: "file", Body: "x"}}, "escaped"},
		{"hard link out", []debtest.Entry{{Name: "./x", Kind: "link", Body: "../../etc/passwd"}}, "leaves the package's root"},
		{"device", []debtest.Entry{{Name: "./dev/null", Kind: "char"}}, "device"},
		{"file over file", []debtest.Entry{{Name: "./a", Kind: "file", Body: "1"}, {Name: "./a", Kind: "file", Body: "2"}}, "exists"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			top := t.TempDir()
			dir := filepath.Join(top, "a", "b", "root")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			a, err := open(t, debtest.Deb(t, "", tc.entries...))
			if err != nil {
				t.Fatal(err)
			}
			root, err := os.OpenRoot(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer root.Close()
			_, err = a.Extract(context.Background(), root)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Extract: %v, want an error saying %q", err, tc.want)
			}
			filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
				if strings.Contains(p, "escaped") && !strings.HasPrefix(p, dir+"/") {
					t.Errorf("%s written outside the root", p)
				}
				return nil
			})
		})
	}
}

// FuzzOpen reads arbitrary bytes as a .deb, its control file and its
// entries, and extracts it: errors are fine, panics and writes outside the
// root are not.
func FuzzOpen(f *testing.F) {
	for _, suffix := range []string{"", ".gz", ".xz", ".zst"} {
		f.Add(debtest.Deb(f, suffix, goodData...))
	}
	f.Add(debtest.Deb(f, "", debtest.Entry{Name: "./lib", Kind: "symlink", Body: "/"}, debtest.Entry{Name: "./lib/x", Kind: "file", Body: "x"}))
	// A few KiB of xz or zstd can hold gigabytes; the fuzzer would spend
	// its time writing them.
	defer deb.SetMaxDataSize(1 << 20)()
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := open(t, b)
		if err != nil {
			return
		}
		a.Control()
		a.Walk(context.Background(), func(e deb.Entry, r io.Reader) error {
			if !strings.HasPrefix(e.Path, "/") || strings.Contains(e.Path, "/../") {
				t.Fatalf("entry path %q", e.Path)
			}
			return nil
		})
		top := t.TempDir()
		dir := filepath.Join(top, "root")
		os.Mkdir(dir, 0o755)
		root, err := os.OpenRoot(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer root.Close()
		a.Extract(context.Background(), root)
		entries, _ := os.ReadDir(top)
		if len(entries) != 1 {
			t.Fatalf("extracting wrote beside the root: %v", entries)
		}
	})
}
