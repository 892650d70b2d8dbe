package layer

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/compression"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Layer is a compressed layer whose bytes live in an unlinked temporary
// file: nothing of it is visible in the file system, and the kernel frees
// the space when the last descriptor is closed, even if the process is
// killed. Call Close when done; a Layer that is not closed keeps its file
// until it is garbage-collected, as an *os.File does.
type Layer struct {
	f              *os.File // the blob, size bytes; read only through ReadAt or reopen
	size           int64
	closed         atomic.Bool
	digest, diffID v1.Hash
	mediaType      types.MediaType
	compression    compression.Compression
}

var _ v1.Layer = (*Layer)(nil)

// Digest implements v1.Layer.
func (l *Layer) Digest() (v1.Hash, error) { return l.digest, nil }

// DiffID implements v1.Layer.
func (l *Layer) DiffID() (v1.Hash, error) { return l.diffID, nil }

// Size implements v1.Layer.
func (l *Layer) Size() (int64, error) { return l.size, nil }

// MediaType implements v1.Layer.
func (l *Layer) MediaType() (types.MediaType, error) { return l.mediaType, nil }

// Compressed implements v1.Layer. Readers are independent and may run
// concurrently. Where /proc is mounted each is an *os.File of its own (the
// blob reopened through /proc/self/fd), so io.Copy into a file copies in
// the kernel (copy_file_range); otherwise readers share the file through
// ReadAt. Readers opened before Close keep working on Linux with /proc.
func (l *Layer) Compressed() (io.ReadCloser, error) {
	if l.closed.Load() {
		return nil, fmt.Errorf("reading layer %s: %w", l.digest, os.ErrClosed)
	}
	f, err := reopen(l.f)
	if err != nil {
		return nil, fmt.Errorf("reading layer %s: %w", l.digest, err)
	}
	if f != nil {
		return f, nil
	}
	return io.NopCloser(io.NewSectionReader(l.f, 0, l.size)), nil
}

// Uncompressed implements v1.Layer. Readers are independent, as Compressed's.
func (l *Layer) Uncompressed() (io.ReadCloser, error) {
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	if l.compression == compression.ZStd {
		zr, err := zstd.NewReader(rc)
		if err != nil {
			rc.Close()
			return nil, err
		}
		return &stacked{zr.IOReadCloser(), rc}, nil
	}
	zr, err := gzip.NewReader(rc)
	if err != nil {
		rc.Close()
		return nil, err
	}
	return &stacked{zr, rc}, nil
}

// Close releases the layer's file. Readers already handed out are not
// affected where they hold a file of their own (Linux with /proc); new
// ones cannot be opened. Closing twice is not an error.
func (l *Layer) Close() error {
	if l.closed.Swap(true) {
		return nil
	}
	return l.f.Close()
}

// stacked reads through a decompressor and closes it and the reader beneath.
type stacked struct {
	io.ReadCloser           // the decompressor
	under         io.Closer // the compressed blob
}

func (s *stacked) Close() error {
	return errors.Join(s.ReadCloser.Close(), s.under.Close())
}
