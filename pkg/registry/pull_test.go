package registry_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/jailimg/jailimg/internal/imagetest"
	"github.com/jailimg/jailimg/internal/registrytest"
	"github.com/jailimg/jailimg/internal/testutil"
	"github.com/jailimg/jailimg/pkg/layout"
	"github.com/jailimg/jailimg/pkg/registry"
	"golang.org/x/sys/unix"
)

// TestPullBrokenLocalIndex: pulling into a layout whose own index.json is
// broken fails as a bad layout naming the file, not as a registry error,
// and leaves the layout as it was.
func TestPullBrokenLocalIndex(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.Start(t)
	ref := imagetest.Ref(t, reg.Ref("jails/a:1"))
	if _, err := registry.Push(ctx, ref, imagetest.Image(t, 1000)); err != nil {
		t.Fatal(err)
	}
	for _, index := range []string{"", `{"schemaVersion": 2, "manifests": [`, "\x1f\x8b"} {
		t.Run(strings.ToValidUTF8(index, "?"), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "corruptl")
			if err := layout.Write(ctx, dir, imagetest.Image(t, 1000), "old"); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "index.json"), []byte(index), 0o644); err != nil {
				t.Fatal(err)
			}
			before := imagetest.Snapshot(t, dir)
			_, err := registry.Pull(ctx, ref, dir, "1")
			t.Logf("error: %v", err)
			var re *registry.Error
			if err == nil || errors.As(err, &re) || !errors.Is(err, layout.ErrInvalid) {
				t.Errorf("error %v (%T), want an layout.ErrInvalid that is no *registry.Error", err, err)
			}
			if prefix := "OCI layout " + dir + ": index.json: "; err != nil && !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("error %q, want %q...", err, prefix)
			}
			if after := imagetest.Snapshot(t, dir); after != before {
				t.Errorf("layout changed:\nbefore\n%s\nafter\n%s", before, after)
			}
		})
	}
}

// TestPullFullDisk: a layout on a full file system is a local error naming
// the layout, not blamed on the registry.
func TestPullFullDisk(t *testing.T) {
	testutil.NeedRoot(t, "mounting a small tmpfs")
	ctx := context.Background()
	reg := registrytest.Start(t)
	ref := imagetest.Ref(t, reg.Ref("jails/big:1"))
	if _, err := registry.Push(ctx, ref, imagetest.Image(t, 1<<20)); err != nil {
		t.Fatal(err)
	}
	mnt := t.TempDir()
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=256k"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
	dir := filepath.Join(mnt, "layout")
	_, err := registry.Pull(ctx, ref, dir, "1")
	var re *registry.Error
	if err == nil || errors.As(err, &re) || !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "writing layout "+dir) {
		t.Errorf("pull onto a full disk: %v (%T), want a local ENOSPC error naming %s", err, err, dir)
	}
	imagetest.AssertNoStaging(t, dir) // at most the layout's lock file
}
