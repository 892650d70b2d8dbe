package unpack

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/jailimg/jailimg/internal/gzmember"
)

// TestArena checks that an arena hands out buffers from one region aligned
// to a huge page and advised for one (VmFlags "hg" in smaps); that they are
// zeroed, exactly as large as asked (an append cannot spill into the next
// one) and disjoint; and that once the region is used up they come from the
// heap. It uses an arena of its own, not the process's, which other tests
// use up.
func TestArena(t *testing.T) {
	var a arena
	sizes := []int{chunkSize, blockSize, copyBufSize, chunkSize, blockSize}
	var bufs [][]byte
	for _, n := range sizes {
		b := a.get(n)
		if len(b) != n || cap(b) != n {
			t.Fatalf("get(%d): len %d cap %d", n, len(b), cap(b))
		}
		for i, c := range b {
			if c != 0 {
				t.Fatalf("get(%d): byte %d is %d, not zero", n, i, c)
			}
		}
		b[0], b[n-1] = 1, 1 // in use
		bufs = append(bufs, b)
	}
	if a.region == nil {
		t.Fatal("the arena was not mapped")
	}
	if p := addr(a.region); p%hugePage != 0 || len(a.region) != hugePage {
		t.Fatalf("arena at %#x, %d bytes: not one aligned huge page", p, len(a.region))
	}
	for _, b := range bufs {
		if !inside(b, a.region) {
			t.Fatalf("buffer %#x+%d is not in the arena %#x+%d", addr(b), len(b), addr(a.region), len(a.region))
		}
	}
	for i, b := range bufs {
		for _, c := range bufs[i+1:] {
			if addr(c) < addr(b)+uintptr(len(b)) && addr(c)+uintptr(len(c)) > addr(b) {
				t.Fatalf("buffers overlap: %#x+%d and %#x+%d", addr(b), len(b), addr(c), len(c))
			}
		}
	}
	if b := a.get(arenaSize); inside(b, a.region) || len(b) != arenaSize {
		t.Fatalf("get(%d) past the arena's end: %#x+%d, want a heap buffer", arenaSize, addr(b), len(b))
	}
	wantHg(t, a.region)
}

// TestNewBuffer checks that the pipeline's buffers come from the process's
// arena while it has room, and from the heap under the race detector.
func TestNewBuffer(t *testing.T) {
	buffers.Lock()
	room := !buffers.mapped || len(buffers.rest) >= 64
	buffers.Unlock()
	b := newBuffer(64)
	buffers.Lock()
	region := buffers.region
	buffers.Unlock()
	switch {
	case checkedMemory && inside(b, region):
		t.Fatal("newBuffer under the race detector returned a buffer of the arena")
	case !checkedMemory && room && !inside(b, region):
		t.Fatalf("newBuffer returned %#x, not in the arena %#x+%d that had room", addr(b), addr(region), len(region))
	}
}

