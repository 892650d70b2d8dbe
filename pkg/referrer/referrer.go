// Package referrer makes OCI 1.1 artifacts that refer to an image: an
// image manifest with an artifactType, the empty config
// (application/vnd.oci.empty.v1+json, "{}"), one layer per document, and
// the image's descriptor as its subject. Such an artifact is stored beside
// its image: in an OCI layout by package layout (WithReferrer, Referrers),
// in a registry by package registry (Attach), which the distribution
// spec's referrers API, or its tag schema where a registry lacks the API,
// lets anyone find from the image's digest (oras discover, crane,
// go-containerregistry's remote.Referrers).
//
// New gives the same manifest bytes for the same subject, type, documents
// and annotations.
package referrer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// EmptyConfig is the OCI empty descriptor's media type, and emptyJSON its
// content.
const EmptyConfig types.MediaType = "application/vnd.oci.empty.v1+json"

var emptyJSON = []byte("{}")

// Document is one layer of an artifact.
type Document struct {
	MediaType   types.MediaType
	Data        []byte
	Annotations map[string]string
}

// New returns an artifact of artifactType whose subject is the image
// described by subject, holding docs as its layers, with the manifest
// annotations ann.
func New(subject v1.Descriptor, artifactType string, ann map[string]string, docs ...Document) (v1.Image, error) {
	if artifactType == "" || len(docs) == 0 {
		return nil, errors.New("referrer: an artifact needs a type and a document")
	}
	cfg, err := descriptor(EmptyConfig, emptyJSON)
	if err != nil {
		return nil, err
	}
	cfg.Data = emptyJSON
	a := &artifact{layers: map[v1.Hash]v1.Layer{}}
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: artifactType, Config: cfg, Annotations: ann,
		Subject: &v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}}
	for _, d := range docs {
		desc, err := descriptor(d.MediaType, d.Data)
		if err != nil {
			return nil, err
		}
		desc.Annotations = d.Annotations
		m.Layers = append(m.Layers, desc)
		a.layers[desc.Digest] = static.NewLayer(d.Data, d.MediaType)
	}
	if a.manifest, err = json.Marshal(&m); err != nil {
		return nil, err
	}
	return partial.CompressedToImage(a)
}

func descriptor(mt types.MediaType, b []byte) (v1.Descriptor, error) {
	h, n, err := v1.SHA256(bytes.NewReader(b))
	return v1.Descriptor{MediaType: mt, Digest: h, Size: n}, err
}

// artifact is the core of an artifact image for partial.CompressedToImage.
type artifact struct {
	manifest []byte
	layers   map[v1.Hash]v1.Layer
}

// RawManifest implements partial.CompressedImageCore.
func (a *artifact) RawManifest() ([]byte, error) { return a.manifest, nil }

// RawConfigFile implements partial.CompressedImageCore: the empty config.
func (a *artifact) RawConfigFile() ([]byte, error) { return emptyJSON, nil }

// MediaType implements partial.CompressedImageCore.
func (a *artifact) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// LayerByDigest implements partial.CompressedImageCore.
func (a *artifact) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if l, ok := a.layers[h]; ok {
		return l, nil
	}
	return nil, fmt.Errorf("referrer: no blob %s", h)
}

// Subject returns the subject of an artifact's manifest, or an error if it
// has none.
func Subject(art v1.Image) (*v1.Descriptor, error) {
	m, err := art.Manifest()
	if err != nil {
		return nil, err
	}
	if m.Subject == nil {
		return nil, errors.New("not a referrer: its manifest has no subject")
	}
	return m.Subject, nil
}
