package unpack

import (
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The pipeline's buffers (the chunks of a layer stream, the writers'
// content blocks and the copy buffer for large files) are carved from one
// region of memory, mapped once per process and advised to the kernel for a
// transparent huge page (MADV_HUGEPAGE). Every page a process touches for
// the first time costs a page fault, and the buffers are most of the pages
// an unpack touches: faulted in 4 KiB at a time they are up to 480 faults,
// which on the virtual machine of docs/benchmarks.md take longer than
// decompressing a small image's first megabytes. Backed by one huge page
// they are one fault.
//
// Where the kernel gives no huge page (THP disabled, or no free 2 MiB
// block) the region is faulted in page by page, as heap memory is; where the
// mapping fails, buffers come from the heap. Either way the buffers and
// their contents are the same: only the cost of touching them changes. The
// region is never unmapped; buffers taken from it are reused through the
// free lists of chunks, blocks and copy buffers.
const (
	hugePage = 2 << 20
	// arenaSize holds one stream's chunks, one unpack's content blocks and
	// its copy buffer.
	arenaSize = maxChunks*chunkSize + maxQueued + copyBufSize
)

// A compile-time check that arenaSize fits in one huge page.
const _ = uint(hugePage - arenaSize)

var arena struct {
	sync.Mutex
	mapped bool
	region []byte // the huge page mapped, nil if the mapping failed
	rest   []byte // what is not handed out yet
}

// newBuffer returns a zeroed buffer of n bytes, from the arena while it
// lasts, else from the heap.
func newBuffer(n int) []byte {
	arena.Lock()
	defer arena.Unlock()
	if !arena.mapped {
		arena.mapped = true
		arena.region = mapArena()
		arena.rest = arena.region[:min(arenaSize, len(arena.region))]
	}
	if n > len(arena.rest) {
		return make([]byte, n)
	}
	b := arena.rest[:n:n]
	arena.rest = arena.rest[n:]
	return b
}

// mapArena maps a huge page's worth of memory aligned to a huge page,
// advised for one, or returns nil.
func mapArena() []byte {
	// Map twice a huge page, keep the aligned huge page inside and unmap
	// the rest, so that the kernel can back it with one huge page.
	p, err := unix.MmapPtr(-1, 0, nil, 2*hugePage, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil
	}
	off := -uintptr(p) & (hugePage - 1)
	if off > 0 {
		_ = unix.MunmapPtr(p, off)
	}
	_ = unix.MunmapPtr(unsafe.Add(p, off+hugePage), hugePage-off)
	b := unsafe.Slice((*byte)(unsafe.Add(p, off)), hugePage)
	// An error (a kernel without THP) leaves ordinary pages: nothing to do.
	_ = unix.Madvise(b, unix.MADV_HUGEPAGE)
	return b
}

// bufferList is a free list of buffers of one size, which come from the
// arena while it lasts. Unlike a sync.Pool it is not emptied by the garbage
// collector, so its buffers' pages are faulted in once per process.
type bufferList struct {
	size int
	free chan []byte
}

func newBufferList(size, keep int) *bufferList {
	return &bufferList{size: size, free: make(chan []byte, keep)}
}

// get returns a free buffer, or a new one.
func (l *bufferList) get() []byte {
	select {
	case b := <-l.free:
		return b
	default:
		return newBuffer(l.size)
	}
}

// put makes b, from get, free for the next get; it drops b when the list
// is full.
func (l *bufferList) put(b []byte) {
	select {
	case l.free <- b[:l.size]:
	default:
	}
}
