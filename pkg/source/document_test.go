package source_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/jailimg/jailimg/internal/imagetest"
	"github.com/jailimg/jailimg/internal/ocitest"
	"github.com/jailimg/jailimg/internal/registrytest"
	"github.com/jailimg/jailimg/pkg/image"
	"github.com/jailimg/jailimg/pkg/layout"
	"github.com/jailimg/jailimg/pkg/registry"
	"github.com/jailimg/jailimg/pkg/source"
)

// registriesFor returns the registries an image is read from in these
// tests: go-containerregistry's (crane registry serve's), which stores a
// manifest as pushed, and Debian's docker-registry when it stores this kind
// of document (it refuses some ambiguous ones itself at push).
func registriesFor(reg *registrytest.Registry, ggcr string, distribution bool) []string {
	if distribution {
		return []string{ggcr, reg.Addr}
	}
	return []string{ggcr}
}

// TestForeignDocuments reads one image of each class jailimg refuses
// (ocitest.Foreign: ambiguous documents, a config that is no image config,
// a mediaType field that disagrees with the descriptor, layers of unknown,
// non-distributable or remote media) from an OCI layout (layout.Image) and
// from registries (Source.Image, Pull). Each read must fail matching
// layout.ErrInvalid, naming the layout or reference, the document and the fault;
// the failed Pull must leave the layout it pulled into as it was.
func TestForeignDocuments(t *testing.T) {
	ctx := context.Background()
	ggcr := imagetest.InProcess(t)
	reg := registrytest.Start(t)
	refused := func(t *testing.T, what string, err error, names ...string) {
		t.Helper()
		t.Logf("%s: %v", what, err)
		if !errors.Is(err, layout.ErrInvalid) {
			t.Errorf("%s: %v, want an error matching layout.ErrInvalid", what, err)
			return
		}
		for _, s := range names {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: %q does not say %q", what, err, s)
			}
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error of more than one line", what)
		}
	}
	for _, tc := range ocitest.Foreign(t) {
		t.Run(tc.Name, func(t *testing.T) {
			top := tc.Image.Top()
			if tc.Layout {
				dir := filepath.Join(t.TempDir(), "layout")
				ocitest.WriteLayout(t, dir, tc.Image, "1")
				file := "index.json"
				if tc.Image.Index == nil {
					file = imagetest.BlobName(top.Digest())
				}
				_, err := layout.Image(dir, "")
				refused(t, "layout.Image", err, dir, file, tc.Want)
			}
			for _, host := range registriesFor(reg, ggcr, tc.Distribution) {
				ref := imagetest.Ref(t, host+"/foreign/image:1")
				if err := ocitest.Push(t, ref, tc.Image); err != nil {
					t.Fatalf("pushing to %s: %v", host, err)
				}
				_, err := source.Source{Ref: ref}.Image(ctx)
				refused(t, "Source.Image from "+host, err, ref.String(), top.Digest().String(), tc.Want)

				dir := filepath.Join(t.TempDir(), "layout")
				if err := layout.Write(ctx, dir, imagetest.Image(t, 1000), "1"); err != nil {
					t.Fatal(err)
				}
				before := imagetest.Snapshot(t, dir)
				_, err = registry.Pull(ctx, ref, dir, "1")
				refused(t, "Pull from "+host, err, ref.String(), top.Digest().String(), tc.Want)
				if after := imagetest.Snapshot(t, dir); after != before {
					t.Errorf("Pull from %s changed the layout:\nbefore\n%s\nafter\n%s", host, before, after)
				}
			}
		})
	}
}

// TestGoodDocuments is TestForeignDocuments' positive control: a Docker v2
// schema 2 image, an OCI image with gzip, zstd and plain tar layers, and one
// behind an OCI index, read from a layout and from both registries.
func TestGoodDocuments(t *testing.T) {
	ctx := context.Background()
	ggcr := imagetest.InProcess(t)
	reg := registrytest.Start(t)
	for name, img := range ocitest.Good(t) {
		t.Run(name, func(t *testing.T) {
			want := img.Manifest.Digest()
			dir := filepath.Join(t.TempDir(), "layout")
			ocitest.WriteLayout(t, dir, img, "1")
			li, err := layout.Image(dir, "")
			if err != nil {
				t.Fatalf("layout.Image: %v", err)
			}
			listsLayers(t, "layout.Image", li, len(img.Blobs)-1)
			for _, host := range registriesFor(reg, ggcr, true) {
				ref := imagetest.Ref(t, host+"/good/image:1")
				if err := ocitest.Push(t, ref, img); err != nil {
					t.Fatalf("pushing to %s: %v", host, err)
				}
				ri, err := source.Source{Ref: ref}.Image(ctx)
				if err != nil {
					t.Fatalf("Source.Image from %s: %v", host, err)
				}
				listsLayers(t, "Source.Image from "+host, ri, len(img.Blobs)-1)
				pulled := filepath.Join(t.TempDir(), "pulled")
				got, err := registry.Pull(ctx, ref, pulled, "1")
				if err != nil || got != want {
					t.Errorf("Pull from %s: %s, %v; want %s", host, got, err, want)
				}
			}
		})
	}
}

// listsLayers checks that Files reads every layer of img (ocitest's layer
// i holds the file /layerI).
func listsLayers(t *testing.T, what string, img v1.Image, layers int) {
	t.Helper()
	files, err := image.Files(context.Background(), img)
	if err != nil {
		t.Errorf("%s: listing files: %v", what, err)
		return
	}
	var got []string
	for _, f := range files {
		got = append(got, f.Path)
	}
	var want []string
	for i := range layers {
		want = append(want, fmt.Sprintf("/layer%d", i))
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("%s: files %v, want %v", what, got, want)
	}
}
