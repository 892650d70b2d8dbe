package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/jailimg/jailimg/internal/ocidoc"
	"github.com/jailimg/jailimg/pkg/layout"
)

// Image returns the image ref names, read with jailimg's retry policy (see
// WithBackoff) and opts (the transport, credentials and plain-HTTP rule
// Push and Pull take; WithProgress is not used). Its index and manifest
// are checked as layout.Image checks a layout's (a *layout.DocumentError
// inside the *Error), and so is the image's place in an index: it must be
// a direct child, not in a nested index. Every failure to read the image,
// then or later while its layers are read, is an *Error.
func Image(ctx context.Context, ref name.Reference, opts ...Option) (v1.Image, error) {
	o := makeOptions(opts)
	g := o.guard()
	img, err := fetchImage(insecureRef(ref, o.insecure), o.remote(ctx, g))
	if err != nil {
		return nil, &Error{Op: "pull", Ref: ref, Err: g.explain(err)}
	}
	return &registryImage{Image: img, ref: ref}, nil
}

// fetchImage reads the image ref names through go-containerregistry's
// remote package, checking each document on the way: the one ref names
// (checkIndex or checkManifest, by the media type the registry gives it)
// and, when that is an index, the manifest of the image picked from it for
// the platform, against the index's descriptor. The image must be a direct
// child of the index: a nested index is refused, as a layout's is.
func fetchImage(ref name.Reference, opts []remote.Option) (v1.Image, error) {
	desc, err := remote.Get(ref, opts...)
	if err != nil {
		return nil, err
	}
	if !desc.MediaType.IsIndex() {
		if err := ocidoc.CheckManifest(desc.Manifest, desc.MediaType); err != nil {
			return nil, &layout.DocumentError{Kind: "manifest", Digest: desc.Digest, Err: err}
		}
		return desc.Image()
	}
	if err := ocidoc.CheckIndex(desc.Manifest, desc.MediaType); err != nil {
		return nil, &layout.DocumentError{Kind: "index", Digest: desc.Digest, Err: err}
	}
	img, err := desc.Image()
	if err != nil {
		return nil, err
	}
	child, err := partial.Descriptor(img)
	if err != nil {
		return nil, err
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return nil, &layout.DocumentError{Kind: "index", Digest: desc.Digest, Err: err}
	}
	if !slices.ContainsFunc(im.Manifests, func(d v1.Descriptor) bool { return d.Digest == child.Digest && d.MediaType.IsImage() }) {
		return nil, &layout.DocumentError{Kind: "index", Digest: desc.Digest, Err: fmt.Errorf("the image for the platform, %s, is in a nested index, which jailimg does not read", child.Digest)}
	}
	raw, err := img.RawManifest()
	if err != nil {
		return nil, err
	}
	if err := ocidoc.CheckManifest(raw, child.MediaType); err != nil {
		return nil, &layout.DocumentError{Kind: "manifest", Digest: child.Digest, Err: err}
	}
	return img, nil
}

// registryImage is an image read from a registry whose every failure,
// reading a layer's bytes included, is an *Error naming the registry: a
// reader of the image (unpack) then reports a registry fault as one, as
// Pull does. Layers stay *remote.MountableLayer, so pushing the
// image to another repository can still mount its blobs.
type registryImage struct {
	v1.Image
	ref name.Reference
}

// asError wraps err in an *Error for ref, unless it is nil, io.EOF or one
// already.
func asError(ref name.Reference, err error) error {
	var re *Error
	if err == nil || err == io.EOF || errors.As(err, &re) {
		return err
	}
	return &Error{Op: "pull", Ref: ref, Err: err}
}

func (r *registryImage) layer(l v1.Layer, err error) (v1.Layer, error) {
	if err != nil {
		return nil, asError(r.ref, err)
	}
	if ml, ok := l.(*remote.MountableLayer); ok {
		return &remote.MountableLayer{Layer: &registryLayer{Layer: ml.Layer, ref: r.ref}, Reference: ml.Reference}, nil
	}
	return &registryLayer{Layer: l, ref: r.ref}, nil
}

// Layers implements v1.Image.
func (r *registryImage) Layers() ([]v1.Layer, error) {
	ls, err := r.Image.Layers()
	if err != nil {
		return nil, asError(r.ref, err)
	}
	out := make([]v1.Layer, len(ls))
	for i, l := range ls {
		out[i], _ = r.layer(l, nil)
	}
	return out, nil
}

