package main

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// hostFiles fills dir with files an administrator keeps on the host (logs,
// a database's state) and returns their contents by name.
func hostFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{"access.log": []byte("GET / 200\n"), "state/db": bytes.Repeat([]byte{0, 1, 2, 0xff}, 5000)}
	for name, body := range files {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	return files
}

// TestUnpackKeepsBindMounts bind-mounts a host directory into the live
// jail and unpacks a new image: the old generation, which holds the mount,
// is left in place with a warning naming the mount point, every host file
// is kept byte for byte, the exit status is 0 with the new image live, and
// once the directory is unmounted the next unpack removes the old
// generation. The host directory is on the same file system as TARGET
// (st_dev cannot tell the bind mount) or on a tmpfs.
func TestUnpackKeepsBindMounts(t *testing.T) {
	needRoot(t)
	for _, tc := range []struct {
		name  string
		tmpfs bool
	}{{"same file system", false}, {"tmpfs", true}} {
		t.Run(tc.name, func(t *testing.T) {
			dirs := []*tar.Header{{Name: "var/", Typeflag: tar.TypeDir, Mode: 0o755},
				{Name: "var/log/", Typeflag: tar.TypeDir, Mode: 0o755},
				{Name: "var/log/nginx/", Typeflag: tar.TypeDir, Mode: 0o755}}
			one := layoutOf(t, append(dirs, &tar.Header{Name: "etc/motd", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1},
				&tar.Header{Name: "var/log/nginx/image.log", Typeflag: tar.TypeReg, Mode: 0o644, Size: 2})...)
			two := layoutOf(t, append(dirs, &tar.Header{Name: "etc/motd", Typeflag: tar.TypeReg, Mode: 0o644, Size: 2})...)
			target := filepath.Join(t.TempDir(), "jail")
			mustJailimg(t, "", nil, "unpack", "-q", one, target)
			gen1, err := filepath.EvalSymlinks(filepath.Join(target, "current"))
			if err != nil {
				t.Fatal(err)
			}

			host := t.TempDir()
			if tc.tmpfs {
				if err := unix.Mount("tmpfs", host, "tmpfs", 0, "size=1m"); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { unix.Unmount(host, unix.MNT_DETACH) })
			}
			files := hostFiles(t, host)
			point := filepath.Join(gen1, "rootfs/var/log/nginx")
			if err := unix.Mount(host, point, "", unix.MS_BIND, ""); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { unix.Unmount(point, unix.MNT_DETACH) })

			r := jailimg(t, "", nil, "unpack", two, target)
			if r.code != 0 {
				t.Fatalf("unpack over a bind mount: exit %d, want 0\n%s", r.code, r.stderr)
			}
			for name, body := range files {
				if got, err := os.ReadFile(filepath.Join(host, name)); err != nil || !bytes.Equal(got, body) {
					t.Errorf("host file %s after the unpack: %d bytes, %v; want its %d bytes", name, len(got), err, len(body))
				}
			}
			if !strings.Contains(r.stderr, "old generation left in place") || !strings.Contains(r.stderr, point) ||
				!strings.Contains(r.stderr, "is live") {
				t.Errorf("unpack's warning does not name the mount point %s and the live generation:\n%s", point, r.stderr)
			}
			if _, err := os.Stat(filepath.Join(gen1, "rootfs/etc/motd")); err != nil {
				t.Errorf("old generation not left whole: %v", err)
			}
			if b, err := os.ReadFile(filepath.Join(target, "current/rootfs/etc/motd")); err != nil || len(b) != 2 {
				t.Errorf("the new image is not live: %q, %v", b, err)
			}

			if err := unix.Unmount(point, 0); err != nil {
				t.Fatal(err)
			}
			r = jailimg(t, "", nil, "unpack", two, target)
			if r.code != 0 || strings.Contains(r.stderr, "left in place") {
				t.Fatalf("unpack once unmounted: exit %d\n%s", r.code, r.stderr)
			}
			if _, err := os.Lstat(gen1); !os.IsNotExist(err) {
				t.Errorf("old generation %s still there once unmounted: %v", gen1, err)
			}
			for name, body := range files {
				if got, err := os.ReadFile(filepath.Join(host, name)); err != nil || !bytes.Equal(got, body) {
					t.Errorf("host file %s at the end: %d bytes, %v", name, len(got), err)
				}
			}
		})
	}
}
