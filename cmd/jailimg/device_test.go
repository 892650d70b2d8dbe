package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/jailimg/jailimg/internal/loopdev"
)

// TestUnpackDeviceCLI unpacks the bash jail onto a loop-device ext4
// partition with --device, runs it from the read-only mount, switches to a
// second image, and is refused a device mounted elsewhere.
func TestUnpackDeviceCLI(t *testing.T) {
	needRoot(t)
	dev := loopdev.New(t, "ext4")
	recipe := copyRecipe(t, "bash.yaml")
	work := t.TempDir()
	one, two := filepath.Join(work, "one"), filepath.Join(work, "two")
	mustJailimg(t, "", nil, "build", "-q", "-o", one, recipe)
	mustJailimg(t, "", []string{"SOURCE_DATE_EPOCH=1234567"}, "build", "-q", "-o", two, recipe)
	target, state := filepath.Join(work, "jail"), filepath.Join(work, "state")

	r := jailimg(t, "", nil, "unpack", "--device", dev, one, target)
	if r.code != 0 || !strings.Contains(r.stderr, "msg=unpacking") || !strings.Contains(r.stderr, "percent=100") {
		t.Fatalf("unpack --device: exit %d, want 0 and progress lines\n%s", r.code, r.stderr)
	}
	digest1 := strings.TrimSpace(r.stdout)
	wantReadOnly(t, target)
	if out, err := exec.Command("chroot", filepath.Join(target, "current/rootfs"), "/usr/bin/bash", "-c", "echo ok").CombinedOutput(); err != nil || string(out) != "ok\n" {
		t.Fatalf("chroot into the read-only jail: %v, %q", err, out)
	}
	if out := mustJailimg(t, "", nil, "run", "--state", state, "--user", "jail", target, "--", "-c", "echo ok $UID"); out != "ok 1000\n" {
		t.Fatalf("jailimg run from the read-only jail: %q", out)
	}

	r = jailimg(t, "", nil, "unpack", "-q", "--device", dev, two, target)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("unpack -q of a second image: exit %d, stderr %q (want silence)", r.code, r.stderr)
	}
	if digest2 := strings.TrimSpace(r.stdout); digest2 == digest1 {
		t.Fatalf("the second image has the same digest %s", digest2)
	}
	wantReadOnly(t, target)
	if out := mustJailimg(t, "", nil, "run", "--state", state, "--user", "jail", target, "--", "-c", "echo ok"); out != "ok\n" {
		t.Fatalf("jailimg run after the switch: %q", out)
	}

	if out, err := exec.Command("umount", target).CombinedOutput(); err != nil {
		t.Fatalf("umount: %v\n%s", err, out)
	}
	other := t.TempDir()
	if err := unix.Mount(dev, other, "ext4", unix.MS_RDONLY, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(other, unix.MNT_DETACH) })
	r = jailimg(t, "", nil, "unpack", "--device", dev, one, target)
	if r.code != exitFailure || !strings.Contains(r.stderr, "already mounted on "+other) {
		t.Fatalf("device mounted elsewhere: exit %d, want %d naming %s\n%s", r.code, exitFailure, other, r.stderr)
	}
}

// wantReadOnly checks that target is mounted ro,nosuid and refuses writes.
func wantReadOnly(t *testing.T, target string) {
	t.Helper()
	opts := loopdev.Options(target)
	if !slices.Contains(opts, "ro") || !slices.Contains(opts, "nosuid") {
		t.Fatalf("mount options of %s: %v, want ro and nosuid", target, opts)
	}
	if err := os.WriteFile(filepath.Join(target, "current/rootfs/tmp/x"), nil, 0o644); !errors.Is(err, unix.EROFS) {
		t.Fatalf("writing into the jail: %v, want EROFS", err)
	}
}