// LayerByDigest implements v1.Image.
func (r *registryImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	return r.layer(r.Image.LayerByDigest(h))
}

// LayerByDiffID implements v1.Image.
func (r *registryImage) LayerByDiffID(h v1.Hash) (v1.Layer, error) {
	return r.layer(r.Image.LayerByDiffID(h))
}

// ConfigLayer retains the source repository, as go-containerregistry's
// own remote image does; see partial.ConfigLayer.
func (r *registryImage) ConfigLayer() (v1.Layer, error) {
	return r.layer(partial.ConfigLayer(r.Image))
}

// Descriptor implements partial.Describable.
func (r *registryImage) Descriptor() (*v1.Descriptor, error) {
	d, err := partial.Descriptor(r.Image)
	return d, asError(r.ref, err)
}

// MediaType implements v1.Image.
func (r *registryImage) MediaType() (types.MediaType, error) {
	mt, err := r.Image.MediaType()
	return mt, asError(r.ref, err)
}

// Size implements v1.Image.
func (r *registryImage) Size() (int64, error) {
	n, err := r.Image.Size()
	return n, asError(r.ref, err)
}

// ConfigName implements v1.Image.
func (r *registryImage) ConfigName() (v1.Hash, error) {
	h, err := r.Image.ConfigName()
	return h, asError(r.ref, err)
}

// ConfigFile implements v1.Image.
func (r *registryImage) ConfigFile() (*v1.ConfigFile, error) {
	c, err := r.Image.ConfigFile()
	return c, asError(r.ref, err)
}

// RawConfigFile implements v1.Image.
func (r *registryImage) RawConfigFile() ([]byte, error) {
	b, err := r.Image.RawConfigFile()
	return b, asError(r.ref, err)
}

// Digest implements v1.Image.
func (r *registryImage) Digest() (v1.Hash, error) {
	h, err := r.Image.Digest()
	return h, asError(r.ref, err)
}

// Manifest implements v1.Image.
func (r *registryImage) Manifest() (*v1.Manifest, error) {
	m, err := r.Image.Manifest()
	return m, asError(r.ref, err)
}

// RawManifest implements v1.Image.
func (r *registryImage) RawManifest() ([]byte, error) {
	b, err := r.Image.RawManifest()
	return b, asError(r.ref, err)
}

// registryLayer is a layer of a registryImage.
type registryLayer struct {
	v1.Layer
	ref name.Reference
}

// Descriptor implements partial.Describable.
func (l *registryLayer) Descriptor() (*v1.Descriptor, error) {
	d, err := partial.Descriptor(l.Layer)
	return d, asError(l.ref, err)
}

// Exists implements partial.Exists' hack.
func (l *registryLayer) Exists() (bool, error) {
	ok, err := partial.Exists(l.Layer)
	return ok, asError(l.ref, err)
}

// Digest implements v1.Layer.
func (l *registryLayer) Digest() (v1.Hash, error) {
	h, err := l.Layer.Digest()
	return h, asError(l.ref, err)
}

// DiffID implements v1.Layer.
func (l *registryLayer) DiffID() (v1.Hash, error) {
	h, err := l.Layer.DiffID()
	return h, asError(l.ref, err)
}

// Size implements v1.Layer.
func (l *registryLayer) Size() (int64, error) {
	n, err := l.Layer.Size()
	return n, asError(l.ref, err)
}

// MediaType implements v1.Layer.
func (l *registryLayer) MediaType() (types.MediaType, error) {
	mt, err := l.Layer.MediaType()
	return mt, asError(l.ref, err)
}

// Compressed implements v1.Layer.
func (l *registryLayer) Compressed() (io.ReadCloser, error) {
	return l.reader(l.Layer.Compressed())
}

// Uncompressed implements v1.Layer.
func (l *registryLayer) Uncompressed() (io.ReadCloser, error) {
	return l.reader(l.Layer.Uncompressed())
}

func (l *registryLayer) reader(rc io.ReadCloser, err error) (io.ReadCloser, error) {
	if err != nil {
		return nil, asError(l.ref, err)
	}
	return &registryReader{rc: rc, ref: l.ref}, nil
}

// registryReader reports its read errors as *Error.
type registryReader struct {
	rc  io.ReadCloser
	ref name.Reference
}

func (r *registryReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	return n, asError(r.ref, err)
}

func (r *registryReader) Close() error { return asError(r.ref, r.rc.Close()) }
