package sysroot_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jailimg/jailimg/internal/debtest"
	"github.com/jailimg/jailimg/pkg/lock"
	"github.com/jailimg/jailimg/pkg/sysroot"
)

// pkgDeb is a generated package: its control file and data entries.
type pkgDeb struct {
	name, version string
	entries       []debtest.Entry
}

// seed writes the packages' .deb files into a new cache, as a download
// would have, and returns the cache and their lock.
func seed(t *testing.T, pkgs ...pkgDeb) (*sysroot.Cache, *lock.Lock) {
	t.Helper()
	c, err := sysroot.Open(filepath.Join(t.TempDir(), "cache"))
	if err != nil {
		t.Fatal(err)
	}
	l := &lock.Lock{Format: lock.Format, Architecture: "amd64"}
	for _, p := range pkgs {
		control := fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: amd64\nMulti-Arch: same\nDescription: test\n", p.name, p.version)
		b := debtest.DebWith(t, ".xz", control, p.entries...)
		sum := sha256.Sum256(b)
		hexSum := hex.EncodeToString(sum[:])
		if err := os.WriteFile(filepath.Join(c.Dir(), "debs", hexSum+".deb"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		l.Requests = append(l.Requests, p.name)
		l.Packages = append(l.Packages, lock.Package{Name: p.name, Version: p.version, Architecture: "amd64", SHA256: hexSum,
			Size: int64(len(b)), URL: "http://archive.example/" + p.name + ".deb", Suite: "Test test/main"})
	}
	return c, l
}

var (
	libfoo = pkgDeb{"libfoo1", "1.0-1", []debtest.Entry{
		{Name: "./usr/", Kind: "dir"}, {Name: "./usr/lib/", Kind: "dir"},
		{Name: "./usr/lib/libfoo.so.1", Kind: "file", Body: "lib"},
	}}
	foo = pkgDeb{"foo", "2.0-1", []debtest.Entry{
		{Name: "./usr/", Kind: "dir"}, {Name: "./usr/bin/", Kind: "dir"},
		{Name: "./usr/bin/foo", Kind: "file", Body: "bin", Mode: 0o4755},
		{Name: "./usr/bin/foo-link", Kind: "symlink", Body: "foo"},
	}}
)

// TestRoot extracts two packages into one root: their files, which
// package ships each, their status paragraphs; the second call finds the
// root in the cache; no maintainer script ran.
func TestRoot(t *testing.T) {
	c, l := seed(t, libfoo, foo)
	ctx := context.Background()
	if err := c.Fetch(ctx, l, true); err != nil {
		t.Fatalf("Fetch with every .deb cached: %v", err)
	}
	r, err := c.Root(ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(r.Dir(), "usr/bin/foo")); err != nil || string(b) != "bin" {
		t.Errorf("usr/bin/foo: %q %v", b, err)
	}
	if fi, _ := os.Stat(filepath.Join(r.Dir(), "usr/bin/foo")); fi.Mode()&os.ModeSetuid != 0 {
		t.Errorf("setuid kept: %v", fi.Mode())
	}
	if got := r.Owner("/usr/lib/libfoo.so.1") + " " + r.Owner("/usr/bin/foo-link") + " " + r.Owner("/usr"); got != "libfoo1 foo " {
		t.Errorf("owners %q", got)
	}
	owners, err := r.Owners([]string{"/usr/bin/foo", "/usr/lib/libfoo.so.1", "/etc/passwd"})
	if err != nil || len(owners) != 2 || owners["/usr/bin/foo"].Version != "2.0-1" ||
		!strings.Contains(owners["/usr/lib/libfoo.so.1"].Paragraph, "Status: install ok installed\n") {
		t.Errorf("Owners: %+v %v", owners, err)
	}
	declared, err := r.Declared()
	if err != nil || len(declared) != 2 || declared[0].Name != "libfoo1" {
		t.Errorf("Declared: %+v %v, want the lock's requests", declared, err)
	}
	if _, err := os.Stat("/tmp/pwned"); err == nil {
		t.Errorf("a maintainer script ran")
	}
	again, err := c.Root(ctx, l)
	if err != nil || again.Dir() != r.Dir() {
		t.Errorf("second Root: %v %v, want %s from the cache", again, err, r.Dir())
	}
	entries, _ := os.ReadDir(filepath.Join(c.Dir(), "roots"))
	if len(entries) != 1 {
		t.Errorf("roots: %v, want one root and no staging left", entries)
	}
}

// TestRefused: a cached .deb that differs from the lock by one byte is
// refused naming the package, even when its root is already cached; a
// missing one offline names the packages; two packages shipping one file
// name both.
func TestRefused(t *testing.T) {
	ctx := context.Background()
	t.Run("tampered", func(t *testing.T) {
		c, l := seed(t, libfoo, foo)
		if _, err := c.Root(ctx, l); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(c.Dir(), "debs", l.Packages[1].SHA256+".deb")
		b, _ := os.ReadFile(p)
		b[len(b)/2] ^= 1
		os.WriteFile(p, b, 0o644)
		_, err := c.Root(ctx, l)
		if !errors.Is(err, sysroot.ErrMismatch) || !strings.Contains(err.Error(), "foo=2.0-1") {
			t.Errorf("Root: %v, want a mismatch naming foo=2.0-1", err)
		}
	})
	t.Run("missing offline", func(t *testing.T) {
		c, l := seed(t, libfoo, foo)
		os.Remove(filepath.Join(c.Dir(), "debs", l.Packages[0].SHA256+".deb"))
		var missing *sysroot.MissingError
		err := c.Fetch(ctx, l, true)
		if !errors.As(err, &missing) || !strings.Contains(err.Error(), "libfoo1=1.0-1") {
			t.Errorf("Fetch offline: %v, want a MissingError naming libfoo1=1.0-1", err)
		}
	})
	t.Run("conflict", func(t *testing.T) {
		other := pkgDeb{"bar", "1", []debtest.Entry{{Name: "./usr/", Kind: "dir"}, {Name: "./usr/lib/", Kind: "dir"},
			{Name: "./usr/lib/libfoo.so.1", Kind: "file", Body: "other"}}}
		c, l := seed(t, libfoo, other)
		_, err := c.Root(ctx, l)
		if err == nil || !strings.Contains(err.Error(), "libfoo1=1.0-1") || !strings.Contains(err.Error(), "also shipped by bar") {
			t.Errorf("Root: %v, want an error naming libfoo1 and bar", err)
		}
		entries, _ := os.ReadDir(filepath.Join(c.Dir(), "roots"))
		if len(entries) != 0 {
			t.Errorf("roots after a failed extraction: %v", entries)
		}
	})
}
