package image

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/jailimg/jailimg/internal/registrytest"
	"github.com/jailimg/jailimg/internal/testutil"
	"github.com/jailimg/jailimg/pkg/layout"
	"golang.org/x/sys/unix"
)

// The tests in this file run against Debian's docker-registry.

// readAll opens the image SOURCE names and reads its config and every
// layer to the end, as unpack does, returning the first error.
func readAll(ctx context.Context, source string) error {
	src, err := ParseSource(source)
	if err != nil {
		return err
	}
	img, err := src.Image(ctx, WithRemoteOptions(remote.WithRetryBackoff(remote.Backoff{Steps: 1})))
	if err != nil {
		return err
	}
	if _, err := img.RawConfigFile(); err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// TestSourceRegistryErrors: every failure reading an image from a registry
// SOURCE, opening it or reading its layers, is a *RegistryError, as Pull's
// are, so unpack reports it as a registry error.
func TestSourceRegistryErrors(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.Start(t)
	img := testImage(t, 1000)
	var layer v1.Hash // of the image last pushed
	push := func(t *testing.T, repo string) string {
		img := testImage(t, 200_000) // a layer of its own
		m, _ := img.Manifest()
		layer = m.Layers[0].Digest
		ref := reg.Ref(repo)
		if _, err := Push(ctx, mustRef(t, ref), img); err != nil {
			t.Fatal(err)
		}
		return ref
	}
	rewrite := func(t *testing.T, f func([]byte) []byte) {
		data := reg.BlobData(layer.String())
		b, err := os.ReadFile(data)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(data, f(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T) string // returns the SOURCE
		want  string
	}{
		{"unknown tag", func(t *testing.T) string { push(t, "jails/a:1"); return reg.Ref("jails/a:nope") }, "MANIFEST_UNKNOWN"},
		{"index without linux/amd64", func(t *testing.T) string {
			idx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{
				Add:        img,
				Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}},
			})
			ref := reg.Ref("jails/multi:1")
			if err := remote.WriteIndex(mustRef(t, ref), idx); err != nil {
				t.Fatal(err)
			}
			return ref
		}, "no child with platform linux/amd64"},
		{"layer longer in storage", func(t *testing.T) string {
			ref := push(t, "jails/long:1")
			rewrite(t, func(b []byte) []byte { return append(b, "tail"...) })
			return ref
		}, "Content-Length header"},
		{"layer corrupt in storage", func(t *testing.T) string {
			ref := push(t, "jails/corrupt:1")
			rewrite(t, func(b []byte) []byte {
				for i := range b {
					b[i] = ^b[i]
				}
				return b
			})
			return ref
		}, "verifying sha256"},
		{"registry down", func(t *testing.T) string {
			ref := push(t, "jails/down:1")
			reg.Stop()
			t.Cleanup(reg.Restart)
			return ref
		}, "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := readAll(ctx, tc.setup(t))
			t.Logf("error: %v", err)
			var re *RegistryError
			if !errors.As(err, &re) {
				t.Fatalf("error %v (%T), want a *RegistryError", err, err)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "registry "+reg.Addr) {
				t.Errorf("error %q does not name the registry and say %q", err, tc.want)
			}
		})
	}
}

// TestSourceRegistryRoundTrip: an image read through a registry SOURCE is
// the one pushed, and can be pushed on to another repository.
func TestSourceRegistryRoundTrip(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.Start(t)
	img := testImage(t, 100_000, 5000)
	want, _ := img.Digest()
	if _, err := Push(ctx, mustRef(t, reg.Ref("jails/a:1")), img); err != nil {
		t.Fatal(err)
	}
	got, err := Open(ctx, reg.Ref("jails/a:1"))
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := got.Digest(); d != want {
		t.Fatalf("digest %s, want %s", d, want)
	}
	if err := readAll(ctx, reg.Ref("jails/a:1")); err != nil {
		t.Fatal(err)
	}
	res, err := Push(ctx, mustRef(t, reg.Ref("jails/b:1")), got)
	if err != nil || res.Digest != want {
		t.Fatalf("pushing the registry image on: %v, %v", res, err)
	}
	if !holdsImage(t, reg.Ref("jails/b:1")) {
		t.Error("no image at jails/b:1")
	}
}

// TestPullBrokenLocalIndex: pulling into a layout whose own index.json is
// broken fails as a bad layout naming the file, not as a registry error,
// and leaves the layout as it was.
func TestPullBrokenLocalIndex(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.Start(t)
	ref := mustRef(t, reg.Ref("jails/a:1"))
	if _, err := Push(ctx, ref, testImage(t, 1000)); err != nil {
		t.Fatal(err)
	}
	for _, index := range []string{"", `{"schemaVersion": 2, "manifests": [`, "\x1f\x8b"} {
		t.Run(strings.ToValidUTF8(index, "?"), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "corruptl")
			if err := layout.Write(ctx, dir, testImage(t, 1000), "old"); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "index.json"), []byte(index), 0o644); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, dir)
			_, err := Pull(ctx, ref, dir, "1")
			t.Logf("error: %v", err)
			var re *RegistryError
			if err == nil || errors.As(err, &re) || !errors.Is(err, layout.ErrInvalid) {
				t.Errorf("error %v (%T), want an layout.ErrInvalid that is no *RegistryError", err, err)
			}
			if prefix := "OCI layout " + dir + ": index.json: "; err != nil && !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("error %q, want %q...", err, prefix)
			}
			if after := snapshot(t, dir); after != before {
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
	ref := mustRef(t, reg.Ref("jails/big:1"))
	if _, err := Push(ctx, ref, testImage(t, 1<<20)); err != nil {
		t.Fatal(err)
	}
	mnt := t.TempDir()
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=256k"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
	dir := filepath.Join(mnt, "layout")
	_, err := Pull(ctx, ref, dir, "1")
	var re *RegistryError
	if err == nil || errors.As(err, &re) || !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "writing layout "+dir) {
		t.Errorf("pull onto a full disk: %v (%T), want a local ENOSPC error naming %s", err, err, dir)
	}
	assertNoStaging(t, dir) // at most the layout's lock file
}
