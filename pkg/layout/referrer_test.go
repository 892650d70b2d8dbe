package layout_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/partial"

	"github.com/jailimg/jailimg/internal/imagetest"
	"github.com/jailimg/jailimg/pkg/layout"
	"github.com/jailimg/jailimg/pkg/referrer"
)

// TestUntaggedImageBesideArtifact: an image written without a tag is still
// the layout's only image when an artifact sits beside it (index.json gives
// an image's entry an artifactType too: its config's media type).
func TestUntaggedImageBesideArtifact(t *testing.T) {
	img := imagetest.Image(t, 100)
	desc, _ := partial.Descriptor(img)
	art, err := referrer.New(*desc, "application/spdx+json", nil, referrer.Document{MediaType: "application/spdx+json", Data: []byte("{}")})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	if err := layout.Write(context.Background(), dir, img, "", layout.WithReferrer(art)); err != nil {
		t.Fatal(err)
	}
	got, err := layout.Image(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := got.Digest(); d != desc.Digest {
		t.Errorf("layout.Image picked %s, want the image %s", d, desc.Digest)
	}
}
