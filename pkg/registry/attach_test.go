package registry_test

import (
	"context"
	"io"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/jailimg/jailimg/internal/imagetest"
	"github.com/jailimg/jailimg/internal/registrytest"
	"github.com/jailimg/jailimg/pkg/layout"
	"github.com/jailimg/jailimg/pkg/referrer"
	"github.com/jailimg/jailimg/pkg/registry"
)

// TestAttach stores an artifact beside an image in a layout, then pushes
// both: remote.Referrers finds the artifact from the image's digest on
// go-containerregistry's registry (referrers API) and on Debian's
// docker-registry (which has none: the tag schema's index), and its
// document comes back byte for byte.
func TestAttach(t *testing.T) {
	ctx := context.Background()
	img := imagetest.Image(t, 1000)
	desc, err := partial.Descriptor(img)
	if err != nil {
		t.Fatal(err)
	}
	doc := []byte(`{"spdxVersion":"SPDX-2.3"}`)
	art, err := referrer.New(*desc, "application/spdx+json", nil, referrer.Document{MediaType: "application/spdx+json", Data: doc})
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(art); err != nil {
		t.Errorf("artifact: %v", err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	if err := layout.Write(ctx, dir, img, "1", layout.WithReferrer(art)); err != nil {
		t.Fatal(err)
	}
	if _, err := layout.Image(dir, ""); err != nil {
		t.Errorf("the layout's only image, the artifact beside it: %v", err)
	}
	descs, err := layout.Referrers(dir, desc.Digest)
	if err != nil || len(descs) != 1 || descs[0].ArtifactType != "application/spdx+json" {
		t.Fatalf("Referrers: %+v %v", descs, err)
	}
	stored, err := layout.Referrer(dir, descs[0])
	if err != nil {
		t.Fatal(err)
	}
	distribution := registrytest.Start(t).Addr
	for _, host := range []string{imagetest.InProcess(t), distribution} {
		t.Run(host, func(t *testing.T) {
			ref := imagetest.Ref(t, host+"/jails/x:1")
			if _, err := registry.Push(ctx, ref, img); err != nil {
				t.Fatal(err)
			}
			if _, err := registry.Attach(ctx, ref.Context(), stored); err != nil {
				t.Fatal(err)
			}
			idx, err := remote.Referrers(ref.Context().Digest(desc.Digest.String()))
			if err != nil {
				t.Fatal(err)
			}
			im, _ := idx.IndexManifest()
			if len(im.Manifests) != 1 || im.Manifests[0].ArtifactType != "application/spdx+json" {
				t.Fatalf("referrers of %s: %+v", desc.Digest, im.Manifests)
			}
			if host == distribution { // no referrers API: the tag schema's index
				if _, err := remote.Head(ref.Context().Tag("sha256-" + desc.Digest.Hex)); err != nil {
					t.Errorf("no referrers tag on docker-registry: %v", err)
				}
			}
			got := fetchDoc(t, ref.Context().Digest(im.Manifests[0].Digest.String()))
			if string(got) != string(doc) {
				t.Errorf("document %q, want %q", got, doc)
			}
		})
	}
}

func fetchDoc(t *testing.T, d name.Digest) []byte {
	t.Helper()
	a, err := remote.Image(d)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := a.Layers()
	if err != nil || len(ls) != 1 {
		t.Fatalf("layers %v %v", ls, err)
	}
	rc, err := ls[0].Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return b
}
