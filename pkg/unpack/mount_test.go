package unpack

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jailimg/jailimg/internal/testutil"

	"golang.org/x/sys/unix"

	"github.com/jailimg/jailimg/internal/loopdev"
)

// needRoot skips a test when not root, except under CI where it must run.
func needRoot(t *testing.T) { testutil.NeedRoot(t, "mount, loop devices") }

// wantMount checks target's mount options: ro and nosuid always, nodev as told.
func wantMount(t *testing.T, target string, nodev bool) {
	t.Helper()
	opts := loopdev.Options(target)
	if !slices.Contains(opts, "ro") || !slices.Contains(opts, "nosuid") || slices.Contains(opts, "nodev") != nodev {
		t.Fatalf("mount options of %s are %v; want ro, nosuid, nodev=%v", target, opts, nodev)
	}
	err := os.WriteFile(filepath.Join(target, "probe"), nil, 0o644)
	if !errors.Is(err, unix.EROFS) {
		t.Fatalf("writing on %s: %v, want EROFS", target, err)
	}
}

func TestUnpackDevice(t *testing.T) {
	needRoot(t)
	for _, fstype := range []string{"ext4", "xfs"} {
		t.Run(fstype, func(t *testing.T) { testUnpackDevice(t, fstype) })
	}
}

func testUnpackDevice(t *testing.T, fstype string) {
	ctx := context.Background()
	dev := loopdev.New(t, fstype)
	target := filepath.Join(t.TempDir(), "jail", "mnt") // created by Unpack
	// A device node outside /dev: the partition keeps its devices. The safe
	// ones in /dev do not count: jailimg run binds the host's over them.
	withDev := imageOf(t, true, gzLayer(t, dir("srv"), chardev("srv/null", 1, 3), file("etc/motd", "one\n")))
	noDev := imageOf(t, true, gzLayer(t, dir("dev"), chardev("dev/null", 1, 3), dir("etc"), file("etc/motd", "two\n")))

	res := mustUnpack(t, withDev, target, WithDevice(dev))
	if !res.Changed || res.Mount != "ro,nosuid" {
		t.Fatalf("first unpack: changed=%v mount=%q, want a change and ro,nosuid", res.Changed, res.Mount)
	}
	wantMount(t, target, false)
	// Device nodes keep working on a mount without nodev.
	f, err := os.OpenFile(filepath.Join(rootfs(target), "srv/null"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatalf("opening the jail's srv/null: %v", err)
	}
	f.Close()

	res = mustUnpack(t, noDev, target, WithDevice(dev))
	if !res.Changed || res.Mount != "ro,nosuid,nodev" {
		t.Fatalf("second image: changed=%v mount=%q, want a change and ro,nosuid,nodev", res.Changed, res.Mount)
	}
	wantMount(t, target, true)
	if b, _ := os.ReadFile(filepath.Join(rootfs(target), "etc/motd")); string(b) != "two\n" {
		t.Fatalf("etc/motd after the switch: %q", b)
	}
	if n, _ := filepath.Glob(filepath.Join(target, "gen-*")); len(n) != 1 {
		t.Errorf("generations after the switch: %v, want one", n)
	}

	// Already live on a read-only mount: nothing to do.
	res = mustUnpack(t, noDev, target, WithDevice(dev))
	if res.Changed || res.Mount != "ro,nosuid,nodev" {
		t.Fatalf("same image again: changed=%v mount=%q", res.Changed, res.Mount)
	}
	// Already live, but someone left the mount writable: it ends read-only.
	if err := unix.Mount("", target, "", unix.MS_REMOUNT, ""); err != nil {
		t.Fatal(err)
	}
	if res = mustUnpack(t, noDev, target, WithReadOnly()); res.Changed {
		t.Fatalf("same image on a writable mount: changed")
	}
	wantMount(t, target, true)

	// A refused image leaves the live tree and a read-only mount.
	evil := imageOf(t, true, gzLayer(t, file("../escape", "x")))
	if _, err := Unpack(ctx, evil, target, WithDevice(dev)); !errors.Is(err, ErrUnsafePath) {
		t.Fatalf("hostile image: %v, want ErrUnsafePath", err)
	}
	wantMount(t, target, true)
	if b, _ := os.ReadFile(filepath.Join(rootfs(target), "etc/motd")); string(b) != "two\n" {
		t.Fatalf("live tree after a refused image: %q", b)
	}

	// Mounted elsewhere: refused, naming the other mount point.
	if out, err := exec.Command("umount", target).CombinedOutput(); err != nil {
		t.Fatalf("umount: %v\n%s", err, out)
	}
	other := t.TempDir()
	if err := unix.Mount(dev, other, fstype, unix.MS_RDONLY, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(other, unix.MNT_DETACH) })
	_, err = Unpack(ctx, noDev, target, WithDevice(dev))
	if !errors.Is(err, ErrMount) || !strings.Contains(err.Error(), other) {
		t.Fatalf("device mounted elsewhere: %v, want ErrMount naming %s", err, other)
	}
	if opts := loopdev.Options(target); opts != nil {
		t.Fatalf("%s was mounted anyway: %v", target, opts)
	}
	// Not a block device, and a target that is not a mount point.
	if _, err := Unpack(ctx, noDev, t.TempDir(), WithDevice(filepath.Join(rootfs(other), "etc/motd"))); !errors.Is(err, ErrMount) {
		t.Errorf("regular file as device: %v, want ErrMount", err)
	}
	if _, err := Unpack(ctx, noDev, t.TempDir(), WithReadOnly()); !errors.Is(err, ErrMount) {
		t.Errorf("--read-only on a plain directory: %v, want ErrMount", err)
	}
}

// TestReadOnlyBindMount checks that a bind mount is sealed by its own
// mount flags, leaving the filesystem and its other mounts writable.
func TestReadOnlyBindMount(t *testing.T) {
	needRoot(t)
	src, target := t.TempDir(), t.TempDir()
	if err := unix.Mount(src, target, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(target, unix.MNT_DETACH) })
	img := imageOf(t, true, gzLayer(t, dir("etc"), file("etc/motd", "bind\n")))
	res := mustUnpack(t, img, target, WithReadOnly())
	if res.Mount != "ro,nosuid,nodev" {
		t.Fatalf("mount %q", res.Mount)
	}
	wantMount(t, target, true)
	if err := os.WriteFile(filepath.Join(src, "still-writable"), nil, 0o644); err != nil {
		t.Fatalf("the bind source became read-only: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(rootfs(src), "etc/motd")); string(b) != "bind\n" {
		t.Fatalf("tree seen through the source: %q", b)
	}
}
