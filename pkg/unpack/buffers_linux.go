package unpack

import (
	"runtime"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/jailimg/jailimg/internal/gzmember"
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

// buffers is the process's arena.
var buffers arena

// decodeWorkers returns how many goroutines decode a gzip layer's members:
// one per core, up to maxDecoders.
func decodeWorkers() int { return min(runtime.GOMAXPROCS(0), maxDecoders) }

// maxDecoders bounds the gzip decoders: writing the files, not decoding,
// bounds an unpack long before.
const maxDecoders = 4

// memberBuffers holds the buffers of gzip members (gzmember.Reader's), of
// two sizes, from an arena of their own: a huge page holds those of two
// decoders (more come from the heap).
var memberBuffers = memberLists{
	in:  newBufferList(gzmember.MaxMember, gzmember.Slots(maxDecoders), newMemberBuffer),
	out: newBufferList(gzmember.BlockSize, gzmember.Slots(maxDecoders), newMemberBuffer),
}

// members is the arena of memberBuffers.
var members arena

func newMemberBuffer(n int) []byte { return from(&members, n) }

// A compile-time check that two decoders' members fit in one huge page.
const _ = uint(hugePage - (2+1)*(gzmember.MaxMember+gzmember.BlockSize)) // gzmember.Slots(2)

// memberLists are the free lists of gzip members' buffers, by size: the
// get and put of gzmember.WithBuffers.
type memberLists struct{ in, out *bufferList }

// get returns a buffer of n bytes, gzmember.BlockSize or MaxMember.
func (m memberLists) get(n int) []byte {
	if n == gzmember.BlockSize {
		return m.out.get()
	}
	return m.in.get()
}

// put makes b, from get, free for the next get.
func (m memberLists) put(b []byte) {
	if len(b) == gzmember.BlockSize {
		m.out.put(b)
		return
	}
	m.in.put(b)
}

// newBuffer returns a zeroed buffer of n bytes, from the process's arena
// while it lasts, else from the heap (see from).
func newBuffer(n int) []byte { return from(&buffers, n) }

// from returns a zeroed buffer of n bytes from a, or from the heap under
// the race detector (and asan, msan): they do not watch memory mapped by
// hand, and the buffers are where a reuse bug would show.
func from(a *arena, n int) []byte {
	if checkedMemory {
		return make([]byte, n)
	}
	return a.get(n)
}

// An arena hands out buffers from one huge page, mapped on first use.
type arena struct {
	sync.Mutex
	mapped bool
	region []byte // the huge page mapped, nil if the mapping failed
	rest   []byte // what is not handed out yet
}

// get returns a zeroed buffer of n bytes, exactly n long and n in
// capacity, from the arena while it lasts, else from the heap.
func (a *arena) get(n int) []byte {
	a.Lock()
	defer a.Unlock()
	if !a.mapped {
		a.mapped = true
		a.region = mapHugePage()
		a.rest = a.region
	}
	if n > len(a.rest) {
		return make([]byte, n)
	}
	b := a.rest[:n:n]
	a.rest = a.rest[n:]
	return b
}

// mapHugePage maps a huge page's worth of memory aligned to a huge page,
// advised for one, or returns nil.
func mapHugePage() []byte {
	// Map twice a huge page: the aligned huge page inside is kept.
	p, err := unix.MmapPtr(-1, 0, nil, 2*hugePage, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil
	}
	return trimToHugePage(p)
}

// trimToHugePage unmaps from the mapping of 2*hugePage bytes at p all but
// the huge page aligned inside it, so that the kernel can back that with
// one huge page, advises it for one and returns it.
func trimToHugePage(p unsafe.Pointer) []byte {
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
	new  func(n int) []byte
}

// newBufferList returns an empty list of buffers of size bytes that keeps
// at most keep of them free, and makes new ones with alloc.
func newBufferList(size, keep int, alloc func(n int) []byte) *bufferList {
	return &bufferList{size: size, free: make(chan []byte, keep), new: alloc}
}

// get returns a free buffer, or a new one.
func (l *bufferList) get() []byte {
	select {
	case b := <-l.free:
		return b
	default:
		return l.new(l.size)
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
