package unpack

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/zstd"

	"github.com/jailimg/jailimg/internal/gzmember"
)

// layerRef is one layer to apply, with what the manifest and config say
// about it.
type layerRef struct {
	index  int
	desc   v1.Descriptor
	diffID v1.Hash
	layer  v1.Layer
}

// layers lists the image's layers with their descriptors and diff_ids, after
// checking that the config is the one the manifest names.
func layers(img v1.Image) ([]layerRef, *v1.ConfigFile, error) {
	mf, err := img.Manifest()
	if err != nil {
		return nil, nil, fmt.Errorf("reading manifest: %w", err)
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		return nil, nil, fmt.Errorf("reading config: %w", err)
	}
	h := newHash()
	h.Write(raw)
	if got := sumOf(h); got != mf.Config.Digest {
		return nil, nil, fmt.Errorf("config: %w: got %s, manifest says %s", ErrDigest, got, mf.Config.Digest)
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		return nil, nil, fmt.Errorf("parsing config: %w", err)
	}
	if len(cfg.RootFS.DiffIDs) != len(mf.Layers) {
		return nil, nil, fmt.Errorf("config: %w: %d diff_ids for %d layers", ErrCorrupt, len(cfg.RootFS.DiffIDs), len(mf.Layers))
	}
	refs := make([]layerRef, len(mf.Layers))
	for i, d := range mf.Layers {
		l, err := img.LayerByDigest(d.Digest)
		if err != nil {
			return nil, nil, fmt.Errorf("layer %d (%s): %w", i, d.Digest, err)
		}
		refs[i] = layerRef{index: i, desc: d, diffID: cfg.RootFS.DiffIDs[i], layer: l}
	}
	return refs, cfg, nil
}

// applyLayer streams one layer into a, verifying digests and limits.
func applyLayer(ctx context.Context, ref layerRef, b *budget, devs map[Device]bool, a applier) (err error) {
	wrap := func(err error) error { return fmt.Errorf("layer %d (%s): %w", ref.index, ref.desc.Digest, err) }
	open, err := decompressor(ref.desc.MediaType)
	if err != nil {
		return wrap(err)
	}
	rc, err := ref.layer.Compressed()
	if err != nil {
		return wrap(err)
	}
	defer rc.Close()
	b.progress.startLayer(ref.index)
	s, err := newLayerStream(ctx, sourceReader{rc}, ref.desc.Size, open, b)
	if err != nil {
		return wrap(err)
	}
	defer s.close()
	if err := applyTar(ctx, ref.index, s, b, devs, a); err != nil {
		return err
	}
	// The rest of the stream after the end-of-archive marker must be zeros.
	if err := drainZeros(s); err != nil {
		return wrap(err)
	}
	digest, size, diffID := s.finish()
	if size != ref.desc.Size {
		return wrap(fmt.Errorf("%w: blob is %d bytes, manifest says %d", ErrDigest, size, ref.desc.Size))
	}
	if digest != ref.desc.Digest {
		return wrap(fmt.Errorf("%w: blob is %s, manifest says %s", ErrDigest, digest, ref.desc.Digest))
	}
	if diffID != ref.diffID {
		return wrap(fmt.Errorf("%w: uncompressed layer is %s, config diff_id says %s", ErrDigest, diffID, ref.diffID))
	}
	b.progress.add(0, true)
	return nil
}

// opener opens a layer blob src for reading its tar stream; a Read waiting
// on work of its own fails with errStopped once stop is closed.
type opener func(src io.Reader, stop <-chan struct{}) (io.Reader, error)

// decompressor returns the opener of a blob of media type mt, nil for an
// uncompressed layer. A gzip blob's members are decoded on every core
// (gzmember; jailimg build writes them), a zstd blob on one goroutine.
func decompressor(mt types.MediaType) (opener, error) {
	switch mt {
	case types.OCILayer, types.DockerLayer:
		return func(r io.Reader, stop <-chan struct{}) (io.Reader, error) {
			return gzmember.NewReader(r, gzmember.WithWorkers(decodeWorkers()),
				gzmember.WithBuffers(memberBuffers.get, memberBuffers.put), gzmember.WithStop(stop, errStopped)), nil
		}, nil
	case types.OCILayerZStd:
		return func(r io.Reader, _ <-chan struct{}) (io.Reader, error) {
			zr, err := zstd.NewReader(r, zstd.WithDecoderMaxWindow(128<<20), zstd.WithDecoderConcurrency(1))
			if err != nil {
				return nil, fmt.Errorf("zstd: %w", err)
			}
			return zr.IOReadCloser(), nil
		}, nil
	case types.OCIUncompressedLayer, types.DockerUncompressedLayer:
		return nil, nil
	}
	return nil, fmt.Errorf("%w: unsupported media type %q", ErrCorrupt, mt)
}

// sourceReader marks the read errors of a blob's source as sourceErrors.
type sourceReader struct{ r io.Reader }

func (s sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		err = &sourceError{err}
	}
	return n, err
}

func drainZeros(r io.Reader) error {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		for _, c := range buf[:n] {
			if c != 0 {
				return fmt.Errorf("%w: trailing data after the end of the tar archive", ErrCorrupt)
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return streamErr(err)
		}
	}
}

// streamErr classifies a read error of the layer stream: a fault of the
// blob's source (see sourceError) or an error already classified is kept
// as it is; what is left is the decompressor's or the tar reader's
// complaint about the bytes, a corrupt layer.
func streamErr(err error) error {
	var src *sourceError
	if errors.As(err, &src) {
		return err
	}
	for _, s := range []error{ErrUnsafePath, ErrPolicy, ErrLimit, ErrDigest, ErrCorrupt, context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, s) {
			return err
		}
	}
	return fmt.Errorf("%w: %w", ErrCorrupt, err)
}

// sourceError is an error reading a layer's blob from where it is kept (a
// layout's file, a registry's response): the host's or the registry's
// fault, not the layer's, so it is never taken for a corrupt layer.
type sourceError struct{ err error }

func (e *sourceError) Error() string { return e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

// tarTypeName names a tar type flag for error messages.
func tarTypeName(t byte) string {
	switch t {
	case tar.TypeFifo:
		return "FIFO"
	case tar.TypeBlock:
		return "block device"
	case tar.TypeChar:
		return "character device"
	}
	return fmt.Sprintf("type %q", t)
}
