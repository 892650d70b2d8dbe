package image

import (
	"encoding/json"
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
	digest "github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Config is what an image says besides its layers.
type Config struct {
	// Config is the runtime configuration: entrypoint, cmd, user, env, workdir, labels.
	Config ocispec.ImageConfig
	// Platform is the os/arch of the image's binaries.
	Platform ocispec.Platform
	// Created is the image's creation time, also its history entry's.
	Created time.Time
	// Annotations go to the manifest.
	Annotations map[string]string
	// CreatedBy describes the step that made the layers, for the history.
	CreatedBy string
}

// New returns an OCI image of the layers, bottom first, with the given config.
func New(cfg Config, layers ...v1.Layer) (v1.Image, error) {
	created := cfg.Created.UTC()
	ic := ocispec.Image{
		Created:  &created,
		Platform: cfg.Platform,
		Config:   cfg.Config,
		RootFS:   ocispec.RootFS{Type: "layers"},
	}
	m := ocispec.Manifest{
		Versioned:   specs.Versioned{SchemaVersion: 2},
		MediaType:   ocispec.MediaTypeImageManifest,
		Annotations: cfg.Annotations,
	}
	im := &img{layers: map[v1.Hash]v1.Layer{}}
	for i, l := range layers {
		d, err := describe(l)
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
		diffID, err := l.DiffID()
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
		m.Layers = append(m.Layers, d)
		ic.RootFS.DiffIDs = append(ic.RootFS.DiffIDs, digest.Digest(diffID.String()))
		ic.History = append(ic.History, ocispec.History{Created: &created, CreatedBy: cfg.CreatedBy})
		im.layers[mustHash(d.Digest)] = l
	}
	var err error
	if im.config, err = json.Marshal(ic); err != nil {
		return nil, err
	}
	m.Config = ocispec.Descriptor{
		MediaType: ocispec.MediaTypeImageConfig,
		Digest:    digest.FromBytes(im.config),
		Size:      int64(len(im.config)),
	}
	if im.manifest, err = json.Marshal(m); err != nil {
		return nil, err
	}
	return partial.CompressedToImage(im)
}

func describe(l v1.Layer) (ocispec.Descriptor, error) {
	h, err := l.Digest()
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	size, err := l.Size()
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	mt, err := l.MediaType()
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	return ocispec.Descriptor{MediaType: string(mt), Digest: digest.Digest(h.String()), Size: size}, nil
}

func mustHash(d digest.Digest) v1.Hash {
	h, err := v1.NewHash(d.String())
	if err != nil {
		panic(err) // d came from a v1.Hash
	}
	return h
}

// img is the partial.CompressedImageCore behind New.
type img struct {
	config, manifest []byte
	layers           map[v1.Hash]v1.Layer
}

func (i *img) RawConfigFile() ([]byte, error)      { return i.config, nil }
func (i *img) RawManifest() ([]byte, error)        { return i.manifest, nil }
func (i *img) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

func (i *img) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if l, ok := i.layers[h]; ok {
		return l, nil
	}
	return nil, fmt.Errorf("image has no layer %s", h)
}
