package gzmember

import (
	"bytes"
	stdgzip "compress/gzip"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
)

// input returns n bytes that compress somewhat, as a tar of binaries does:
// random runs and repeats.
func input(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, 0, n)
	for len(b) < n {
		run := make([]byte, 1+rng.IntN(300))
		for i := range run {
			run[i] = byte(rng.IntN(16))
		}
		for range 1 + rng.IntN(4) {
			b = append(b, run...)
		}
	}
	return b[:n]
}

// compress writes in through a Writer with the given concurrency, in
// writes of odd sizes.
func compress(t testing.TB, in []byte, concurrency int) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := NewWriter(&out, gzip.DefaultCompression, concurrency)
	if err != nil {
		t.Fatal(err)
	}
	for p := in; len(p) > 0; {
		k := min(len(p), 70001)
		if _, err := w.Write(p[:k]); err != nil {
			t.Fatal(err)
		}
		p = p[k:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// sequential decodes b as one gzip stream, as jailimg did before members.
func sequential(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

// parallel decodes b with a Reader of the given workers.
func parallel(b []byte, workers int) ([]byte, error) {
	r := NewReader(bytes.NewReader(b), WithWorkers(workers))
	defer r.Close()
	return io.ReadAll(r)
}

// members splits b at the lengths its headers give, failing t on a member
// without the subfield.
func members(t *testing.T, b []byte) [][]byte {
	t.Helper()
	var ms [][]byte
	for len(b) > 0 {
		if len(b) < headerSize || !bytes.Equal(b[:4], []byte{0x1f, 0x8b, 8, 4}) || !bytes.Equal(b[10:16], []byte{8, 0, 'J', 'M', 4, 0}) {
			t.Fatalf("member %d: header % x, want the JM subfield", len(ms), b[:min(len(b), headerSize)])
		}
		n := int(binary.LittleEndian.Uint32(b[16:20]))
		if n > len(b) {
			t.Fatalf("member %d: length %d, only %d bytes left", len(ms), n, len(b))
		}
		ms, b = append(ms, b[:n]), b[n:]
	}
	return ms
}

// TestWriter: the stream is one member per BlockSize of input (at least
// one), each a gzip file of its own whose header gives its length; the
// standard library reads the whole as the input; and the bytes are the
// same whatever the concurrency.
func TestWriter(t *testing.T) {
	for _, tt := range []struct {
		name    string
		n       int
		members int
	}{
		{"empty", 0, 1},
		{"one byte", 1, 1},
		{"one block less a byte", BlockSize - 1, 1},
		{"one block", BlockSize, 1},
		{"one block and a byte", BlockSize + 1, 2},
		{"many blocks", 5*BlockSize + 7, 6},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := input(tt.n, uint64(tt.n))
			b := compress(t, in, 1)
			for _, c := range []int{2, 8} {
				if other := compress(t, in, c); !bytes.Equal(other, b) {
					t.Errorf("concurrency %d wrote other bytes than concurrency 1", c)
				}
			}
			ms := members(t, b)
			if len(ms) != tt.members {
				t.Errorf("%d members, want %d", len(ms), tt.members)
			}
			var joined []byte
			for i, m := range ms {
				zr, err := stdgzip.NewReader(bytes.NewReader(m))
				if err != nil {
					t.Fatalf("member %d: %v", i, err)
				}
				zr.Multistream(false)
				out, err := io.ReadAll(zr)
				if err != nil {
					t.Fatalf("member %d: %v", i, err)
				}
				if len(out) > BlockSize {
					t.Errorf("member %d holds %d bytes, more than BlockSize", i, len(out))
				}
				joined = append(joined, out...)
			}
			if !bytes.Equal(joined, in) {
				t.Errorf("the members decoded one by one are not the input")
			}
			zr, err := stdgzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if out, err := io.ReadAll(zr); err != nil || !bytes.Equal(out, in) {
				t.Errorf("compress/gzip read %d bytes (%v), want the input's %d", len(out), err, len(in))
			}
		})
	}
}

// TestWriterError: a failing destination fails Write or Close with its
// error, and Close ends the Writer's goroutines all the same.
func TestWriterError(t *testing.T) {
	before := runtime.NumGoroutine()
	boom := errors.New("disk full")
	w, err := NewWriter(failWriter{boom}, gzip.DefaultCompression, 2)
	if err != nil {
		t.Fatal(err)
	}
	in := input(4*BlockSize, 3)
	_, werr := w.Write(in)
	cerr := w.Close()
	if !errors.Is(werr, boom) && !errors.Is(cerr, boom) {
		t.Errorf("Write: %v, Close: %v; want %v from one of them", werr, cerr, boom)
	}
	waitGoroutines(t, before)
	if _, err := NewWriter(io.Discard, 42, 1); err == nil {
		t.Error("NewWriter accepted gzip level 42")
	}
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

// member builds a member with the JM subfield by hand: header, the
// deflate stream of data, a CRC-32 and size (crc and size as given, when
// not -1), its length field set to length (0: its real length).
func member(data []byte, length int, crc, size int64) []byte {
	var d bytes.Buffer
	fw, _ := flate.NewWriter(&d, flate.DefaultCompression)
	fw.Write(data)
	fw.Close()
	m := []byte{0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 255, 8, 0, 'J', 'M', 4, 0, 0, 0, 0, 0}
	m = append(m, d.Bytes()...)
	if crc < 0 {
		crc = int64(crc32.ChecksumIEEE(data))
	}
	if size < 0 {
		size = int64(len(data))
	}
	m = binary.LittleEndian.AppendUint32(m, uint32(crc))
	m = binary.LittleEndian.AppendUint32(m, uint32(size))
	if length == 0 {
		length = len(m)
	}
	binary.LittleEndian.PutUint32(m[16:20], uint32(length))
	return m
}

// foreign is a gzip file as another tool writes it: one member, no extra
// field.
func foreign(data []byte) []byte {
	var b bytes.Buffer
	zw := stdgzip.NewWriter(&b)
	zw.Write(data)
	zw.Close()
	return b.Bytes()
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// TestReader decodes streams of every shape with the Reader and with a
// sequential reader: where the sequential reader succeeds, the Reader
// returns the same bytes; where it fails, so does the Reader; and the
// Reader fails with ErrMember, and only there, on members that break the
// subfield's rules.
func TestReader(t *testing.T) {
	a, b := input(1000, 1), input(BlockSize, 2)
	ours := compress(t, input(3*BlockSize+5, 4), 2)
	big := member(make([]byte, BlockSize+1), 0, -1, -1)
	good := member(a, 0, -1, -1)
	for _, tt := range []struct {
		name      string
		stream    []byte
		errMember bool // the Reader fails with ErrMember
		fails     bool // the Reader fails otherwise
	}{
		{name: "the Writer's", stream: ours},
		{name: "hand-made members", stream: cat(member(b, 0, -1, -1), member(b, 0, -1, -1), good)},
		{name: "a short member before another", stream: cat(good, member(b, 0, -1, -1)), errMember: true},
		{name: "empty members", stream: cat(member(nil, 0, -1, -1), member(nil, 0, -1, -1)), errMember: true},
		{name: "another tool's", stream: foreign(b)},
		{name: "another tool's, two members", stream: cat(foreign(a), foreign(b))},
		{name: "members, then another tool's", stream: cat(ours, foreign(a), good)},
		{name: "another tool's, then members", stream: cat(foreign(a), ours)},
		{name: "empty", stream: nil, fails: true},
		{name: "a partial header", stream: good[:7], fails: true},
		{name: "a partial header after members", stream: cat(ours, good[:7]), fails: true},
		{name: "cut in a member", stream: ours[:len(ours)-100], fails: true},
		{name: "garbage after members", stream: cat(ours, []byte("garbage, not a gzip header")), fails: true},
		{name: "zeros after members", stream: cat(ours, make([]byte, 512)), fails: true},
		{name: "a wrong CRC", stream: cat(good, member(b, 0, 12345, -1)), fails: true},
		{name: "a wrong size", stream: cat(good, member(b, 0, -1, 7)), fails: true},
		{name: "length too small", stream: member(a, headerSize+9, -1, -1), errMember: true},
		{name: "length beyond MaxMember", stream: member(a, MaxMember+1, -1, -1), errMember: true},
		{name: "length short of the member", stream: member(a, len(good)-3, -1, -1), errMember: true},
		{name: "length past the member", stream: cat(member(a, len(good)+len(good), -1, -1), good), errMember: true},
		{name: "length past the stream's end", stream: member(a, len(good)+1, -1, -1), errMember: true},
		{name: "more than BlockSize of output", stream: big, errMember: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want, serr := sequential(tt.stream)
			for _, workers := range []int{1, 3} {
				got, err := parallel(tt.stream, workers)
				switch {
				case tt.errMember:
					if !errors.Is(err, ErrMember) {
						t.Errorf("workers %d: %v, want ErrMember", workers, err)
					}
				case tt.fails:
					if err == nil || serr == nil {
						t.Errorf("workers %d: error %v, sequential %v; want both to fail", workers, err, serr)
					}
				case serr != nil:
					t.Fatalf("sequential: %v", serr)
				case err != nil || !bytes.Equal(got, want):
					t.Errorf("workers %d: %d bytes (%v), want the sequential reader's %d", workers, len(got), err, len(want))
				}
			}
		})
	}
}

// FuzzReader: whatever the stream, the Reader returns what a sequential
// reader does, or fails where it fails, or fails with ErrMember.
func FuzzReader(f *testing.F) {
	a := input(3000, 5)
	f.Add(member(a, 0, -1, -1))
	f.Add(cat(member(a[:100], 0, -1, -1), member(nil, 0, -1, -1), member(a, 0, -1, -1)))
	f.Add(cat(member(a, 0, -1, -1), foreign(a[:10])))
	f.Add(foreign(a))
	f.Add(compress(f, a, 1))
	f.Add(member(a, len(member(a, 0, -1, -1))+1, -1, -1)) // a length past the stream's end
	f.Fuzz(func(t *testing.T, stream []byte) {
		want, serr := sequential(stream)
		got, err := parallel(stream, 2)
		switch {
		case err == nil && serr != nil:
			t.Fatalf("the Reader read %d bytes where the sequential reader fails: %v", len(got), serr)
		case err == nil && !bytes.Equal(got, want):
			t.Fatalf("the Reader read %d bytes, the sequential reader %d, not the same", len(got), len(want))
		case err != nil && serr == nil && !errors.Is(err, ErrMember):
			t.Fatalf("the Reader fails (%v) where the sequential reader reads %d bytes", err, len(want))
		}
	})
}

// TestReaderSourceError: a source that fails, even with
// io.ErrUnexpectedEOF (an HTTP body cut short) right at a member's end,
// fails the Reader; it is not the stream's end.
func TestReaderSourceError(t *testing.T) {
	stream := compress(t, input(3*BlockSize, 7), 2)
	cut := stream[:len(members(t, stream)[0])]
	for _, err := range []error{io.ErrUnexpectedEOF, errors.New("connection reset")} {
		r := NewReader(io.MultiReader(bytes.NewReader(cut), failReader{err}))
		got, rerr := io.ReadAll(r)
		r.Close()
		if !errors.Is(rerr, err) {
			t.Errorf("source failing with %v after the first member: read %d bytes, error %v; want the source's error", err, len(got), rerr)
		}
	}
}

type failReader struct{ err error }

func (r failReader) Read([]byte) (int, error) { return 0, r.err }

// TestReaderStops: closed early, the Reader ends its goroutines; with
// WithStop, a Read waiting on a source that stalls returns the stop's
// error once it is closed.
func TestReaderStops(t *testing.T) {
	before := runtime.NumGoroutine()
	stream := compress(t, input(8*BlockSize, 6), 2)
	r := NewReader(bytes.NewReader(stream), WithWorkers(3))
	if _, err := io.ReadFull(r, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	r.Close()
	waitGoroutines(t, before)

	pr, pw := io.Pipe()
	stop := make(chan struct{})
	stopped := errors.New("stopped")
	r = NewReader(pr, WithStop(stop, stopped))
	go func() {
		pw.Write(stream[:100]) // part of a member, then the source stalls
	}()
	res := make(chan error, 1)
	go func() {
		_, err := r.Read(make([]byte, 10))
		res <- err
	}()
	close(stop)
	if err := <-res; err != stopped {
		t.Errorf("Read after stop: %v, want %v", err, stopped)
	}
	pw.CloseWithError(errors.New("source gone"))
	r.Close()
	waitGoroutines(t, before)
}

// waitGoroutines waits until no more goroutines run than before.
func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	for i := 0; runtime.NumGoroutine() > before; i++ {
		if i == 1000 {
			t.Fatalf("%d goroutines left running, %d before", runtime.NumGoroutine(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
