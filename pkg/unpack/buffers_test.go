package unpack

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
	"unsafe"
)

// TestArena checks that the pipeline's buffers come from one region
// aligned to a huge page and advised for one (VmFlags "hg" in smaps), and
// that the buffers newBuffer hands out are zeroed, exactly as large as
// asked (an append cannot spill into the next one) and disjoint.
func TestArena(t *testing.T) {
	var bufs [][]byte
	for _, n := range []int{chunkSize, blockSize, copyBufSize, chunkSize, blockSize} {
		b := newBuffer(n)
		if len(b) != n || cap(b) != n {
			t.Fatalf("newBuffer(%d): len %d cap %d", n, len(b), cap(b))
		}
		for i, c := range b {
			if c != 0 {
				t.Fatalf("newBuffer(%d): byte %d is %d, not zero", n, i, c)
			}
		}
		bufs = append(bufs, b)
	}
	for i, a := range bufs {
		for _, b := range bufs[i+1:] {
			lo, hi := addr(a), addr(a)+uintptr(len(a))
			if addr(b) < hi && addr(b)+uintptr(len(b)) > lo {
				t.Fatalf("buffers overlap: %#x+%d and %#x+%d", addr(a), len(a), addr(b), len(b))
			}
		}
	}

	arena.Lock()
	region := arena.region
	arena.Unlock()
	if region == nil {
		t.Fatal("the arena was not mapped")
	}
	if a := addr(region); a%hugePage != 0 || len(region) != hugePage {
		t.Fatalf("arena at %#x, %d bytes: not one aligned huge page", a, len(region))
	}
	if _, err := os.Stat("/sys/kernel/mm/transparent_hugepage"); err != nil {
		return // a kernel without THP: the advice is refused, and harmless
	}
	flags, err := vmFlags(addr(region))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(" "+flags+" ", " hg ") {
		t.Errorf("arena's mapping has VmFlags %q, without hg (MADV_HUGEPAGE)", flags)
	}
}

// TestBufferList checks that a buffer put back is the next one got, and
// that a full list drops what is put instead of blocking.
func TestBufferList(t *testing.T) {
	l := newBufferList(4096, 1)
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
