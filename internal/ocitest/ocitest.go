// Package ocitest writes OCI images document by document, for tests of how
// jailimg reads images made elsewhere: every index, manifest and config is
// JSON the test chose, well-formed or not, and goes into an OCI layout or a
// registry byte for byte, under the media type the test gives it. Good
// lists images jailimg must accept (a Docker v2 schema 2 image, an OCI
// image, an OCI image behind an index); Foreign one image of each class it
// must refuse. It is a test helper, not a promise: its API may change.
package ocitest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/zstd"
)

// Blob is a blob and the media type its descriptor gives it.
type Blob struct {
	MediaType types.MediaType
	Data      []byte
	URLs      []string // the descriptor's urls, for foreign layers
}

// Digest returns the blob's sha256 digest.
func (b Blob) Digest() v1.Hash {
	sum := sha256.Sum256(b.Data)
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
}

// Descriptor returns the blob's descriptor.
func (b Blob) Descriptor() v1.Descriptor {
	return v1.Descriptor{MediaType: b.MediaType, Digest: b.Digest(), Size: int64(len(b.Data)), URLs: b.URLs}
}

// RawManifest implements remote.Taggable, for a manifest or index blob.
func (b Blob) RawManifest() ([]byte, error) { return b.Data, nil }

// Image is the documents of one image.
type Image struct {
	// Index, when set, is the index a reference or a layout's index.json
	// names; else they name Manifest.
	Index *Blob
	// Manifests are the other documents Index reaches (a nested index),
	// each after those it names.
	Manifests []Blob
	// Manifest is the image manifest.
	Manifest Blob
	// Blobs are the config and the layers.
	Blobs []Blob
}

// Top is the document a reference or a layout's index.json names.
func (img Image) Top() Blob {
	if img.Index != nil {
		return *img.Index
	}
	return img.Manifest
}

// Case is an image jailimg must refuse, and what it must say.
type Case struct {
	Name  string
	Image Image
	// Want is part of the error message.
	Want string
	// Layout is false for a class a layout cannot hold, or jailimg refused
	// from layouts before (a nested index).
	Layout bool
	// Distribution is true when docker-registry 2.8 stores the documents:
	// it refuses the others at push, as some other registries do not.
	Distribution bool
}

