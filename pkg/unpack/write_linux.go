package unpack

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// writers write the contents of regular files for the disk applier on a
// few goroutines, while the goroutine walking the tar goes on with the next
// entries. The rules that keep the tree exactly what a one-goroutine unpack
// makes (see the package doc):
//
//  1. Every operation on a name stays on the walking goroutine, in the
//     order of the entries: resolving a parent (openat2 RESOLVE_IN_ROOT),
//     creating a directory, file, symlink, hardlink or device, and every
//     removal. A file is created there (O_CREAT|O_EXCL|O_NOFOLLOW, relative
//     to its parent's descriptor) and its content read from the tar into a
//     buffer; a writer gets only the open descriptor: it writes, sets the
//     owner, mode and mtime through it and closes it. It never resolves a
//     path, so it cannot be led anywhere by the tree.
//  2. An entry that removes or replaces a path waits for the writes still
//     running at it and below it: a later duplicate of a file, a directory
//     or symlink replacing a file or a directory, a whiteout, an opaque
//     whiteout (for each path it removes).
//  3. A hardlink waits for the write of its target, so it links a complete
//     file with its final owner, mode and mtime.
//  4. A layer's writes are all done before the next layer's first entry
//     (flush), hence before directories get their mtimes, the tree is
//     synced and renamed, or the layer's digests are compared.
//  5. Once a write fails no entry is applied after it; the error reported
//     is that of the first failed entry in the order of the stream (a write
//     failure is always earlier than an entry the walk refused after it).
//
// Files larger than maxJob are written by the walking goroutine itself, as
// before. The contents of queued files are held in blocks of blockSize
// bytes, at most maxQueued bytes of them, allocated once and reused.
type writers struct {
	chown bool
	jobs  chan *fileJob
	wg    sync.WaitGroup
	seq   int64

	// free holds the content blocks not in use; made counts those
	// allocated, at most maxQueued/blockSize.
	free chan []byte
	made int

	// inflight maps the canonical path of each queued file to its job;
	// only the walking goroutine uses it.
	inflight map[string]*fileJob

	// observe, when set (by tests), is called by the writer before it
	// writes j and after it has set its mtime, before it closes its fd.
	observe func(j *fileJob, done bool)

	failed atomic.Bool
	mu     sync.Mutex
	first  *fileJob // the failed job earliest in the stream
	err    error    // its *EntryError
}

// The contents waiting for a writer are kept small for the reason chunks
// are (see chunkSize): memory touched once costs a page fault per page.
const (
	maxJob    = 512 << 10 // larger files are written by the walking goroutine
	maxQueued = 1 << 20   // bytes of content blocks at most
	blockSize = 32 << 10
	jobQueue  = 64 // files queued at most
)

// A queued file must fit in the blocks, or read would wait for a free block
// forever: this fails to compile when maxJob > maxQueued.
const _ = uint(maxQueued - maxJob)

// fileJob is one file a writer finishes.
type fileJob struct {
	seq   int64
	path  string // canonical path in the root
	layer int
	name  string // the tar entry's name, for errors
	fd    int
	data  [][]byte // the content, in blocks
	uid   int
	gid   int
	mode  uint32
	mtime [2]unix.Timespec
	done  chan struct{}
}

func newWriters(chown bool) *writers {
	return &writers{chown: chown, free: make(chan []byte, maxQueued/blockSize), inflight: map[string]*fileJob{}}
}

// start starts the writer goroutines, on the first file.
func (w *writers) start() {
	if w.jobs != nil {
		return
	}
	w.jobs = make(chan *fileJob, jobQueue)
	n := min(max(runtime.GOMAXPROCS(0), 2), 4)
	w.wg.Add(n)
	for range n {
		go w.run()
	}
}

func (w *writers) run() {
	defer w.wg.Done()
	for j := range w.jobs {
		if w.observe != nil {
			w.observe(j, false)
		}
		err := w.finish(j)
		if w.observe != nil {
			w.observe(j, true)
		}
		unix.Close(j.fd)
		w.release(j)
		if err != nil {
			w.fail(j, err)
		}
		close(j.done)
	}
}

// finish writes j's data and sets the file's owner, mode and mtime.
func (w *writers) finish(j *fileJob) error {
	for _, b := range j.data {
		if err := writeAll(j.fd, b); err != nil {
			return err
		}
	}
	return w.meta(j)
}

