package layout

import (
	"bytes"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	ocilayout "github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// appendReferrers writes each artifact of arts into the layout at p,
// checking that its subject is img.
func appendReferrers(p ocilayout.Path, img v1.Image, arts []v1.Image) error {
	if len(arts) == 0 {
		return nil
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	for _, art := range arts {
		m, err := art.Manifest()
		if err != nil {
			return err
		}
		if m.Subject == nil || m.Subject.Digest != digest || m.ArtifactType == "" {
			return fmt.Errorf("writing layout %s: an artifact to store beside %s must have it as subject and an artifactType", p, digest)
		}
		if err := p.AppendImage(art); err != nil {
			return fmt.Errorf("writing layout %s: %w", p, err)
		}
	}
	return nil
}

// isArtifact reports whether an index.json entry is an artifact: an image
// manifest whose artifactType is not an image config's media type
// (go-containerregistry gives an image's entry its config's type).
func isArtifact(d v1.Descriptor) bool {
	return d.MediaType.IsImage() && d.ArtifactType != "" && !types.MediaType(d.ArtifactType).IsConfig()
}

// Referrers returns the descriptors, as index.json lists them, of the
// artifacts in the layout at dir whose subject is the manifest with digest
// subject: untagged entries with an artifactType, each manifest read (at
// most 4 MiB) and checked against its descriptor before its subject is.
func Referrers(dir string, subject v1.Hash) ([]v1.Descriptor, error) {
	im, err := readIndex(dir)
	if err != nil {
		return nil, err
	}
	var out []v1.Descriptor
	for _, d := range im.Manifests {
		if !isArtifact(d) {
			continue
		}
		b, err := readBlob(dir, "referrer manifest", d, maxManifestSize)
		if err != nil {
			return nil, err
		}
		m, err := v1.ParseManifest(bytes.NewReader(b))
		if err != nil {
			return nil, invalid(dir, blobName(d.Digest), err)
		}
		if m.Subject != nil && m.Subject.Digest == subject {
			out = append(out, d)
		}
	}
	return out, nil
}

// Referrer returns the artifact desc (from Referrers) names in the layout
// at dir. Its manifest and config are checked against their descriptors
// and its blobs' sizes, as Image checks an image's; blob contents are for
// their reader to hash.
func Referrer(dir string, desc v1.Descriptor) (v1.Image, error) {
	return readArtifact(dir, desc)
}