// Tar returns a tar archive of regular files, name to content, in the
// order given as pairs.
func Tar(t testing.TB, nameContent ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i := 0; i+1 < len(nameContent); i += 2 {
		body := nameContent[i+1]
		h := &tar.Header{Name: nameContent[i], Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// layerOf compresses a tar archive as mt says and returns the layer blob
// and its diff_id.
func layerOf(t testing.TB, mt types.MediaType, archive []byte) (Blob, v1.Hash) {
	t.Helper()
	var buf bytes.Buffer
	switch mt {
	case types.OCILayerZStd:
		w, err := zstd.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(archive)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	case types.OCIUncompressedLayer, types.DockerUncompressedLayer, types.OCIUncompressedRestrictedLayer:
		buf.Write(archive)
	default: // gzip, also for types jailimg does not know
		w := gzip.NewWriter(&buf)
		w.Write(archive)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return Blob{MediaType: mt, Data: buf.Bytes()}, Blob{Data: archive}.Digest()
}

// mustJSON marshals v.
func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Spec says how to make an image: its media types and layers, and edits
// to its manifest's and index's JSON.
type Spec struct {
	ManifestType, ConfigType types.MediaType
	// LayerTypes are the layers' media types; each layer holds one file.
	LayerTypes []types.MediaType
	// LayerURLs are given to every layer's descriptor.
	LayerURLs []string
	// EditManifest changes the manifest's JSON object before it is encoded.
	EditManifest func(m map[string]any)
	// IndexType, when set, puts an index of this media type in front.
	IndexType types.MediaType
	// EditIndex changes the index's JSON object before it is encoded.
	EditIndex func(m map[string]any)
	// Nested puts a second index between the index and the manifest.
	Nested bool
}

// Make builds the image spec describes.
func Make(t testing.TB, spec Spec) Image {
	t.Helper()
	var img Image
	var diffIDs []string
	var layers []v1.Descriptor
	for i, mt := range spec.LayerTypes {
		l, diffID := layerOf(t, mt, Tar(t, "layer"+string(rune('0'+i)), "content of layer "+string(rune('0'+i))+"\n"))
		l.URLs = spec.LayerURLs
		img.Blobs = append(img.Blobs, l)
		layers = append(layers, l.Descriptor())
		diffIDs = append(diffIDs, diffID.String())
	}
	cfg := Blob{MediaType: spec.ConfigType, Data: mustJSON(t, map[string]any{
		"architecture": "amd64", "os": "linux",
		"config": map[string]any{"Entrypoint": []string{"/layer0"}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs},
	})}
	img.Blobs = append([]Blob{cfg}, img.Blobs...)
	m := map[string]any{"schemaVersion": 2, "mediaType": spec.ManifestType, "config": cfg.Descriptor(), "layers": layers}
	if spec.EditManifest != nil {
		spec.EditManifest(m)
	}
	img.Manifest = Blob{MediaType: spec.ManifestType, Data: mustJSON(t, m)}
	if spec.IndexType == "" {
		return img
	}
	child := img.Manifest
	if spec.Nested {
		child = indexOf(t, spec.IndexType, child, nil)
		img.Manifests = append(img.Manifests, child)
	}
	index := indexOf(t, spec.IndexType, child, spec.EditIndex)
	img.Index = &index
	return img
}

// indexOf returns an index of media type mt naming child for linux/amd64.
func indexOf(t testing.TB, mt types.MediaType, child Blob, edit func(map[string]any)) Blob {
	d := child.Descriptor()
	d.Platform = &v1.Platform{OS: "linux", Architecture: "amd64"}
	m := map[string]any{"schemaVersion": 2, "mediaType": mt, "manifests": []v1.Descriptor{d}}
	if edit != nil {
		edit(m)
	}
	return Blob{MediaType: mt, Data: mustJSON(t, m)}
}

// OCI is the Spec of a well-formed OCI image: gzip, zstd and plain tar layers.
func OCI() Spec {
	return Spec{
		ManifestType: types.OCIManifestSchema1, ConfigType: types.OCIConfigJSON,
		LayerTypes: []types.MediaType{types.OCILayer, types.OCILayerZStd, types.OCIUncompressedLayer},
	}
}

// Docker is the Spec of a well-formed Docker v2 schema 2 image: gzip and
// plain tar layers.
func Docker() Spec {
	return Spec{
		ManifestType: types.DockerManifestSchema2, ConfigType: types.DockerConfigJSON,
		LayerTypes: []types.MediaType{types.DockerLayer, types.DockerUncompressedLayer},
	}
}

// Good returns the images jailimg must accept, by name.
func Good(t testing.TB) map[string]Image {
	withIndex := OCI()
	withIndex.IndexType = types.OCIImageIndex
	return map[string]Image{
		"docker v2 schema 2":  Make(t, Docker()),
		"oci":                 Make(t, OCI()),
		"oci behind an index": Make(t, withIndex),
	}
}

// Foreign returns one image of each class jailimg must refuse.
func Foreign(t testing.TB) []Case {
	t.Helper()
	with := func(base Spec, change func(*Spec)) Image {
		change(&base)
		return Make(t, base)
	}
	set := func(key string, value any) func(map[string]any) {
		return func(m map[string]any) { m[key] = value }
	}
	aDescriptor := Blob{MediaType: types.OCIManifestSchema1, Data: []byte("{}")}.Descriptor()
	const ambiguousManifest = `has both "layers" and "manifests"`
	return []Case{
		{"oci manifest that is also an index", with(OCI(), func(s *Spec) {
			s.EditManifest = set("manifests", []v1.Descriptor{aDescriptor})
		}), ambiguousManifest, true, false},
		{"docker manifest that is also an index", with(Docker(), func(s *Spec) {
			s.EditManifest = set("manifests", []v1.Descriptor{aDescriptor})
		}), ambiguousManifest, true, true},
		{"index that is also a manifest", with(OCI(), func(s *Spec) {
			s.IndexType = types.OCIImageIndex
			s.EditIndex = set("layers", []v1.Descriptor{aDescriptor})
		}), `has "manifests" and also "layers"`, true, false},
		{"config not an image config", with(OCI(), func(s *Spec) {
			s.ConfigType = "application/vnd.cncf.helm.config.v1+json"
		}), "not an image config", true, true},
		{"manifest mediaType disagrees with its descriptor", with(OCI(), func(s *Spec) {
			s.EditManifest = set("mediaType", types.DockerManifestSchema2)
		}), "disagrees with its descriptor", true, false},
		{"index mediaType disagrees with its descriptor", with(OCI(), func(s *Spec) {
			s.IndexType = types.OCIImageIndex
			s.EditIndex = set("mediaType", types.DockerManifestList)
		}), "disagrees with its descriptor", true, false},
		{"unknown layer media type", with(OCI(), func(s *Spec) {
			s.LayerTypes = []types.MediaType{types.OCILayer, "application/vnd.example.squashfs"}
		}), "is not a layer jailimg reads", true, true},
		{"non-distributable layer", with(OCI(), func(s *Spec) {
			s.LayerTypes = []types.MediaType{types.OCIRestrictedLayer}
		}), "non-distributable", true, true},
		{"docker foreign layer", with(Docker(), func(s *Spec) {
			s.LayerTypes = []types.MediaType{types.DockerForeignLayer}
			s.LayerURLs = []string{"http://127.0.0.1:9/never-fetched"}
		}), "non-distributable", true, false},
		{"layer with URLs", with(OCI(), func(s *Spec) {
			s.LayerURLs = []string{"http://127.0.0.1:9/never-fetched"}
		}), "URLs to fetch it from", true, false},
		{"nested index", with(OCI(), func(s *Spec) {
			s.IndexType, s.Nested = types.OCIImageIndex, true
		}), "nested index", false, true},
	}
}

// WriteLayout writes img into a new OCI layout at dir: its blobs, and an
// index.json that is img.Index byte for byte, or else an OCI index naming
// img.Manifest tagged tag.
func WriteLayout(t testing.TB, dir string, img Image, tag string) {
	t.Helper()
	index := img.Top()
	if img.Index == nil {
		d := img.Manifest.Descriptor()
		d.Annotations = map[string]string{"org.opencontainers.image.ref.name": tag}
		index = Blob{Data: mustJSON(t, map[string]any{"schemaVersion": 2, "mediaType": types.OCIImageIndex, "manifests": []v1.Descriptor{d}})}
	}
	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, b := range append(append([]Blob{img.Manifest}, img.Manifests...), img.Blobs...) {
		if err := os.WriteFile(filepath.Join(blobs, b.Digest().Hex), b.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string][]byte{"oci-layout": []byte(`{"imageLayoutVersion":"1.0.0"}`), "index.json": index.Data}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Push uploads img to ref as it is, with opts (remote.WithTransport, ...):
// its blobs, the manifests by digest, and the top document at ref, each
// manifest or index under its own media type as Content-Type.
func Push(t testing.TB, ref name.Reference, img Image, opts ...remote.Option) error {
	t.Helper()
	for _, b := range img.Blobs {
		// Uploaded under a neutral type: remote.WriteLayer skips
		// non-distributable layers, and a blob upload carries no type.
		if err := remote.WriteLayer(ref.Context(), static.NewLayer(b.Data, "application/octet-stream"), opts...); err != nil {
			return err
		}
	}
	for _, m := range append([]Blob{img.Manifest}, img.Manifests...) {
		if err := remote.Put(ref.Context().Digest(m.Digest().String()), manifest{m}, opts...); err != nil {
			return err
		}
	}
	return remote.Put(ref, manifest{img.Top()}, opts...)
}

// manifest is a Blob pushed as a manifest: remote.Put sends MediaType as
// its Content-Type.
type manifest struct{ Blob }

// MediaType is the Content-Type remote.Put sends.
func (m manifest) MediaType() (types.MediaType, error) { return m.Blob.MediaType, nil }
