package layer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"runtime"
	"time"

	"github.com/google/go-containerregistry/pkg/compression"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/jailimg/jailimg/pkg/tree"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/klauspost/pgzip"
)

// Option configures FromTree.
type Option func(*options)

type options struct {
	compression compression.Compression
	mtime       time.Time
}

// WithCompression selects the layer compression: compression.GZip (the
// default) or compression.ZStd.
func WithCompression(c compression.Compression) Option {
	return func(o *options) { o.compression = c }
}

// WithModTime sets the mtime of every entry (default: the Unix epoch).
func WithModTime(t time.Time) Option {
	return func(o *options) { o.mtime = t }
}

// FromTree writes the tree as a compressed tar layer. The result is
// reproducible: the same tree and options give the same digests.
func FromTree(ctx context.Context, t *tree.Tree, opts ...Option) (v1.Layer, error) {
	o := options{compression: compression.GZip, mtime: time.Unix(0, 0)}
	for _, opt := range opts {
		opt(&o)
	}
	l := &Layer{compression: o.compression}
	switch o.compression {
	case compression.GZip:
		l.mediaType = types.OCILayer
	case compression.ZStd:
		l.mediaType = types.OCILayerZStd
	default:
		return nil, fmt.Errorf("unsupported layer compression %q", o.compression)
	}

	// Tar writing (host reads) and compression run side by side.
	pr, pw := io.Pipe()
	defer pr.Close() // unblocks the tar writer if compression fails
	diffHash := sha256.New()
	go func() {
		pw.CloseWithError(WriteTar(io.MultiWriter(pw, diffHash, ctxWriter{ctx}), t, o.mtime))
	}()
	var blob bytes.Buffer
	blobHash := sha256.New()
	zw, err := compressor(io.MultiWriter(&blob, blobHash), o.compression)
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(zw, pr); err != nil {
		pr.CloseWithError(err)
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compressing layer: %w", err)
	}
	l.blob, l.digest, l.diffID = blob.Bytes(), sum(blobHash), sum(diffHash)
	return l, nil
}

// gzipBlock is the gzip block size: fixed, as it shapes the output.
const gzipBlock = 1 << 20

// compressor returns a writer with fixed settings, so output depends only on input.
func compressor(w io.Writer, c compression.Compression) (io.WriteCloser, error) {
	if c == compression.ZStd {
		// The frame does not depend on the concurrency (TestIndependentOfCores).
		return zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)))
	}
	// pgzip compresses 1 MiB blocks on every core; each block is primed with
	// the previous block's last 32 KiB, so the bytes depend only on the input,
	// the level and the block size, not on how many blocks run at once.
	zw, err := pgzip.NewWriterLevel(w, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	if err := zw.SetConcurrency(gzipBlock, runtime.GOMAXPROCS(0)); err != nil {
		return nil, err
	}
	zw.Header = pgzip.Header{OS: 255} // no name, no mtime: nothing of the host
	return zw, nil
}

func sum(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
}

// ctxWriter fails writes once its context is done, stopping a long build.
type ctxWriter struct{ ctx context.Context }

func (w ctxWriter) Write(p []byte) (int, error) {
	if err := w.ctx.Err(); err != nil {
		return 0, err
	}
	return len(p), nil
}
