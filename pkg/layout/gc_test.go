package layout_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	ocilayout "github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/jailimg/jailimg/internal/imagetest"
	"github.com/jailimg/jailimg/pkg/layout"
)

// attachedTo returns a one-layer document attached to subject: by the
// OCI 1.1 subject field when viaSubject, else to be tagged in cosign's scheme.
func attachedTo(t *testing.T, subject v1.Image, payload string, viaSubject bool) v1.Image {
	t.Helper()
	doc, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{
		Layer: static.NewLayer([]byte(payload), "application/vnd.dev.cosign.simplesigning.v1+json"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if viaSubject {
		d, err := partial.Descriptor(subject)
		if err != nil {
			t.Fatal(err)
		}
		doc = mutate.Subject(doc, *d).(v1.Image)
	}
	return doc
}

// blobsOf lists the blob hex digests an image needs: manifest, config, layers.
func blobsOf(t *testing.T, imgs ...v1.Image) []string {
	t.Helper()
	var out []string
	for _, img := range imgs {
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, imagetest.Digest(t, img).Hex, m.Config.Digest.Hex)
		for _, l := range m.Layers {
			out = append(out, l.Digest.Hex)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestGC pulls three images into one tag in turn, keeping the previous
// one, each with a cosign signature and an OCI 1.1 referrer: GC keeps the
// tagged image, the previous one and what is attached to them, and removes
// the first image, its documents and their blobs. The previous image is
// read by its tag.
func TestGC(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "cache")
	var imgs, docs [3][]v1.Image
	for i := range 3 {
		img := randomImage(t)
		sig := attachedTo(t, img, "sig of "+imagetest.Digest(t, img).String(), false)
		sbom := attachedTo(t, img, "sbom of "+imagetest.Digest(t, img).String(), true)
		imgs[i], docs[i] = []v1.Image{img}, []v1.Image{sig, sbom}
		err := layout.Update(ctx, dir, func(p ocilayout.Path) error {
			if err := layout.SetTagKeepPrevious(p, img, "1.0"); err != nil {
				return err
			}
			if err := layout.SetTag(p, sig, "sha256-"+imagetest.Digest(t, img).Hex+".sig"); err != nil {
				return err
			}
			return p.AppendImage(sbom)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// A file under blobs/ that is not a blob is not GC's to remove.
	if err := os.WriteFile(filepath.Join(dir, "blobs", "sha256", "README"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := layout.GC(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	want := append(blobsOf(t, slices.Concat(imgs[1], imgs[2], docs[1], docs[2])...), "README")
	slices.Sort(want)
	if got := imagetest.BlobFiles(t, dir); !slices.Equal(got, want) {
		t.Errorf("blobs after GC:\n%q\nwant those of the last two images and their documents:\n%q", got, want)
	}
	gone := slices.DeleteFunc(blobsOf(t, slices.Concat(imgs[0], docs[0])...), func(h string) bool { return slices.Contains(want, h) })
	if res.Images != 2 || res.Attached != 4 || res.Dropped != 2 || res.Blobs != len(gone) || res.Bytes <= 0 {
		t.Errorf("GC result %+v, want 2 images, 4 attached kept, 2 dropped, %d blobs removed", res, len(gone))
	}
	// (Image with an empty tag would find the untagged OCI 1.1 referrers too.)
	for tag, img := range map[string]v1.Image{"1.0": imgs[2][0], layout.PreviousTag("1.0"): imgs[1][0]} {
		got, err := layout.Image(dir, tag)
		if err != nil || imagetest.Digest(t, got) != imagetest.Digest(t, img) {
			t.Errorf("Image(%q) after GC: %v, want image %s", tag, err, imagetest.Digest(t, img))
		}
	}
	again, err := layout.GC(ctx, dir)
	if err != nil || again.Blobs != 0 || again.Dropped != 0 {
		t.Errorf("a second GC: %+v, %v; want nothing to do", again, err)
	}
}

// TestSetTagKeepPrevious: pointing a tag at another image keeps the one it
// named as TAG.previous, one generation deep; the same image again changes
// nothing; the layout's only image is still the tagged one.
func TestSetTagKeepPrevious(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "cache")
	a, b, c := randomImage(t), randomImage(t), randomImage(t)
	for _, step := range []struct {
		img, prev v1.Image // prev nil: no previous image
	}{{a, nil}, {a, nil}, {b, a}, {c, b}} {
		if err := layout.Update(ctx, dir, func(p ocilayout.Path) error { return layout.SetTagKeepPrevious(p, step.img, "1.0") }); err != nil {
			t.Fatal(err)
		}
		if got, err := layout.Image(dir, ""); err != nil || imagetest.Digest(t, got) != imagetest.Digest(t, step.img) {
			t.Fatalf("Image(\"\"): %v, want %s", err, imagetest.Digest(t, step.img))
		}
		got, err := layout.Image(dir, layout.PreviousTag("1.0"))
		if step.prev == nil && err == nil || step.prev != nil && (err != nil || imagetest.Digest(t, got) != imagetest.Digest(t, step.prev)) {
			t.Fatalf("Image(1.0.previous): %v, want %v", err, step.prev)
		}
	}
}
