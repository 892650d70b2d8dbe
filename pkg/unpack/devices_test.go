package unpack

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestHasDevices: whether a live tree holds a device node, other than the
// safe ones in its /dev that jailimg run replaces with the host's, decides
// whether its read-only mount keeps nodev. Only the tree's own entries count: a
// host directory bind-mounted into it (/dev, say) or reached through a
// symlink is not walked, so it cannot take nodev away.
func TestHasDevices(t *testing.T) {
	needRoot(t)
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, root string)
		want  bool
	}{
		{"plain files", func(t *testing.T, root string) {}, false},
		{"device deep inside", func(t *testing.T, root string) {
			mkdirs(t, root, "a/b/c")
			if err := unix.Mknod(filepath.Join(root, "a/b/c/null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"safe devices in /dev: jailimg run binds the host's over them", func(t *testing.T, root string) {
			mkdirs(t, root, "dev")
			for name, dev := range map[string]uint64{"null": unix.Mkdev(1, 3), "urandom": unix.Mkdev(1, 9), "tty": unix.Mkdev(5, 0)} {
				if err := unix.Mknod(filepath.Join(root, "dev", name), unix.S_IFCHR|0o666, int(dev)); err != nil {
					t.Fatal(err)
				}
			}
		}, false},
		{"an unsafe device in /dev", func(t *testing.T, root string) {
			mkdirs(t, root, "dev")
			if err := unix.Mknod(filepath.Join(root, "dev/sda"), unix.S_IFBLK|0o600, int(unix.Mkdev(8, 0))); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"a safe device as a block device in /dev", func(t *testing.T, root string) {
			mkdirs(t, root, "dev")
			if err := unix.Mknod(filepath.Join(root, "dev/null"), unix.S_IFBLK|0o600, int(unix.Mkdev(1, 3))); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"a safe device outside the root's /dev", func(t *testing.T, root string) {
			mkdirs(t, root, "srv/dev")
			if err := unix.Mknod(filepath.Join(root, "srv/dev/null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"host /dev bind-mounted in", func(t *testing.T, root string) {
			mkdirs(t, root, "mnt/dev")
			if err := unix.Mount("/dev", filepath.Join(root, "mnt/dev"), "", unix.MS_BIND, ""); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { unix.Unmount(filepath.Join(root, "mnt/dev"), unix.MNT_DETACH) })
		}, false},
		{"symlink to host /dev", func(t *testing.T, root string) {
			if err := os.Symlink("/dev", filepath.Join(root, "dev")); err != nil {
				t.Fatal(err)
			}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			mkdirs(t, root, "etc")
			if err := os.WriteFile(filepath.Join(root, "etc/motd"), []byte("hi\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			tc.setup(t, root)
			fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(fd)
			got, err := hasDevices(fd, root)
			if err != nil || got != tc.want {
				t.Fatalf("hasDevices = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func mkdirs(t *testing.T, root, p string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(root, p), 0o755); err != nil {
		t.Fatal(err)
	}
}