// TestTrimToHugePage maps twice a huge page at an address that is not
// aligned to one (mmap of 2*hugePage bytes is usually aligned already) and
// checks that trimToHugePage leaves exactly the aligned huge page inside
// mapped, and nothing else of the mapping.
func TestTrimToHugePage(t *testing.T) {
	for _, skew := range []uintptr{0, 4096, 0x123000, hugePage - 4096} {
		t.Run(fmt.Sprintf("skew %#x", skew), func(t *testing.T) {
			// Reserve room, free it, and map at an address skew bytes
			// past a huge page boundary inside it.
			room, err := unix.MmapPtr(-1, 0, nil, 4*hugePage, unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
			if err != nil {
				t.Fatal(err)
			}
			base := (uintptr(room) + hugePage - 1) &^ (hugePage - 1)
			at := unsafe.Add(room, base+skew-uintptr(room)) // in the room, not Go memory
			if err := unix.MunmapPtr(room, 4*hugePage); err != nil {
				t.Fatal(err)
			}
			p, err := unix.MmapPtr(-1, 0, at, 2*hugePage, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_FIXED_NOREPLACE)
			if err != nil {
				t.Fatal(err)
			}
			if p != at {
				t.Fatalf("mapped at %p, asked %p", p, at)
			}
			b := trimToHugePage(p)
			want := base + skew
			if skew > 0 {
				want = base + hugePage
			}
			if addr(b) != want || len(b) != hugePage {
				t.Fatalf("trimmed to %#x+%#x, want %#x+%#x", addr(b), len(b), want, hugePage)
			}
			mapped := mappedIn(t, base+skew, base+skew+2*hugePage)
			if len(mapped) != 1 || mapped[0] != [2]uintptr{want, want + hugePage} {
				t.Fatalf("mapped in %#x-%#x after trimming: %#x, want only %#x-%#x", base+skew, base+skew+2*hugePage, mapped, want, want+hugePage)
			}
			wantHg(t, b)
			unix.MunmapPtr(unsafe.Pointer(unsafe.SliceData(b)), hugePage)
		})
	}
}

// TestMemberBuffers: the buffers of a gzip layer's reader on two cores
// all fit in one huge page, and what it gives back is what the next
// layer's reader gets. It uses lists and an arena of its own, made as
// memberBuffers is, not the process's, which other tests use.
func TestMemberBuffers(t *testing.T) {
	var a arena
	lists := memberLists{
		in:  newBufferList(gzmember.MaxMember, gzmember.Slots(maxDecoders), a.get),
		out: newBufferList(gzmember.BlockSize, gzmember.Slots(maxDecoders), a.get),
	}
	var got [][]byte
	for range gzmember.Slots(2) {
		got = append(got, lists.get(gzmember.MaxMember), lists.get(gzmember.BlockSize))
	}
	for _, b := range got {
		if !inside(b, a.region) {
			t.Fatalf("member buffer %#x+%d is not in the arena %#x+%d", addr(b), len(b), addr(a.region), len(a.region))
		}
	}
	for _, b := range got {
		lists.put(b)
	}
	again := map[uintptr]bool{}
	for range gzmember.Slots(2) {
		again[addr(lists.get(gzmember.MaxMember))] = true
		again[addr(lists.get(gzmember.BlockSize))] = true
	}
	for _, b := range got {
		if !again[addr(b)] {
			t.Errorf("buffer %#x+%d was given back but not got again", addr(b), len(b))
		}
	}
}

// TestBufferList checks that a buffer put back is the next one got, and
// that a full list drops what is put instead of blocking.
func TestBufferList(t *testing.T) {
	l := newBufferList(4096, 1, newBuffer)
	a, b := l.get(), l.get()
	if addr(a) == addr(b) {
		t.Fatal("two gets returned the same buffer")
	}
	a[0] = 1
	l.put(a[:10])
	l.put(b) // the list is full: dropped
	c := l.get()
	if addr(c) != addr(a) || len(c) != 4096 {
		t.Fatalf("get after put: %#x len %d, want %#x len 4096", addr(c), len(c), addr(a))
	}
	if d := l.get(); addr(d) == addr(b) {
		t.Fatal("a buffer put on a full list was kept")
	}
}

func addr(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

// inside is whether b lies in region.
func inside(b, region []byte) bool {
	return addr(b) >= addr(region) && addr(b)+uintptr(len(b)) <= addr(region)+uintptr(len(region))
}

// wantHg fails t unless the mapping that starts at region has VmFlags hg
// (MADV_HUGEPAGE), on a kernel with transparent huge pages.
func wantHg(t *testing.T, region []byte) {
	t.Helper()
	if _, err := os.Stat("/sys/kernel/mm/transparent_hugepage"); err != nil {
		return // a kernel without THP refuses the advice, harmlessly
	}
	flags, err := vmFlags(addr(region))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(" "+flags+" ", " hg ") {
		t.Errorf("mapping at %#x has VmFlags %q, without hg (MADV_HUGEPAGE)", addr(region), flags)
	}
}

// mappedIn returns the parts of [lo, hi) mapped in this process, from
// /proc/self/maps.
func mappedIn(t *testing.T, lo, hi uintptr) [][2]uintptr {
	t.Helper()
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	var in [][2]uintptr
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		r, _, _ := strings.Cut(line, " ")
		var from, to uintptr
		if _, err := fmt.Sscanf(r, "%x-%x", &from, &to); err != nil {
			t.Fatalf("/proc/self/maps: %q: %v", line, err)
		}
		if from < hi && to > lo {
			in = append(in, [2]uintptr{max(from, lo), min(to, hi)})
		}
	}
	return in
}

// vmFlags returns the VmFlags line of the mapping starting at a in
// /proc/self/smaps.
func vmFlags(a uintptr) (string, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return "", err
	}
	defer f.Close()
	start := fmt.Sprintf("%x-", a)
	in := false
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		// A mapping's first line starts with its range; the lines about
		// it start with a "Name:".
		if first, _, _ := strings.Cut(line, " "); !strings.HasSuffix(first, ":") {
			in = strings.HasPrefix(line, start)
			continue
		}
		if in && strings.HasPrefix(line, "VmFlags:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "VmFlags:")), nil
		}
	}
	if err := s.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("/proc/self/smaps: no mapping starts at %#x", a)
}
