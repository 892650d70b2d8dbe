package resolve

import (
	"context"
	"debug/elf"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jailimg/jailimg/internal/testutil"
)

func TestLibcmp(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		sign int
	}{
		{"libc.so.6", "libc.so.6", 0},
		{"libc.so.10", "libc.so.9", 1},
		{"libz.so.1", "libc.so.6", 1},
		{"libfoo.so", "libfoo.so.1", -1},
		{"lib2.so", "libz.so", 1}, // a digit sorts after any other byte
		{"libx.so.01", "libx.so.1", 0},
	} {
		got := libcmp(tc.a, tc.b)
		if sign(got) != tc.sign || sign(libcmp(tc.b, tc.a)) != -tc.sign {
			t.Errorf("libcmp(%q, %q) = %d, want sign %d (and the reverse)", tc.a, tc.b, got, tc.sign)
		}
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// TestHostCacheOrder checks libcmp against ldconfig: the host's cache must
// be sorted in descending libcmp order, the order ld.so binary-searches.
func TestHostCacheOrder(t *testing.T) {
	b, err := os.ReadFile("/etc/ld.so.cache")
	if err != nil || len(b) < cacheHeaderSize || !strings.HasPrefix(string(b), cacheMagic) {
		testutil.Skipf(t, "no host ld.so.cache: %v", err)
	}
	le := binary.LittleEndian
	n := int(le.Uint32(b[20:]))
	key := func(i int) string {
		off := le.Uint32(b[cacheHeaderSize+i*cacheEntrySize+4:])
		s := b[off:]
		return string(s[:strings.IndexByte(string(s), 0)])
	}
	for i := 1; i < n; i++ {
		if libcmp(key(i), key(i-1)) > 0 {
			t.Errorf("host cache entry %d %q sorts after %q by libcmp", i, key(i), key(i-1))
		}
	}
}

func TestWriteCacheRoundTrip(t *testing.T) {
	entries := []CacheEntry{
		{Soname: "libfoo.so.1", Path: "/opt/lib/libfoo.so.1"},
		{Soname: "libbar.so.10", Path: "/usr/local/lib/libbar.so.10"},
		{Soname: "libbar.so.9", Path: "/usr/local/lib/libbar.so.9"},
		{Soname: "libfoo.so.1", Path: "/opt/lib/libfoo.so.1"}, // duplicate
	}
	for i := range entries {
		entries[i].Class, entries[i].Machine = elf.ELFCLASS64, elf.EM_X86_64
	}
	b, err := WriteCache(entries)
	if err != nil {
		t.Fatal(err)
	}
	c, err := parseLDCache(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if got := c.lookup(e.Soname, elf.ELFCLASS64, elf.EM_X86_64, nil); got != e.Path {
			t.Errorf("lookup(%s) = %q, want %q", e.Soname, got, e.Path)
		}
	}
	if n := binary.LittleEndian.Uint32(b[20:]); n != 3 {
		t.Errorf("%d entries, want 3 (duplicates dropped)", n)
	}
	if _, err := WriteCache([]CacheEntry{{Soname: "x", Path: "/x", Class: elf.ELFCLASS64, Machine: elf.EM_MIPS}}); err == nil {
		t.Error("WriteCache for an unknown machine: no error")
	}
}

// TestJailCache moves one library of /usr/bin/ls out of the system
// directories in a sysroot with its own ld.so.cache, as an administrator's
// /usr/local/lib would be: the closure reports the cache entry, the jail's
// loader misses the library without a cache of its own, and finds it with
// the one WriteCache makes.
func TestJailCache(t *testing.T) {
	const ldso = "/lib64/ld-linux-x86-64.so.2"
	testutil.NeedRoot(t, "chroot")
	host, err := New(os.DirFS("/"))
	if err != nil {
		t.Fatal(err)
	}
	cl, err := host.Resolve(context.Background(), Request{Binaries: []string{"/usr/bin/ls"}})
	if err != nil {
		t.Fatal(err)
	}
	sys := t.TempDir()
	buildJail(t, sys, cl)
	var moved string
	for _, f := range cl.Files {
		if strings.Contains(f, "libpcre2-8.so") {
			moved = f
		}
	}
	if moved == "" {
		testutil.Skipf(t, "ls does not load libpcre2-8 here")
	}
	os.MkdirAll(filepath.Join(sys, "opt/lib"), 0o755)
	if err := os.Rename(filepath.Join(sys, moved), filepath.Join(sys, "opt/lib/libpcre2-8.so.0")); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(sys, filepath.Dir(moved), "libpcre2-8.so.0"))
	sysCache, _ := WriteCache([]CacheEntry{{Soname: "libpcre2-8.so.0", Path: "/opt/lib/libpcre2-8.so.0", Class: elf.ELFCLASS64, Machine: elf.EM_X86_64}})
	os.MkdirAll(filepath.Join(sys, "etc"), 0o755)
	os.WriteFile(filepath.Join(sys, "etc/ld.so.cache"), sysCache, 0o644)

	r, err := New(os.DirFS(sys))
	if err != nil {
		t.Fatal(err)
	}
	jcl, err := r.Resolve(context.Background(), Request{Binaries: []string{"/usr/bin/ls"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(jcl.Cache) != 1 || jcl.Cache[0].Path != "/opt/lib/libpcre2-8.so.0" {
		t.Fatalf("Closure.Cache = %+v, want the one entry for /opt/lib", jcl.Cache)
	}
	jail := t.TempDir()
	buildJailFrom(t, sys, jail, jcl)
	list := func() (string, bool) {
		out, err := exec.Command("chroot", jail, ldso, "--list", "/usr/bin/ls").CombinedOutput()
		return string(out), err == nil && !strings.Contains(string(out), "not found")
	}
	if out, ok := list(); ok || !strings.Contains(out, "libpcre2-8.so.0") {
		t.Fatalf("without a cache the jail's loader found everything:\n%s", out)
	}
	b, err := WriteCache(jcl.Cache)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(jail, "etc"), 0o755)
	os.WriteFile(filepath.Join(jail, "etc/ld.so.cache"), b, 0o644)
	if out, ok := list(); !ok || !strings.Contains(out, "/opt/lib/libpcre2-8.so.0") {
		t.Fatalf("with the written cache:\n%s", out)
	}
}
