package layout_test

import (
	"context"
	"path/filepath"
	"testing"

	ocilayout "github.com/google/go-containerregistry/pkg/v1/layout"
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

// TestReferrerBesideSignature: a layout holding an image, its SBOM (an OCI
// 1.1 referrer, untagged) and then a signature in cosign's tag scheme
// (added by Update, as jailimg sign and build --sign-key do) still gives
// the image for an empty tag, the SBOM to Referrers and the signature to
// Artifact: neither form hides the other.
func TestReferrerBesideSignature(t *testing.T) {
	ctx := context.Background()
	img := imagetest.Image(t, 100)
	desc, _ := partial.Descriptor(img)
	art, err := referrer.New(*desc, "application/spdx+json", nil, referrer.Document{MediaType: "application/spdx+json", Data: []byte("{}")})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	if err := layout.Write(ctx, dir, img, "1", layout.WithReferrer(art)); err != nil {
		t.Fatal(err)
	}
	sig := imagetest.Image(t, 10) // stands for the attached image: Artifact does not read its layers
	tag := "sha256-" + desc.Digest.Hex + ".sig"
	if err := layout.Update(ctx, dir, func(p ocilayout.Path) error { return layout.SetTag(p, sig, tag) }); err != nil {
		t.Fatal(err)
	}
	if got, err := layout.Image(dir, ""); err != nil {
		t.Errorf("the layout's only image: %v", err)
	} else if d, _ := got.Digest(); d != desc.Digest {
		t.Errorf("layout.Image picked %s, want the image %s", d, desc.Digest)
	}
	refs, err := layout.Referrers(dir, desc.Digest)
	if err != nil || len(refs) != 1 {
		t.Fatalf("Referrers after the signature was added: %v, %v", refs, err)
	}
	if _, err := layout.Referrer(dir, refs[0]); err != nil {
		t.Errorf("Referrer: %v", err)
	}
	if _, err := layout.Artifact(dir, tag); err != nil {
		t.Errorf("Artifact %s: %v", tag, err)
	}
}
