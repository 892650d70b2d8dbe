package recipes_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/jailimg/jailimg/pkg/bundle"
)

// build builds recipes/NAME.yaml into an OCI layout in a fresh directory
// and returns the layout's path.
func build(t *testing.T, name string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	digest := strings.TrimSpace(mustJailimg(t, "-q", "build", "-o", out, name+".yaml"))
	if !strings.HasPrefix(digest, "sha256:") {
		t.Fatalf("jailimg build %s.yaml printed %q, want a digest", name, digest)
	}
	return out
}

// unpackOnto unpacks the layout's image into the bundle directory target
// with `jailimg unpack`.
func unpackOnto(t *testing.T, layoutDir, target string) *bundle.Bundle {
	t.Helper()
	digest := strings.TrimSpace(mustJailimg(t, "-q", "unpack", layoutDir, target))
	b, err := bundle.Open(target)
	if err != nil {
		t.Fatal(err)
	}
	if b.Meta.ManifestDigest != digest {
		t.Fatalf("jailimg unpack printed %q, the bundle holds %q", digest, b.Meta.ManifestDigest)
	}
	return b
}

// loopMount makes a 128 MiB ext4 file system in a file, loop-mounts it and
// returns the mount point. Cleanup unmounts it and frees the loop device.
func loopMount(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	img, mnt := filepath.Join(dir, "jail.ext4"), filepath.Join(dir, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	sh(t, "truncate", "-s", "128M", img)
	sh(t, "mkfs.ext4", "-q", "-F", img)
	dev := sh(t, "losetup", "-f", "--show", img)
	t.Cleanup(func() { sh(t, "losetup", "-d", dev) })
	sh(t, "mount", dev, mnt)
	t.Cleanup(func() { sh(t, "umount", mnt) })
	return mnt
}

// remountRO makes the file system at mnt read-only and nosuid.
func remountRO(t *testing.T, mnt string) {
	t.Helper()
	sh(t, "mount", "-o", "remount,ro,nosuid", mnt)
}

// tmpfsOver mounts a small tmpfs over each writable directory of the jail,
// with the directory's owner and mode, so a service in a read-only jail can
// still write its logs and pid file. Cleanup unmounts them.
func tmpfsOver(t *testing.T, rootfs string, dirs []string) {
	t.Helper()
	for _, d := range dirs {
		p := filepath.Join(rootfs, d)
		st, err := os.Lstat(p)
		if err != nil || !st.IsDir() {
			t.Fatalf("writable dir %s: not a directory in the jail (%v)", d, err)
		}
		sys := st.Sys().(*syscall.Stat_t)
		mode := uint32(st.Mode().Perm())
		if st.Mode()&fs.ModeSticky != 0 {
			mode |= 0o1000
		}
		opts := fmt.Sprintf("size=16m,nosuid,nodev,noexec,mode=%o,uid=%d,gid=%d", mode, sys.Uid, sys.Gid)
		sh(t, "mount", "-t", "tmpfs", "-o", opts, "tmpfs", p)
		t.Cleanup(func() { sh(t, "umount", p) })
	}
}
