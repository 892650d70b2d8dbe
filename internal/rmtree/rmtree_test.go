package rmtree

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/jailimg/jailimg/internal/testutil"
)

// host makes a directory outside the tree with files the removal must keep.
func host(t *testing.T) (string, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{"a.log": "host data\n", "sub/b.db": "more host data\n"}
	for name, body := range files {
		must(t, os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755))
		must(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	return dir, files
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// bind bind-mounts src on dst until the end of the test (or unmount).
func bind(t *testing.T, src, dst string) {
	t.Helper()
	must(t, unix.Mount(src, dst, "", unix.MS_BIND, ""))
	t.Cleanup(func() { unix.Unmount(dst, unix.MNT_DETACH) })
}

// tree makes parent/gen with a few directories, files and a symlink to the
// host directory.
func tree(t *testing.T, parent, hostDir string) {
	t.Helper()
	gen := filepath.Join(parent, "gen")
	for _, d := range []string{"rootfs/var/log/nginx", "rootfs/etc", "rootfs/empty"} {
		must(t, os.MkdirAll(filepath.Join(gen, d), 0o755))
	}
	must(t, os.WriteFile(filepath.Join(gen, "rootfs/etc/motd"), []byte("hi\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(gen, "rootfs/var/log/nginx/in-image"), nil, 0o644))
	must(t, os.Symlink(hostDir, filepath.Join(gen, "rootfs/hostlink")))
	must(t, os.Symlink(filepath.Join(hostDir, "a.log"), filepath.Join(gen, "rootfs/etc/filelink")))
}

func TestRemoveAt(t *testing.T) {
	testutil.NeedRoot(t, "bind mounts")
	for _, tc := range []struct {
		name string
		// mount mounts things into parent/gen; it returns the mount points
		// RemoveAt must report, relative to parent.
		mount func(t *testing.T, parent, hostDir string) []string
	}{
		{name: "no mount", mount: func(*testing.T, string, string) []string { return nil }},
		{name: "bind mount of a directory of the same file system", mount: func(t *testing.T, parent, hostDir string) []string {
			bind(t, hostDir, filepath.Join(parent, "gen/rootfs/var/log/nginx"))
			return []string{"gen/rootfs/var/log/nginx"}
		}},
		{name: "tmpfs and a file bind mount", mount: func(t *testing.T, parent, hostDir string) []string {
			tmp := filepath.Join(parent, "gen/rootfs/empty")
			must(t, unix.Mount("tmpfs", tmp, "tmpfs", 0, "size=1m"))
			t.Cleanup(func() { unix.Unmount(tmp, unix.MNT_DETACH) })
			must(t, os.WriteFile(filepath.Join(tmp, "on-tmpfs"), []byte("x"), 0o644))
			bind(t, filepath.Join(hostDir, "a.log"), filepath.Join(parent, "gen/rootfs/etc/motd"))
			return []string{"gen/rootfs/empty", "gen/rootfs/etc/motd"}
		}},
		{name: "the tree itself", mount: func(t *testing.T, parent, hostDir string) []string {
			bind(t, hostDir, filepath.Join(parent, "gen"))
			return []string{"gen"}
		}},
	} {
		for _, noStatx := range []bool{false, true} {
			name := tc.name
			if noStatx {
				name += " without statx"
			}
			t.Run(name, func(t *testing.T) {
				hostDir, files := host(t)
				parent := t.TempDir()
				tree(t, parent, hostDir)
				want := tc.mount(t, parent, hostDir)
				dfd, err := unix.Open(parent, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
				must(t, err)
				defer unix.Close(dfd)

				err = removeAt(dfd, "gen", noStatx)
				wantHostFiles(t, hostDir, files)
				if want == nil {
					if err != nil {
						t.Fatalf("removeAt: %v", err)
					}
					wantGone(t, filepath.Join(parent, "gen"))
					return
				}
				var me *MountError
				if !errors.As(err, &me) {
					t.Fatalf("removeAt: %v, want a MountError naming %v", err, want)
				}
				if slices.Sort(me.Mounts); !slices.Equal(me.Mounts, want) || me.Name != "gen" {
					t.Errorf("MountError %+v, want mounts %v", me, want)
				}
				for _, m := range want {
					must(t, unix.Unmount(filepath.Join(parent, m), 0))
				}
				// Nothing was removed.
				for _, p := range []string{"gen/rootfs/var/log/nginx/in-image", "gen/rootfs/etc/motd", "gen/rootfs/hostlink"} {
					if _, err := os.Lstat(filepath.Join(parent, p)); err != nil {
						t.Errorf("tree partly removed: %v", err)
					}
				}
				if err := removeAt(dfd, "gen", noStatx); err != nil {
					t.Fatalf("removeAt once unmounted: %v", err)
				}
				wantGone(t, filepath.Join(parent, "gen"))
			})
		}
	}
}

// wantHostFiles checks that the files host made are there, unchanged.
func wantHostFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != body {
			t.Errorf("host file %s: %q, %v; want %q", name, b, err, body)
		}
	}
}

func wantGone(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still there: %v", p, err)
	}
}

func TestRemove(t *testing.T) {
	dir := t.TempDir()
	hostDir, files := host(t)
	tree(t, dir, hostDir)
	if err := Remove(filepath.Join(dir, "gen")); err != nil {
		t.Fatal(err)
	}
	if err := Remove(filepath.Join(dir, "gen")); err != nil {
		t.Errorf("removing a missing tree: %v", err)
	}
	wantHostFiles(t, hostDir, files)
	for _, bad := range []string{"/", ".", ""} {
		if err := Remove(bad); err == nil {
			t.Errorf("Remove(%q) succeeded", bad)
		}
	}
}

// TestRemoveWalk runs the removal walk alone, as when a mount is made after
// the scan: it stops at the mount point and keeps every host file.
func TestRemoveWalk(t *testing.T) {
	testutil.NeedRoot(t, "bind mounts")
	for _, noStatx := range []bool{false, true} {
		hostDir, files := host(t)
		parent := t.TempDir()
		tree(t, parent, hostDir)
		bind(t, hostDir, filepath.Join(parent, "gen/rootfs/var/log/nginx"))
		dfd, err := unix.Open(parent, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		must(t, err)
		defer unix.Close(dfd)
		w, err := newWalker(dfd, noStatx)
		must(t, err)
		err = w.remove(dfd, "gen", "gen")
		var me *MountError
		if !errors.As(err, &me) || !slices.Equal(me.Mounts, []string{"gen/rootfs/var/log/nginx"}) {
			t.Errorf("noStatx=%v: remove: %v, want a MountError naming the mount point", noStatx, err)
		}
		wantHostFiles(t, hostDir, files)
	}
}
