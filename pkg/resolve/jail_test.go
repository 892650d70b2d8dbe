package resolve

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/jailimg/jailimg/internal/testutil"
)

// buildJail reproduces cl under root: every file (hard-linked, or copied
// across devices) and every symlink, parents created as directories.
func buildJail(t *testing.T, root string, cl *Closure) {
	t.Helper()
	buildJailFrom(t, "/", root, cl)
}

// buildJailFrom is buildJail for a closure resolved inside the root from.
func buildJailFrom(t *testing.T, from, root string, cl *Closure) {
	t.Helper()
	for _, f := range cl.Files {
		dst := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Link(filepath.Join(from, f), dst); err != nil {
			testutil.CopyFile(t, filepath.Join(from, f), dst, 0o755)
		}
	}
	for _, l := range cl.Links {
		dst := filepath.Join(root, l.Path)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(l.Target, dst); err != nil {
			t.Fatal(err)
		}
	}
}

var loadAddr = regexp.MustCompile(` \(0x[0-9a-f]+\)`)

// TestJailLoads builds a jail per host binary from its closure alone and has
// the loader inside it (chroot, no ld.so.cache) list what it loads: nothing
// may be missing, and every library must resolve to the same path as on the
// host.
func TestJailLoads(t *testing.T) {
	const ldso = "/lib64/ld-linux-x86-64.so.2"
	testutil.NeedRoot(t, "chroot")
	if _, err := os.Stat(ldso); err != nil {
		testutil.Skipf(t, "no %s: %v", ldso, err)
	}
	r, err := New(os.DirFS("/"))
	if err != nil {
		t.Fatal(err)
	}
	bins := spread(hostDynamicELF(t, r, "/usr/bin"), 50)
	bins = append(bins, spread(hostDynamicELF(t, r, "/usr/sbin"), 10)...)
	if len(bins) < 50 {
		t.Fatalf("only %d host binaries", len(bins))
	}
	for _, bin := range bins {
		t.Run(bin, func(t *testing.T) {
			cl, err := r.Resolve(context.Background(), Request{Binaries: []string{bin}})
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			host, err := exec.Command(ldso, "--list", bin).CombinedOutput()
			if err != nil {
				testutil.Skipf(t, "the host loader refuses %s: %v: %s", bin, err, host)
			}
			root := t.TempDir()
			buildJail(t, root, cl)
			jail, err := exec.Command("chroot", root, ldso, "--list", bin).CombinedOutput()
			if err != nil || strings.Contains(string(jail), "not found") {
				t.Fatalf("in the jail: %v\n%s", err, jail)
			}
			h, j := loadAddr.ReplaceAllString(string(host), ""), loadAddr.ReplaceAllString(string(jail), "")
			if h != j {
				t.Errorf("loader resolves differently in the jail:\nhost:\n%s\njail:\n%s", h, j)
			}
		})
	}
}

// spread picks n items evenly from s (all of s if shorter).
func spread(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	out := make([]string, 0, n)
	for i := range n {
		out = append(out, s[i*len(s)/n])
	}
	return out
}
