package gzmember

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// ErrMember is a member with the "JM" subfield that breaks its rules.
var ErrMember = errors.New("gzip member")

// brokenRule is the error of a member that breaks a rule of the format:
// it is ErrMember, and says which rule; err, when set, is what the rule's
// check met (the source's end).
type brokenRule struct {
	why string
	err error
}

func (e *brokenRule) Error() string {
	if e.err != nil {
		return e.why + ": " + e.err.Error()
	}
	return e.why
}

func (e *brokenRule) Is(target error) bool { return target == ErrMember }
func (e *brokenRule) Unwrap() error        { return e.err }

func broken(err error, format string, args ...any) error {
	return &brokenRule{why: fmt.Sprintf(format, args...), err: err}
}

// memberError places err at the member at byte at of the stream.
func memberError(at int64, err error) error {
	return fmt.Errorf("gzip member at byte %d: %w", at, err)
}

// ErrClosed is what a Read running while the Reader is closed returns,
// instead of a clean end.
var ErrClosed = errors.New("gzmember: reader closed")

// ReaderOption configures a Reader.
type ReaderOption func(*Reader)

// WithWorkers sets how many members are decoded at once (default 2).
func WithWorkers(n int) ReaderOption {
	return func(r *Reader) { r.workers = max(n, 1) }
}

// WithBuffers makes the Reader take its buffers from get, which returns a
// slice of n bytes, and give them back to put once closed (default: make,
// and nothing). Their contents on get do not matter.
func WithBuffers(get func(n int) []byte, put func([]byte)) ReaderOption {
	return func(r *Reader) { r.get, r.put = get, put }
}

// WithStop makes Read fail with err once stop is closed, instead of
// waiting for a member.
func WithStop(stop <-chan struct{}, err error) ReaderOption {
	return func(r *Reader) { r.stop, r.stopErr = stop, err }
}

// A Reader decodes a gzip stream, its members with the "JM" subfield on
// several goroutines at once (see the package's documentation).
type Reader struct {
	workers int
	get     func(int) []byte
	put     func([]byte)
	stop    <-chan struct{}
	stopErr error

	src   io.Reader
	slots []*slot
	quit  chan struct{} // closed by Close
	free  chan *slot    // slots not in use
	order chan *slot    // slots in stream order, to Read
	work  chan *slot    // slots to decode
	wg    sync.WaitGroup

	cur *slot
	off int
	// short is the offset of a member with less than BlockSize of output,
	// which must be the last with the subfield, or -1; shortLen its output.
	short    int64
	shortLen int
	tail     io.Reader // the rest of the stream, decoded in Read
	err      error
	once     sync.Once
}

// slot is one member's way through the Reader: its bytes, then its output.
type slot struct {
	in   []byte // MaxMember
	out  []byte // BlockSize
	m    []byte // the member: a prefix of in
	data []byte // its output: a prefix of out
	at   int64  // its offset in the stream
	err  error
	done chan struct{} // closed once decoded

	// tail, when set, ends the members: the rest of the stream, from the
	// first member without the subfield (its first bytes are in).
	tail io.Reader
}

// Slots returns how many members a Reader of the given workers holds at
// once, each in a buffer of MaxMember bytes and one of BlockSize: one per
// worker, and the one Read copies out of. The dispatcher reads the next
// member into a slot as soon as Read is done with one.
func Slots(workers int) int { return max(workers, 1) + 1 }

// NewReader starts decoding src.
func NewReader(src io.Reader, opts ...ReaderOption) *Reader {
	r := &Reader{workers: 2, get: func(n int) []byte { return make([]byte, n) }, put: func([]byte) {}, src: src, quit: make(chan struct{}), short: -1}
	for _, o := range opts {
		o(r)
	}
	slots := Slots(r.workers)
	r.free = make(chan *slot, slots)
	r.order = make(chan *slot, slots)
	r.work = make(chan *slot, slots)
	for range slots {
		s := &slot{in: r.get(MaxMember)[:MaxMember], out: r.get(BlockSize)[:BlockSize]}
		r.slots = append(r.slots, s)
		r.free <- s
	}
	r.wg.Add(1 + r.workers)
	go r.dispatch()
	for range r.workers {
		go r.decode()
	}
	return r
}

// dispatch reads the stream member by member, in order, and hands each
// member with the subfield to the workers.
func (r *Reader) dispatch() {
	defer r.wg.Done()
	defer close(r.work)
	defer close(r.order)
	var at int64
	for {
		var s *slot
		select {
		case <-r.quit:
			return
		default:
		}
		select {
		case s = <-r.free:
		case <-r.quit:
			return
		}
		if r.readMember(s, at) {
			return
		}
		r.order <- s // never blocks: order holds every slot
		if s.err != nil || s.tail != nil {
			close(s.done)
			return
		}
		r.work <- s
		at += int64(len(s.m))
	}
}

// readMember reads the member at byte at of the stream into s: its bytes,
// or the rest of the stream (s.tail) from a member without the subfield,
// or the error that ends the stream. It reports the stream's end after a
// member.
func (r *Reader) readMember(s *slot, at int64) (end bool) {
	s.at, s.err, s.tail, s.data = at, nil, nil, nil
	s.done = make(chan struct{})
	n, length, err := readHeader(r.src, s.in)
	switch {
	case err == io.EOF && n == 0 && at > 0:
		return true
	case err != nil && err != io.EOF: // the source's
		s.err = err
	case length == 0: // not ours, cut short, or nothing: the rest, as it comes
		s.tail = io.MultiReader(bytes.NewReader(s.in[:n]), r.src)
	case length < headerSize+10 || length > MaxMember:
		s.err = memberError(at, broken(nil, "length %d, want %d to %d", length, headerSize+10, MaxMember))
	default:
		s.m = s.in[:length]
		if _, err := io.ReadFull(r.src, s.m[n:]); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				err = broken(io.ErrUnexpectedEOF, "length %d runs past the stream's end", length)
			}
			s.err = memberError(at, err)
		}
	}
	return false
}

