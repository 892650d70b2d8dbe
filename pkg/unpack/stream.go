package unpack

import (
	"context"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"sync"
	"sync/atomic"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// budget is the part of Limits shared by all layers of one unpack.
type budget struct {
	lim     Limits
	bytes   int64        // uncompressed bytes read so far
	entries int64        // tar entries read so far
	written int64        // file content bytes handed to the applier
	read    atomic.Int64 // compressed bytes read so far, of all layers (by readAhead's goroutine)
	total   int64        // compressed bytes of all layers

	// space, when set, fails when the free space left is less than the
	// given number of bytes still to unpack; it is called every spaceStep
	// bytes written, from spaceAt on.
	space   func(need int64) error
	spaceAt int64

	progress *progress // nil without WithProgress
}

// compressedReader hashes and counts a layer blob as it is read and refuses
// to read past the size the manifest declared.
type compressedReader struct {
	r    io.Reader
	h    hash.Hash
	n    int64
	size int64
	b    *budget
}

func (c *compressedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	c.b.read.Add(int64(n))
	c.b.progress.add(int64(n), false)
	if c.n > c.size {
		return n, fmt.Errorf("%w: blob is larger than its declared size %d", ErrDigest, c.size)
	}
	return n, err
}

// uncompressedReader hashes the tar stream for the diff_id and enforces the
// byte and ratio limits.
type uncompressedReader struct {
	r    io.Reader
	h    hash.Hash
	n    int64
	comp *compressedReader // nil for an uncompressed layer
	b    *budget
}

const ratioFloor = 1 << 20

func (u *uncompressedReader) Read(p []byte) (int, error) {
	n, err := u.r.Read(p)
	u.h.Write(p[:n])
	u.n += int64(n)
	u.b.bytes += int64(n)
	if u.b.bytes > u.b.lim.MaxBytes {
		return n, fmt.Errorf("%w: more than %d uncompressed bytes", ErrLimit, u.b.lim.MaxBytes)
	}
	if u.comp != nil && u.n > ratioFloor && u.n > u.b.lim.MaxRatio*u.comp.n {
		return n, fmt.Errorf("%w: compression ratio above %d (%d bytes from %d)", ErrLimit, u.b.lim.MaxRatio, u.n, u.comp.n)
	}
	return n, err
}

func newHash() hash.Hash { return sha256.New() }

func sumOf(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", h.Sum(nil))}
}

// aheadReader runs a reader (decompression, hashing, limits) in its own
// goroutine so that it overlaps with the writes of the consumer.
type aheadReader struct {
	ch   chan chunk
	done chan struct{}
	wg   sync.WaitGroup
	cur  chunk
	err  error
}

type chunk struct {
	buf []byte
	off int
	err error
}

const aheadChunk = 256 << 10

var chunkPool = sync.Pool{New: func() any { b := make([]byte, aheadChunk); return &b }}

func readAhead(ctx context.Context, src io.Reader) *aheadReader {
	a := &aheadReader{ch: make(chan chunk, 8), done: make(chan struct{})}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer close(a.ch)
		for {
			bp := chunkPool.Get().(*[]byte)
			n, err := io.ReadFull(src, *bp)
			if err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			if err == nil && ctx.Err() != nil {
				err = ctx.Err()
			}
			select {
			case a.ch <- chunk{buf: (*bp)[:n], err: err}:
			case <-a.done:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return a
}

func (a *aheadReader) Read(p []byte) (int, error) {
	for a.cur.off >= len(a.cur.buf) {
		if a.err != nil {
			return 0, a.err
		}
		if a.cur.buf != nil {
			b := a.cur.buf[:cap(a.cur.buf)]
			chunkPool.Put(&b)
		}
		c, ok := <-a.ch
		if !ok {
			a.err = io.EOF
			return 0, io.EOF
		}
		a.cur, a.err = c, c.err
	}
	n := copy(p, a.cur.buf[a.cur.off:])
	a.cur.off += n
	return n, nil
}

// Close stops the goroutine and waits for it, so the source may be closed.
func (a *aheadReader) Close() {
	close(a.done)
	for range a.ch {
	}
	a.wg.Wait()
}
