package layout

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/jailimg/jailimg/internal/ocidoc"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Size limits for the JSON files of a layout read by Image.
const (
	maxIndexSize    = 4 << 20
	maxManifestSize = 4 << 20
	maxConfigSize   = 16 << 20
)

// Image returns the image tagged tag in the OCI layout at dir. With an
// empty tag the layout must hold exactly one image, not counting the
// images attached to it (signatures, attestations: see AttachedTag) and
// the artifacts stored beside it (an SBOM: see WithReferrer), and the
// previous images SetTagKeepPrevious kept (see PreviousAnnotation).
//
// Before it returns, Image checks the manifest blob against the index
// descriptor (digest and size), the config blob against the manifest's
// config descriptor, that the config lists one diff_id per layer, and that
// every layer blob is a regular file of the declared size; the image then
// serves the manifest and config bytes it checked. Layer contents are not
// hashed here: readers of the layers (unpack) verify them as they stream.
// The index and the manifest must be what their descriptors say and nothing
// else, the config an image config, and every layer of a type jailimg
// reads (see DocumentError).
// A malformed or tampered layout fails with an error naming the layout and
// the file, matching ErrInvalid.
func Image(dir, tag string) (v1.Image, error) {
	raw, err := readFile(dir, "index.json", maxIndexSize)
	if err != nil {
		return nil, err
	}
	if err := ocidoc.CheckIndex(raw, types.OCIImageIndex); err != nil {
		return nil, invalid(dir, "index.json", &DocumentError{Kind: "index", Err: err})
	}
	var im v1.IndexManifest
	if err := json.Unmarshal(raw, &im); err != nil {
		return nil, invalid(dir, "index.json", err)
	}
	desc, err := pick(dir, im, tag)
	if err != nil {
		return nil, err
	}
	li := &layoutImage{dir: dir, desc: desc}
	if li.manifest, err = readBlob(dir, "manifest", desc, maxManifestSize); err != nil {
		return nil, err
	}
	mblob := blobName(desc.Digest)
	if err := ocidoc.CheckManifest(li.manifest, desc.MediaType); err != nil {
		return nil, invalid(dir, mblob, &DocumentError{Kind: "manifest", Err: err})
	}
	m, err := v1.ParseManifest(bytes.NewReader(li.manifest))
	if err != nil {
		return nil, invalid(dir, mblob, err)
	}
	if li.config, err = readBlob(dir, "config", m.Config, maxConfigSize); err != nil {
		return nil, err
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(li.config))
	if err != nil {
		return nil, invalid(dir, blobName(m.Config.Digest), err)
	}
	if len(cf.RootFS.DiffIDs) != len(m.Layers) {
		return nil, invalid(dir, blobName(m.Config.Digest), fmt.Errorf("%d diff_ids for the manifest's %d layers", len(cf.RootFS.DiffIDs), len(m.Layers)))
	}
	for i, l := range m.Layers {
		if err := statBlob(dir, fmt.Sprintf("layer %d", i), l); err != nil {
			return nil, err
		}
	}
	li.configDesc, li.layers, li.diffIDs = m.Config, m.Layers, cf.RootFS.DiffIDs
	return partial.CompressedToImage(li)
}

// pick returns the descriptor of the image tagged tag in the index of the
// layout at dir, or of its only image for an empty tag.
func pick(dir string, im v1.IndexManifest, tag string) (v1.Descriptor, error) {
	var tags []string
	var found []v1.Descriptor
	for _, d := range im.Manifests {
		t := d.Annotations[ocispec.AnnotationRefName]
		if t == "" && isArtifact(d) {
			continue // an artifact referring to an image (an SBOM), not one to pick
		}
		tags = append(tags, t)
		if tag == "" && (AttachedTag(t) || d.Annotations[PreviousAnnotation] != "") {
			continue // a signature or attestation of an image, or a previous image: not one to pick
		}
		if tag == "" || t == tag {
			found = append(found, d)
		}
	}
	sort.Strings(tags)
	switch {
	case len(found) == 0 && tag != "":
		return v1.Descriptor{}, fmt.Errorf("OCI layout %s has no image tagged %q (tags: %s)", dir, tag, strings.Join(tags, ", "))
	case len(found) == 0:
		return v1.Descriptor{}, invalid(dir, "index.json", fmt.Errorf("holds no image"))
	case len(found) > 1:
		return v1.Descriptor{}, fmt.Errorf("OCI layout %s holds %d images; name one as %s:TAG (tags: %s)", dir, len(found), dir, strings.Join(tags, ", "))
	}
	if !found[0].MediaType.IsImage() {
		return v1.Descriptor{}, invalid(dir, "index.json", fmt.Errorf("%s is a %s, not an image manifest", found[0].Digest, found[0].MediaType))
	}
	return found[0], nil
}

// blobName is the path of a blob inside a layout.
func blobName(h v1.Hash) string {
	return filepath.Join("blobs", h.Algorithm, h.Hex)
}
