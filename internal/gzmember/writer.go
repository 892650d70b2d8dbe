package gzmember

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// BlockSize is how many bytes of input each member holds (the last one
// fewer). It is part of the format: the Reader refuses a member that
// decodes to more. On a 10 MB tar of binaries the members cost 0.45% over
// one stream; 1 MiB members cost 0.07%, but the Reader's buffers grow
// with them, and they are memory a fresh process faults in page by page.
const BlockSize = 256 << 10

// MaxMember is the longest member the Reader takes: a member of BlockSize
// bytes that deflate could not shrink, with its header, block headers and
// trailer, is well under it.
const MaxMember = BlockSize + 4<<10

// headerSize is the length of a member's header: the fixed 10 bytes, XLEN
// and the "JM" subfield.
const headerSize = 20

// extra is the header's extra field, its length left at zero: the Writer
// sets it once the member is compressed.
var extra = []byte{'J', 'M', 4, 0, 0, 0, 0, 0}

// A Writer compresses what is written to it into members of BlockSize
// bytes of input, several at once, and writes them in order.
type Writer struct {
	w io.Writer

	cur    *job // the member being filled
	any    bool // a member was started: Close writes at least one
	closed bool

	queue chan *job     // jobs in input order, to the goroutine writing them
	done  chan struct{} // closed when that goroutine ends
	mu    sync.Mutex
	err   error // the first error compressing or writing

	// jobs holds the jobs not in use, with their buffers and compressor:
	// as many as run at once, so that nothing is allocated per member.
	jobs chan *job
}

// job is one member: its input, and its bytes once done is closed.
type job struct {
	in   []byte // cap BlockSize
	out  bytes.Buffer
	gw   *gzip.Writer
	err  error
	done chan struct{}
}

// NewWriter returns a Writer writing members to w at the gzip level,
// compressing up to concurrency members at once (at least one).
func NewWriter(w io.Writer, level, concurrency int) (*Writer, error) {
	n := max(concurrency, 1)
	z := &Writer{w: w, queue: make(chan *job, n-1), done: make(chan struct{}), jobs: make(chan *job, n+1)}
	// One job per member compressed, and the one being filled.
	for range n + 1 {
		gw, err := gzip.NewWriterLevel(nil, level)
		if err != nil {
			return nil, err
		}
		z.jobs <- &job{in: make([]byte, 0, BlockSize), gw: gw}
	}
	go z.writeOut()
	return z, nil
}

// Write implements io.Writer.
func (z *Writer) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if err := z.error(); err != nil {
			return n, err
		}
		if z.cur == nil {
			z.cur = <-z.jobs
			z.any = true
		}
		in := z.cur.in
		k := copy(in[len(in):BlockSize], p)
		z.cur.in = in[:len(in)+k]
		n, p = n+k, p[k:]
		if len(z.cur.in) == BlockSize {
			z.submit()
		}
	}
	return n, nil
}

// Close writes the last member (an empty one when nothing was written, as
// a gzip stream holds at least one) and waits for every member to be
// written. It does not close the underlying writer. It must be called, also
// after an error, to end the Writer's goroutine; a second call returns the
// first's error, and Write must not follow it.
func (z *Writer) Close() error {
	if z.closed {
		return z.error()
	}
	z.closed = true
	if z.cur == nil && !z.any {
		z.cur = <-z.jobs
	}
	if z.cur != nil {
		z.submit()
	}
	close(z.queue)
	<-z.done
	return z.error()
}

// submit starts compressing the block being filled and queues it for
// writing; the queue's capacity bounds the members compressed at once.
func (z *Writer) submit() {
	j := z.cur
	z.cur = nil
	j.done, j.err = make(chan struct{}), nil
	j.out.Reset()
	z.queue <- j
	go compressJob(j)
}

// compressJob makes j's member.
func compressJob(j *job) {
	defer close(j.done)
	gw := j.gw
	gw.Reset(&j.out)
	gw.Header = gzip.Header{OS: 255, Extra: extra} // no name, no mtime: nothing of the host
	if _, err := gw.Write(j.in); err != nil {
		j.err = err
		return
	}
	if err := gw.Close(); err != nil {
		j.err = err
		return
	}
	m := j.out.Bytes()
	if !bytes.Equal(m[10:headerSize-4], []byte{8, 0, 'J', 'M', 4, 0}) {
		j.err = errors.New("gzmember: the gzip writer did not write the header expected")
		return
	}
	binary.LittleEndian.PutUint32(m[headerSize-4:headerSize], uint32(len(m)))
}

// writeOut writes the members in order as they are done.
func (z *Writer) writeOut() {
	defer close(z.done)
	for j := range z.queue {
		<-j.done
		err := j.err
		if err == nil && z.error() == nil {
			_, err = z.w.Write(j.out.Bytes())
		}
		j.in = j.in[:0]
		z.jobs <- j
		if err != nil {
			z.setError(err)
		}
	}
}

func (z *Writer) error() error {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.err
}

func (z *Writer) setError(err error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.err == nil {
		z.err = err
	}
}