// readHeader reads a member's header into buf: its length when the header
// is the one the Writer writes, else 0, with n the bytes read (fewer than
// headerSize only at the end of src, when err is io.EOF).
func readHeader(src io.Reader, buf []byte) (n int, length int, err error) {
	// Not io.ReadFull: it makes io.ErrUnexpectedEOF of a short read, which
	// could not be told from the source's own (a response cut short).
	for n < headerSize && err == nil {
		var k int
		k, err = src.Read(buf[n:headerSize])
		n += k
	}
	if n == headerSize && err == io.EOF {
		err = nil // the member's body meets the end again
	}
	if err != nil {
		return n, 0, err
	}
	h := buf[:headerSize]
	// magic, deflate, FLG=FEXTRA only; XLEN 8; subfield JM of 4 bytes
	if h[0] != 0x1f || h[1] != 0x8b || h[2] != 8 || h[3] != 4 ||
		!bytes.Equal(h[10:16], []byte{8, 0, 'J', 'M', 4, 0}) {
		return n, 0, nil
	}
	return n, int(binary.LittleEndian.Uint32(h[16:headerSize])), nil
}

// decode decodes the members the dispatcher hands out.
func (r *Reader) decode() {
	defer r.wg.Done()
	var zr gzip.Reader
	for s := range r.work {
		s.data, s.err = decodeMember(&zr, s.m, s.out)
		if s.err != nil {
			s.err = memberError(s.at, s.err)
		}
		close(s.done)
	}
}

// decodeMember decodes the member m into out, which it must fill at most,
// and checks that m ends where the member does.
func decodeMember(zr *gzip.Reader, m, out []byte) ([]byte, error) {
	br := bytes.NewReader(m)
	if err := zr.Reset(br); err != nil {
		return nil, cutShort(err, len(m))
	}
	zr.Multistream(false)
	n := 0
	for {
		k, err := zr.Read(out[n:])
		n += k
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, cutShort(err, len(m))
		}
		if n == len(out) { // the member must end here, its trailer checked
			if err := atEnd(zr); err != nil {
				return nil, cutShort(err, len(m))
			}
			break
		}
	}
	if br.Len() != 0 {
		return nil, broken(nil, "%d bytes past its end within its length %d", br.Len(), len(m))
	}
	return out[:n], nil
}

// atEnd reads the end of a member whose output filled its buffer.
func atEnd(zr *gzip.Reader) error {
	var one [1]byte
	for {
		k, err := zr.Read(one[:])
		switch {
		case k > 0:
			return broken(nil, "decodes to more than %d bytes", BlockSize)
		case err == io.EOF:
			return nil
		case err != nil:
			return err
		}
	}
}

// cutShort names the member's length as the cause of its end of data:
// the whole member was there, by its length.
func cutShort(err error, length int) error {
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		return broken(nil, "runs past its length %d", length)
	}
	return err
}

// Read implements io.Reader.
func (r *Reader) Read(p []byte) (int, error) {
	for r.cur == nil || r.off >= len(r.cur.data) {
		if r.cur != nil {
			r.free <- r.cur // never blocks: free holds every slot
			r.cur = nil
		}
		if r.err != nil {
			return 0, r.err
		}
		if r.tail != nil {
			return r.tail.Read(p)
		}
		r.err = r.next()
	}
	n := copy(p, r.cur.data[r.off:])
	r.off += n
	return n, nil
}

// next takes the next member's output, or the rest of the stream.
func (r *Reader) next() error {
	var s *slot
	var ok bool
	select {
	case s, ok = <-r.order:
	case <-r.stop:
		return r.stopErr
	}
	if !ok {
		select {
		case <-r.quit:
			return ErrClosed // the dispatcher stopped, not at the end
		default:
		}
		return io.EOF
	}
	select {
	case <-s.done:
	case <-r.stop:
		return r.stopErr
	}
	if s.err != nil {
		return s.err
	}
	if s.tail == nil {
		// Only the last member may hold less than BlockSize: members of
		// a few bytes would cost far more to hand out than to decode.
		if r.short >= 0 {
			return memberError(r.short, broken(nil, "%d bytes of output, fewer than %d, and not the last", r.shortLen, BlockSize))
		}
		if len(s.data) < BlockSize {
			r.short, r.shortLen = s.at, len(s.data)
		}
	}
	if s.tail != nil {
		zr, err := gzip.NewReader(s.tail)
		if err == io.EOF { // no member at all
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return err
		}
		r.tail = zr
		return nil
	}
	r.cur, r.off = s, 0
	return nil
}

// Close stops the Reader's goroutines, waits for them and gives its
// buffers back. It does not close the source. Read must not be called
// after it, nor while it runs (such a Read fails with ErrClosed, or reads
// a buffer given back).
func (r *Reader) Close() error {
	r.once.Do(func() {
		close(r.quit)
		// The dispatcher ends at the next member (or its source's end),
		// the workers once they have decoded what they hold.
		r.wg.Wait()
		for _, s := range r.slots {
			r.put(s.in)
			r.put(s.out)
		}
	})
	return nil
}
