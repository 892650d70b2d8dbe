package ocidoc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// layerMediaTypes are the layer media types jailimg reads: tar, tar+gzip
// and tar+zstd, as OCI names them, and Docker's tar and tar+gzip. Every
// other layer type, non-distributable ("foreign") layers among them, is
// refused wherever an image is read.
var layerMediaTypes = []types.MediaType{
	types.OCIUncompressedLayer, types.OCILayer, types.OCILayerZStd,
	types.DockerUncompressedLayer, types.DockerLayer,
}

// document holds the fields of an index and of a manifest at once, to see
// what a document holds whatever it claims to be.
type document struct {
	SchemaVersion int             `json:"schemaVersion"`
	MediaType     types.MediaType `json:"mediaType"`
	Config        json.RawMessage `json:"config"`
	Layers        json.RawMessage `json:"layers"`
	Manifests     json.RawMessage `json:"manifests"`
	FSLayers      json.RawMessage `json:"fsLayers"` // Docker schema 1
}

// present reports whether a field was in the document, other than as null.
func present(r json.RawMessage) bool { return len(r) > 0 && !bytes.Equal(r, []byte("null")) }

// parseDocument reads raw as the kind of document mt says ("manifest" or
// "index") and refuses it when it is also another kind, or says it is
// another media type (the ambiguity of CVE-2021-41190: the image spec says
// to refuse such documents).
func parseDocument(raw []byte, mt types.MediaType, kind string) (*document, error) {
	var d document
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, err
	}
	switch {
	case d.SchemaVersion != 2:
		return nil, fmt.Errorf("schemaVersion %d, want 2", d.SchemaVersion)
	case d.MediaType != "" && d.MediaType != mt:
		return nil, fmt.Errorf("its mediaType %q disagrees with its descriptor's %q; refusing an ambiguous document", d.MediaType, mt)
	case kind == "manifest" && present(d.Manifests):
		return nil, errors.New(`has both "layers" and "manifests" (an image manifest and an index at once); refusing an ambiguous document`)
	case kind == "index" && (present(d.Layers) || present(d.Config)):
		return nil, errors.New(`has "manifests" and also "layers" or "config" (an index and an image manifest at once); refusing an ambiguous document`)
	case present(d.FSLayers):
		return nil, errors.New(`has "fsLayers" (Docker schema 1), which jailimg does not read`)
	}
	return &d, nil
}

// CheckIndex checks the image index raw that a descriptor of media type
// mt names (an OCI layout's index.json is an OCI index).
func CheckIndex(raw []byte, mt types.MediaType) error {
	if !mt.IsIndex() {
		return fmt.Errorf("media type %q is not an image index", mt)
	}
	_, err := parseDocument(raw, mt, "index")
	return err
}

// CheckManifest checks the image manifest raw that a descriptor of media
// type mt names: an OCI or Docker schema 2 image manifest, unambiguous,
// whose config is an image config and whose every layer is of one of
// layerMediaTypes and has no URLs to fetch it from elsewhere.
func CheckManifest(raw []byte, mt types.MediaType) error {
	if !mt.IsImage() {
		return fmt.Errorf("media type %q is not an image manifest jailimg reads (OCI or Docker schema 2)", mt)
	}
	if _, err := parseDocument(raw, mt, "manifest"); err != nil {
		return err
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	if !m.Config.MediaType.IsConfig() {
		return fmt.Errorf("config %s has media type %q, not an image config (%s or %s): an artifact, not an image",
			m.Config.Digest, m.Config.MediaType, types.OCIConfigJSON, types.DockerConfigJSON)
	}
	for i, l := range m.Layers {
		if err := checkLayer(l); err != nil {
			return fmt.Errorf("layer %d (%s): %w", i, l.Digest, err)
		}
	}
	return nil
}

// checkLayer checks a layer descriptor's media type and that it names no
// URLs: a foreign layer is fetched from them, not from the image's source.
func checkLayer(l v1.Descriptor) error {
	mt := string(l.MediaType)
	switch {
	case !l.MediaType.IsDistributable() || strings.Contains(mt, ".nondistributable.") || strings.Contains(mt, ".foreign."):
		return fmt.Errorf("non-distributable (foreign) layer of media type %q: jailimg reads only layers its source holds", mt)
	case len(l.URLs) > 0:
		return fmt.Errorf("names URLs to fetch it from (%s): jailimg reads only layers its source holds", strings.Join(l.URLs, ", "))
	}
	for _, known := range layerMediaTypes {
		if l.MediaType == known {
			return nil
		}
	}
	return fmt.Errorf("media type %q is not a layer jailimg reads (OCI or Docker tar, tar+gzip, OCI tar+zstd)", mt)
}
