package unpack

import (
	"context"
	"crypto/sha256"
	"errors"
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
	bytes   int64        // uncompressed bytes read so far (by the decoding goroutine)
	entries int64        // tar entries read so far
	written int64        // file content bytes handed to the applier
	read    atomic.Int64 // compressed bytes read so far, of all layers (by the decoding goroutine)
	total   int64        // compressed bytes of all layers

	// space, when set, fails when the free space left is less than the
	// given number of bytes still to unpack; it is called every spaceStep
	// bytes written, from spaceAt on.
	space   func(need int64) error
	spaceAt int64

	progress *progress // nil without WithProgress
}

func newHash() hash.Hash { return sha256.New() }

func sumOf(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", h.Sum(nil))}
}

// A layer streams through two goroutines besides the one walking the tar
// (see layerStream): the decoder, and the hasher of the blob; a gzip
// decoder has goroutines of its own. Bytes move between them in chunks,
// each released by the goroutine that reads it.
type chunk struct {
	buf  []byte // len chunkSize
	data []byte // the bytes: a prefix of buf
	err  error  // on a stream's last chunk: io.EOF or what ended it
}

// chunkSize and streamDepth keep the bytes in flight small: every page a
// stream touches for the first time costs a page fault, which on a virtual
// machine costs more than decompressing the page's bytes (see
// docs/benchmarks.md), and two cores gain nothing from a deeper queue.
const chunkSize = 64 << 10

// freeChunks holds the chunks not in use, for the next stream as for this
// one. Unlike a sync.Pool it is not emptied by the garbage collector, so a
// chunk's pages are faulted in once per process (see newBuffer).
var freeChunks = make(chan *chunk, maxChunks)

// maxChunks bounds the chunks kept free: as many as the stages of one
// stream hold at once.
const maxChunks = 2*streamDepth + 4

// newChunk returns a free chunk, or a new one.
func newChunk() *chunk {
	select {
	case c := <-freeChunks:
		return c
	default:
		return &chunk{buf: newBuffer(chunkSize)}
	}
}

// release makes c free for newChunk.
func (c *chunk) release() {
	c.data, c.err = nil, nil
	select {
	case freeChunks <- c:
	default:
	}
}

// errStopped ends a stage of a stream that was closed early.
var errStopped = errors.New("stream stopped")

// layerStream decompresses one layer blob on its own goroutine and hashes
// the blob (digest) on another, so that the decoder, the slowest stage,
// does nothing else; the goroutine walking the tar hashes the tar stream
// (diff_id) as it receives it:
//
//	blob ─► decoder ───► tar walk (Read), diff_id
//	           └─► digest hasher
//
// The decoder reads the blob through compressedReader, which counts it
// against the declared size and reads it in chunks that grow from 4 KiB to
// chunkSize, so that it never reads more than about twice what the
// decompressor has used: a bomb is stopped (ratio limit) after reading a
// small part of it, as when it was read on the decoder's demand. A gzip
// layer's members are read ahead of decoding, a few at a time
// (gzmember.Slots), each producing at most gzmember.BlockSize: the ratio
// is then checked against what was read, those members included, which
// lets a bomb produce at most that many more blocks before it stops. The
// limits on uncompressed bytes and on the ratio are checked by the decoder
// as it produces, so they stop a bomb while streaming.
type layerStream struct {
	stop chan struct{} // closed by close: every stage returns
	wg   sync.WaitGroup

	comp *compressedReader
	out  chunkReader // what the tar walk reads
	unc  chan *chunk // decoder -> tar walk

	diffH   hash.Hash
	stopped sync.Once
}

// streamDepth is how many chunks a stage may run ahead of its reader.
const streamDepth = 4

// newLayerStream starts decoding the blob src (size bytes declared) with
// open, the decompressor for its media type (nil: uncompressed).
func newLayerStream(ctx context.Context, src io.Reader, size int64, open opener, b *budget) (*layerStream, error) {
	s := &layerStream{stop: make(chan struct{}), unc: make(chan *chunk, streamDepth), diffH: newHash()}
	s.comp = newCompressedReader(src, size, b, s.stop)
	s.out = chunkReader{ch: s.unc, stop: s.stop, h: s.diffH}
	var dec io.Reader = s.comp
	if open != nil {
		d, err := open(s.comp, s.stop)
		if err != nil {
			s.comp.close()
			return nil, streamErr(err)
		}
		dec = d
	}
	s.wg.Add(1)
	go s.decode(ctx, dec, open != nil, b)
	return s, nil
}

// Read implements io.Reader: the layer's tar stream.
func (s *layerStream) Read(p []byte) (int, error) { return s.out.Read(p) }

// close stops every stage and waits for them; it is safe after finish.
func (s *layerStream) close() {
	s.stopped.Do(func() { close(s.stop) })
	s.out.drain()
	s.wg.Wait()
	s.comp.wait()
}

// finish waits for the stream's end, read to its last chunk by the tar
// walk, and returns the digest and size of the blob and the diff_id.
func (s *layerStream) finish() (digest v1.Hash, size int64, diffID v1.Hash) {
	s.wg.Wait()
	s.comp.close()
	s.comp.wait()
	return sumOf(s.comp.h), s.comp.n, sumOf(s.diffH)
}

