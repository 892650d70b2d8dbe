package layout_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	ocilayout "github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/jailimg/jailimg/internal/imagetest"
	"github.com/jailimg/jailimg/pkg/layout"
	"golang.org/x/sys/unix"
)

// TestLayoutLockFile checks the lock file: created beside the layout with
// mode 0600; a symlink or FIFO in its place is refused (without following
// or blocking) and the layout left alone; a writer waiting for the lock
// gives up when its context is canceled.
func TestLayoutLockFile(t *testing.T) {
	ctx := context.Background()
	img := imagetest.Image(t, 1000)

	t.Run("created beside", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "out")
		if err := layout.Write(ctx, dir, img, "1"); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Lstat(dir + ".lock")
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
			t.Errorf("lock file %s: %v, %v; want a regular file of mode 0600", dir+".lock", fi, err)
		}
	})

	for _, tc := range []struct {
		name  string
		plant func(string) error
		want  string
	}{
		{"symlink", func(p string) error { return os.Symlink("/etc/passwd", p) }, "symlink"},
		{"fifo", func(p string) error { return syscall.Mkfifo(p, 0o600) }, "not a regular file"},
		{"directory", func(p string) error { return os.Mkdir(p, 0o700) }, "is a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			if err := layout.Write(ctx, dir, img, "1"); err != nil {
				t.Fatal(err)
			}
			os.Remove(dir + ".lock")
			if err := tc.plant(dir + ".lock"); err != nil {
				t.Fatal(err)
			}
			before := imagetest.Snapshot(t, dir)
			err := layout.Write(ctx, dir, imagetest.Image(t, 2000), "2")
			t.Logf("error: %v", err)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), dir) {
				t.Errorf("error %v, want one naming %s and saying %q", err, dir, tc.want)
			}
			if after := imagetest.Snapshot(t, dir); after != before {
				t.Errorf("layout changed:\nbefore\n%s\nafter\n%s", before, after)
			}
		})
	}

	t.Run("canceled while waiting", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "out")
		if err := layout.Write(ctx, dir, img, "1"); err != nil {
			t.Fatal(err)
		}
		holder, err := os.Open(dir + ".lock")
		if err != nil {
			t.Fatal(err)
		}
		defer holder.Close()
		if err := unix.Flock(int(holder.Fd()), unix.LOCK_EX); err != nil {
			t.Fatal(err)
		}
		canceled, cancel := context.WithCancel(ctx)
		done := make(chan error)
		go func() {
			done <- layout.Update(canceled, dir, func(ocilayout.Path) error { return nil })
		}()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("layout.Update waiting for the lock: %v, want context.Canceled", err)
		}
		holder.Close() // the abandoned wait takes the lock and lets it go
		if err := layout.Write(ctx, dir, img, "2"); err != nil {
			t.Errorf("layout.Write after the holder let go: %v", err)
		}
	})
}
