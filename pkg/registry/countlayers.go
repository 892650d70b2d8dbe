package registry

import (
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/jailimg/jailimg/pkg/progress"
)

// trackLayers returns img with layers that report to a tracker for f how
// much of each has been read for upload, and the tracker. The image's
// manifest and config are img's, byte for byte; a layer go-containerregistry
// would mount from another repository (a *remote.MountableLayer) stays one.
func trackLayers(img v1.Image, f func(Progress)) (*progress.Tracker, v1.Image, error) {
	mf, err := img.Manifest()
	if err != nil {
		return nil, nil, err
	}
	ls, err := img.Layers()
	if err != nil {
		return nil, nil, err
	}
	t := progress.NewTracker(f, 0, mf.Layers)
	counted := make([]v1.Layer, len(ls))
	for i, l := range ls {
		c := &countedLayer{Layer: l, t: t, i: i}
		if ml, ok := l.(*remote.MountableLayer); ok {
			c.Layer = ml.Layer
			counted[i] = &remote.MountableLayer{Layer: c, Reference: ml.Reference}
			continue
		}
		counted[i] = c
	}
	return t, &countedImage{Image: img, layers: counted}, nil
}

// countedImage is an image whose Layers are counted.
type countedImage struct {
	v1.Image
	layers []v1.Layer
}

// Layers implements v1.Image.
func (c *countedImage) Layers() ([]v1.Layer, error) { return c.layers, nil }

// LayerByDigest implements v1.Image.
func (c *countedImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	for _, l := range c.layers {
		if d, err := l.Digest(); err == nil && d == h {
			return l, nil
		}
	}
	return c.Image.LayerByDigest(h)
}

// countedLayer reports how much of its compressed stream has been read,
// from the start again for each new reader (a retried upload).
type countedLayer struct {
	v1.Layer
	t *progress.Tracker
	i int
}

// Compressed implements v1.Layer.
func (c *countedLayer) Compressed() (io.ReadCloser, error) {
	rc, err := c.Layer.Compressed()
	if err != nil {
		return nil, err
	}
	c.t.Set(c.i, 0)
	return &countedReader{ReadCloser: rc, t: c.t, i: c.i}, nil
}

type countedReader struct {
	io.ReadCloser
	t *progress.Tracker
	i int
	n int64
}

func (r *countedReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if n > 0 {
		r.n += int64(n)
		r.t.Set(r.i, r.n)
	}
	return n, err
}