// decode reads the decompressor into chunks for the tar walk, checking the
// limits as it goes. After the end of the compressed data it reads the blob
// to its end, so that its digest and size cover every byte.
func (s *layerStream) decode(ctx context.Context, dec io.Reader, compressed bool, b *budget) {
	defer s.wg.Done()
	if c, ok := dec.(io.Closer); ok {
		defer c.Close()
	}
	defer close(s.unc)
	var n int64
	for {
		c := newChunk()
		k, err := fill(dec, c.buf)
		c.data = c.buf[:k]
		n += int64(k)
		b.bytes += int64(k)
		err = s.check(ctx, err, n, compressed, b)
		if err == io.EOF && compressed {
			if _, derr := io.Copy(io.Discard, s.comp); derr != nil {
				err = derr
			}
		}
		c.err = err
		if !send(s.unc, c, s.stop) {
			c.release()
			return
		}
		if err != nil {
			return
		}
	}
}

// fill reads r into buf until it is full or r fails, and returns r's
// error: io.EOF at its end, io.ErrUnexpectedEOF from a decoder cut short
// (io.ReadFull would turn the one into the other).
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		k, err := r.Read(buf[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// check applies the byte and ratio limits to the n uncompressed bytes of
// the layer decoded so far, and the context.
func (s *layerStream) check(ctx context.Context, err error, n int64, compressed bool, b *budget) error {
	switch {
	case err != nil && err != io.EOF:
		return err
	case b.bytes > b.lim.MaxBytes:
		return fmt.Errorf("%w: more than %d uncompressed bytes", ErrLimit, b.lim.MaxBytes)
	case compressed && n > ratioFloor && n > b.lim.MaxRatio*s.comp.used.Load():
		return fmt.Errorf("%w: compression ratio above %d (%d bytes from %d)", ErrLimit, b.lim.MaxRatio, n, s.comp.used.Load())
	case err == nil && ctx.Err() != nil:
		return ctx.Err()
	}
	return err
}

const ratioFloor = 1 << 20

// send hands c to ch unless the stream is stopped first.
func send(ch chan<- *chunk, c *chunk, stop <-chan struct{}) bool {
	select {
	case ch <- c:
		return true
	case <-stop:
		return false
	}
}

// chunkReader reads the chunks a stage sends, hashing each as it arrives
// and releasing it once read.
type chunkReader struct {
	ch   <-chan *chunk
	stop <-chan struct{}
	cur  *chunk
	off  int
	err  error
	h    hash.Hash
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for r.cur == nil || r.off >= len(r.cur.data) {
		if r.cur != nil {
			r.err = r.cur.err
			r.cur.release()
			r.cur = nil
		}
		if r.err != nil {
			return 0, r.err
		}
		select {
		case c, ok := <-r.ch:
			if !ok {
				r.err = io.EOF
				return 0, io.EOF
			}
			r.cur, r.off = c, 0
			r.h.Write(c.data)
		case <-r.stop:
			r.err = errStopped
			return 0, r.err
		}
	}
	n := copy(p, r.cur.data[r.off:])
	r.off += n
	return n, nil
}

// drain releases what is left to read, once the sender is stopped.
func (r *chunkReader) drain() {
	if r.cur != nil {
		r.cur.release()
		r.cur = nil
	}
	for c := range r.ch {
		c.release()
	}
}

// compressedReader reads a layer blob for the decompressor, counts it
// against the size the manifest declared, and hands each chunk it has
// read to a goroutine that hashes it. used counts the bytes the
// decompressor has taken, for the ratio limit.
type compressedReader struct {
	src  io.Reader
	size int64
	b    *budget
	stop <-chan struct{}

	h    hash.Hash
	n    int64        // bytes read from src
	used atomic.Int64 // bytes handed to the decompressor (whose goroutines may read ahead of the decoding one)
	next int          // size of the next read from src
	cur  *chunk
	off  int
	err  error

	hashes chan *chunk
	done   chan struct{}
	closed bool
}

func newCompressedReader(src io.Reader, size int64, b *budget, stop <-chan struct{}) *compressedReader {
	c := &compressedReader{src: src, size: size, b: b, stop: stop, h: newHash(), next: 4 << 10,
		hashes: make(chan *chunk, streamDepth), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for ch := range c.hashes {
			c.h.Write(ch.data)
			ch.release()
		}
	}()
	return c
}

func (c *compressedReader) Read(p []byte) (int, error) {
	for c.cur == nil || c.off >= len(c.cur.data) {
		if c.err != nil {
			return 0, c.err
		}
		c.fill()
	}
	n := copy(p, c.cur.data[c.off:])
	c.off += n
	c.used.Add(int64(n))
	return n, nil
}

// fill hands the chunk read last to the hasher and reads the next one.
func (c *compressedReader) fill() {
	c.flush()
	ch := newChunk()
	k, err := io.ReadFull(c.src, ch.buf[:c.next])
	if err == io.ErrUnexpectedEOF {
		err = io.EOF
	}
	ch.data = ch.buf[:k]
	c.n += int64(k)
	c.b.read.Add(int64(k))
	c.b.progress.add(int64(k), false)
	if c.n > c.size {
		err = fmt.Errorf("%w: blob is larger than its declared size %d", ErrDigest, c.size)
	}
	c.next = min(2*c.next, chunkSize)
	c.cur, c.off, c.err = ch, 0, err
}

// flush sends the current chunk to the hasher.
func (c *compressedReader) flush() {
	if c.cur == nil {
		return
	}
	select {
	case c.hashes <- c.cur:
	case <-c.stop:
		c.cur.release()
	}
	c.cur = nil
}

// close hashes what is left and ends the hasher; wait waits for it.
func (c *compressedReader) close() {
	if c.closed {
		return
	}
	c.closed = true
	c.flush()
	close(c.hashes)
}

func (c *compressedReader) wait() {
	c.close()
	<-c.done
}
