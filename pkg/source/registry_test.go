package source_test

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/jailimg/jailimg/internal/imagetest"
	"github.com/jailimg/jailimg/internal/registrytest"
	"github.com/jailimg/jailimg/pkg/registry"
	"github.com/jailimg/jailimg/pkg/source"
)

// The tests in this file run against Debian's docker-registry.

// readAll opens the image the SOURCE s names and reads its config and
// every layer to the end, as unpack does, returning the first error.
func readAll(ctx context.Context, s string) error {
	src, err := source.Parse(s)
	if err != nil {
		return err
	}
	img, err := src.Image(ctx, registry.WithBackoff(remote.Backoff{Steps: 1}))
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
// SOURCE, opening it or reading its layers, is a *registry.Error, as Pull's
// are, so unpack reports it as a registry error.
func TestSourceRegistryErrors(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.Start(t)
	img := imagetest.Image(t, 1000)
	var layer v1.Hash // of the image last pushed
	push := func(t *testing.T, repo string) string {
		img := imagetest.Image(t, 200_000) // a layer of its own
		m, _ := img.Manifest()
		layer = m.Layers[0].Digest
		ref := reg.Ref(repo)
		if _, err := registry.Push(ctx, imagetest.Ref(t, ref), img); err != nil {
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
			if err := remote.WriteIndex(imagetest.Ref(t, ref), idx); err != nil {
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
			var re *registry.Error
			if !errors.As(err, &re) {
				t.Fatalf("error %v (%T), want a *registry.Error", err, err)
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
	img := imagetest.Image(t, 100_000, 5000)
	want, _ := img.Digest()
	if _, err := registry.Push(ctx, imagetest.Ref(t, reg.Ref("jails/a:1")), img); err != nil {
		t.Fatal(err)
	}
	src, err := source.Parse(reg.Ref("jails/a:1"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := src.Image(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := got.Digest(); d != want {
		t.Fatalf("digest %s, want %s", d, want)
	}
	if err := readAll(ctx, reg.Ref("jails/a:1")); err != nil {
		t.Fatal(err)
	}
	res, err := registry.Push(ctx, imagetest.Ref(t, reg.Ref("jails/b:1")), got)
	if err != nil || res.Digest != want {
		t.Fatalf("pushing the registry image on: %v, %v", res, err)
	}
	if !imagetest.HoldsImage(t, reg.Ref("jails/b:1")) {
		t.Error("no image at jails/b:1")
	}
}
