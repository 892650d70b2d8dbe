package main

import (
	"archive/tar"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnpackWorldWritable runs the binary on an image with a world-writable
// file and a non-sticky world-writable directory beside a 1777 /tmp:
// unpack masks o+w off the first two with one warning (exit 0), verify
// finds no difference, check finds nothing world-writable until o+w is put
// back on the live tree; --strict refuses the image (exit 3) naming the
// layer and entry.
func TestUnpackWorldWritable(t *testing.T) {
	src := layoutOf(t, &tar.Header{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777},
		&tar.Header{Name: "var/spool/", Typeflag: tar.TypeDir, Mode: 0o777},
		&tar.Header{Name: "etc/conf", Typeflag: tar.TypeReg, Mode: 0o666, Size: 1})
	target := filepath.Join(t.TempDir(), "jail")

	r := jailimg(t, "", nil, "unpack", src, target)
	if r.code != 0 || strings.Count(r.stderr, "o+w masked") != 1 || !strings.Contains(r.stderr, "entries=2 first=/var/spool") {
		t.Fatalf("unpack: exit %d, want 0 and one warning with entries=2 first=/var/spool\n%s", r.code, r.stderr)
	}
	root := filepath.Join(target, "current/rootfs")
	for name, want := range map[string]os.FileMode{"tmp": 0o777 | os.ModeSticky, "var/spool": 0o775, "etc/conf": 0o664} {
		if fi, err := os.Lstat(filepath.Join(root, name)); err != nil || fi.Mode().Perm()|fi.Mode()&os.ModeSticky != want {
			t.Errorf("%s: %v, %v; want mode %v", name, fi.Mode(), err, want)
		}
	}
	if r := jailimg(t, "", nil, "verify", src, target); r.code != 0 || r.stdout != "" {
		t.Errorf("verify after a masked unpack: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := jailimg(t, "", nil, "check", target); strings.Contains(r.stdout, "world-writable") {
		t.Errorf("check after a masked unpack: exit %d\n%s", r.code, r.stdout)
	}
	if err := os.Chmod(filepath.Join(root, "etc/conf"), 0o666); err != nil {
		t.Fatal(err)
	}
	if r := jailimg(t, "", nil, "check", target); r.code != 1 || !strings.Contains(r.stdout, "world-writable\t/etc/conf\t") {
		t.Errorf("check of a world-writable file in the live tree: exit %d, want 1 and a finding\n%s%s", r.code, r.stdout, r.stderr)
	}

	r = jailimg(t, "", nil, "unpack", "--strict", src, filepath.Join(t.TempDir(), "jail"))
	if r.code != exitInput || !strings.Contains(r.stderr, `layer 0: entry "var/spool/"`) || !strings.Contains(r.stderr, "world-writable") {
		t.Errorf("unpack --strict: exit %d, want %d naming layer 0 and var/spool/\n%s", r.code, exitInput, r.stderr)
	}
}
