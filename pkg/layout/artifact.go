package layout

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// AttachedTag reports whether tag names an image attached to another in
// cosign's tag scheme: sha256-HEX.sig (signatures), .att (attestations)
// or .sbom, HEX being the other image's manifest digest. Image with an
// empty tag does not count such images.
func AttachedTag(tag string) bool {
	hex, suffix, ok := strings.Cut(strings.TrimPrefix(tag, "sha256-"), ".")
	if !ok || len(hex) != 64 || !strings.HasPrefix(tag, "sha256-") {
		return false
	}
	for _, c := range hex {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return suffix == "sig" || suffix == "att" || suffix == "sbom"
}

// Artifact returns the image tagged tag in the OCI layout at dir without
// the checks that make it a jail image: an image attached to another (see
// AttachedTag), whose layers are signatures or attestations, not tar. Its
// manifest and config blobs are checked against their descriptors (digest
// and size, at most 4 and 16 MiB) and its layer blobs' sizes, as Image
// checks them; layer contents are for their reader to hash. No image
// tagged tag, or no layout at dir, is an error matching fs.ErrNotExist.
func Artifact(dir, tag string) (v1.Image, error) {
	im, err := readIndex(dir)
	if err != nil {
		return nil, err
	}
	var desc *v1.Descriptor
	for i, d := range im.Manifests {
		if d.Annotations[ocispec.AnnotationRefName] == tag && d.MediaType.IsImage() {
			desc = &im.Manifests[i]
		}
	}
	if desc == nil {
		return nil, fmt.Errorf("OCI layout %s has no image tagged %q: %w", dir, tag, fs.ErrNotExist)
	}
	return readArtifact(dir, *desc)
}

// readArtifact returns the image desc names in the layout at dir, an
// attached image or an OCI 1.1 artifact: its manifest and config blobs
// checked against their descriptors, its layer blobs' sizes checked, and
// its layers served as stored (uncompressed documents).
func readArtifact(dir string, desc v1.Descriptor) (v1.Image, error) {
	li := &layoutImage{dir: dir, desc: desc}
	var err error
	if li.manifest, err = readBlob(dir, "manifest", desc, maxManifestSize); err != nil {
		return nil, err
	}
	m, err := v1.ParseManifest(bytes.NewReader(li.manifest))
	if err != nil {
		return nil, invalid(dir, blobName(desc.Digest), err)
	}
	if li.config, err = readBlob(dir, "config", m.Config, maxConfigSize); err != nil {
		return nil, err
	}
	li.diffIDs = make([]v1.Hash, len(m.Layers))
	for i, l := range m.Layers {
		if err := statBlob(dir, fmt.Sprintf("layer %d", i), l); err != nil {
			return nil, err
		}
		li.diffIDs[i] = l.Digest // attached documents are stored uncompressed
	}
	li.configDesc, li.layers = m.Config, m.Layers
	return partial.CompressedToImage(li)
}

// readIndex returns the index.json of the layout at dir, at most 4 MiB,
// parsed without the checks Image makes of a jail image's index.
func readIndex(dir string) (v1.IndexManifest, error) {
	raw, err := readFile(dir, "index.json", maxIndexSize)
	if err != nil {
		return v1.IndexManifest{}, err
	}
	var im v1.IndexManifest
	if err := json.Unmarshal(raw, &im); err != nil {
		return v1.IndexManifest{}, invalid(dir, "index.json", err)
	}
	return im, nil
}
