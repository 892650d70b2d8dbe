package layout_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	ocilayout "github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/jailimg/jailimg/internal/imagetest"
	"github.com/jailimg/jailimg/pkg/layout"
)

func TestAttachedTag(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		tag  string
		want bool
	}{
		{"sha256-" + hex + ".sig", true},
		{"sha256-" + hex + ".att", true},
		{"sha256-" + hex + ".sbom", true},
		{"sha256-" + hex + ".txt", false},
		{"sha256-" + hex, false},
		{"sha256-" + hex[2:] + ".sig", false},
		{"sha256-" + strings.ToUpper(hex) + ".sig", false},
		{"sha512-" + hex + ".sig", false},
		{"latest", false},
		{"", false},
	} {
		t.Run(tc.tag, func(t *testing.T) {
			if got := layout.AttachedTag(tc.tag); got != tc.want {
				t.Errorf("AttachedTag(%q) = %v, want %v", tc.tag, got, tc.want)
			}
		})
	}
}

// TestAttachedImages checks that an image attached to another in the
// layout (a signature: a layer that is not tar) is not counted by Image
// with an empty tag, is refused by Image by its tag (it is no jail image),
// and is read by Artifact, whose blobs are checked.
func TestAttachedImages(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "l")
	img := randomImage(t)
	if err := layout.Write(ctx, dir, img, "1"); err != nil {
		t.Fatal(err)
	}
	d := imagetest.Digest(t, img)
	tag := "sha256-" + d.Hex + ".sig"
	sig, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{
		Layer: static.NewLayer([]byte(`{"critical":{}}`), "application/vnd.dev.cosign.simplesigning.v1+json"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := layout.Update(ctx, dir, func(p ocilayout.Path) error { return layout.SetTag(p, sig, tag) }); err != nil {
		t.Fatal(err)
	}
	if got, err := layout.Image(dir, ""); err != nil || imagetest.Digest(t, got) != d {
		t.Errorf("Image(dir, \"\") beside a signature: %v, want the image", err)
	}
	if _, err := layout.Image(dir, tag); !errors.Is(err, layout.ErrInvalid) {
		t.Errorf("Image(dir, %s): %v, want ErrInvalid (not a jail image)", tag, err)
	}
	got, err := layout.Artifact(dir, tag)
	if err != nil {
		t.Fatalf("Artifact: %v", err)
	}
	if imagetest.Digest(t, got) != imagetest.Digest(t, sig) {
		t.Error("Artifact read another image")
	}
	if _, err := layout.Artifact(dir, "sha256-"+strings.Repeat("0", 64)+".sig"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Artifact of a missing tag: %v, want fs.ErrNotExist", err)
	}
	if _, err := layout.Artifact(filepath.Join(dir, "missing"), tag); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Artifact of a missing layout: %v, want fs.ErrNotExist", err)
	}
	m, err := sig.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "blobs", "sha256", m.Config.Digest.Hex), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := layout.Artifact(dir, tag); !errors.Is(err, layout.ErrInvalid) {
		t.Errorf("Artifact with its config blob altered: %v, want ErrInvalid", err)
	}
}
