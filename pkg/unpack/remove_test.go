package unpack

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// withLog returns a logger option writing text lines to a new buffer.
func withLog() (Option, *bytes.Buffer) {
	var buf bytes.Buffer
	return WithLogger(slog.New(slog.NewTextHandler(&buf, nil))), &buf
}

// TestLeftoverWithMount leaves a staging directory with a bind mount of a
// host directory in it (of the same file system, which st_dev cannot tell
// apart) behind, as a crash during an unpack could if an administrator
// mounted into it: the next unpack does not descend into it and keeps it
// with a warning naming the mount point; once unmounted, the next unpack
// removes it.
func TestLeftoverWithMount(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	target := filepath.Join(t.TempDir(), "jail")
	one := imageOf(t, true, gzLayer(t, file("etc/motd", "one\n")))
	two := imageOf(t, true, gzLayer(t, file("etc/motd", "two\n")))
	mustUnpack(t, one, target)

	leftover := filepath.Join(target, ".staging-123")
	point := filepath.Join(leftover, "rootfs/var/lib/db")
	if err := os.MkdirAll(point, 0o755); err != nil {
		t.Fatal(err)
	}
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "data"), []byte("host data"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount(host, point, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(point, unix.MNT_DETACH) })

	logOpt, log := withLog()
	if _, err := Unpack(ctx, two, target, logOpt); err != nil {
		t.Fatalf("unpack beside a leftover with a mount in it: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(host, "data")); err != nil || string(b) != "host data" {
		t.Errorf("host file after the unpack: %q, %v", b, err)
	}
	if !strings.Contains(log.String(), "leftover left in place") || !strings.Contains(log.String(), point) {
		t.Errorf("no warning naming the mount point %s:\n%s", point, log)
	}
	if _, err := os.Stat(leftover); err != nil {
		t.Errorf("leftover: %v, want it left in place", err)
	}

	if err := unix.Unmount(point, 0); err != nil {
		t.Fatal(err)
	}
	mustUnpack(t, two, target)
	if _, err := os.Lstat(leftover); !os.IsNotExist(err) {
		t.Errorf("leftover once unmounted: %v, want it removed", err)
	}
	if b, err := os.ReadFile(filepath.Join(host, "data")); err != nil || string(b) != "host data" {
		t.Errorf("host file at the end: %q, %v", b, err)
	}
}