// writeAll writes data to fd.
func writeAll(fd int, data []byte) error {
	for len(data) > 0 {
		n, err := unix.Write(fd, data)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return fmt.Errorf("writing: %w", err)
		case n == 0:
			return fmt.Errorf("writing: %w", io.ErrShortWrite)
		}
		data = data[n:]
	}
	return nil
}

// meta sets the owner (when root), mode and mtime of j's file.
func (w *writers) meta(j *fileJob) error {
	if w.chown {
		if err := unix.Fchown(j.fd, j.uid, j.gid); err != nil {
			return fmt.Errorf("chown %d:%d: %w", j.uid, j.gid, err)
		}
	}
	if err := unix.Fchmod(j.fd, j.mode); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	if err := futimens(j.fd, &j.mtime); err != nil {
		return fmt.Errorf("setting mtime: %w", err)
	}
	return nil
}

// futimens sets the times of the file open as fd (utimensat with a NULL
// path, which x/sys/unix does not offer).
func futimens(fd int, ts *[2]unix.Timespec) error {
	_, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(ts)), 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

func (w *writers) fail(j *fileJob, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.first == nil || j.seq < w.first.seq {
		// A write's failure is the host's (a full disk, EACCES, EIO): it
		// keeps its errno, never taken for a corrupt layer.
		w.first, w.err = j, &EntryError{j.layer, j.name, err}
	}
	w.failed.Store(true)
}

// error returns the *EntryError of the first failed write, if one failed.
func (w *writers) error() error {
	if !w.failed.Load() {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// read reads j's size bytes of content from r into blocks, waiting for
// writers to free some once maxQueued bytes are in use.
func (w *writers) read(j *fileJob, r io.Reader, size int64) error {
	for size > 0 {
		b := w.block()[:min(size, blockSize)]
		j.data = append(j.data, b)
		if _, err := io.ReadFull(r, b); err != nil {
			w.release(j)
			return streamErr(err) // the stream's: r ended before size bytes
		}
		size -= int64(len(b))
	}
	return nil
}

// block returns a free content block.
func (w *writers) block() []byte {
	select {
	case b := <-w.free:
		return b
	default:
	}
	if w.made < cap(w.free) {
		w.made++
		return blocks.get()
	}
	return <-w.free
}

// release frees j's content blocks.
func (w *writers) release(j *fileJob) {
	for _, b := range j.data {
		w.free <- b[:blockSize]
	}
	j.data = nil
}

// submit queues j, whose file is created and whose content is read.
func (w *writers) submit(j *fileJob) {
	w.start()
	w.seq++
	j.seq, j.done = w.seq, make(chan struct{})
	if len(w.inflight) >= 4*jobQueue {
		w.prune()
	}
	w.inflight[j.path] = j
	w.jobs <- j
}

// prune forgets the jobs that are done.
func (w *writers) prune() {
	for p, j := range w.inflight {
		select {
		case <-j.done:
			delete(w.inflight, p)
		default:
		}
	}
}

// waitAt waits for the write of the file at the canonical path p.
func (w *writers) waitAt(p string) {
	if j := w.inflight[p]; j != nil {
		<-j.done
		delete(w.inflight, p)
	}
}

// waitUnder waits for the writes at the canonical path p and below it.
func (w *writers) waitUnder(p string) {
	for q, j := range w.inflight {
		if p == "" || q == p || strings.HasPrefix(q, p) && q[len(p)] == '/' {
			<-j.done
			delete(w.inflight, q)
		}
	}
}

// flush waits for every queued write and returns the first failure.
func (w *writers) flush() error {
	for _, j := range w.inflight {
		<-j.done
	}
	clear(w.inflight)
	return w.error()
}

// close flushes and stops the writer goroutines.
func (w *writers) close() {
	w.flush()
	if w.jobs != nil {
		close(w.jobs)
		w.wg.Wait()
		w.jobs = nil
	}
	for {
		select {
		case b := <-w.free:
			blocks.put(b)
		default:
			return
		}
	}
}

// blocks holds the content blocks of the writers that are closed, for the
// next unpack in this process.
var blocks = newBufferList(blockSize, maxQueued/blockSize, newBuffer)
