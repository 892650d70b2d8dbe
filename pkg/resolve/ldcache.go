package resolve

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
)

// ld.so.cache in the format glibc has written since 2.32 ("new format only"):
//
//	header:  magic "glibc-ld.so.cache" "1.1", nlibs u32, len_strings u32,
//	         flags u8, pad [3]u8, extension_offset u32, unused [3]u32
//	entries: nlibs × {flags i32, key u32, value u32, osversion u32, hwcap u64}
//
// String offsets are relative to the start of the file. The extension area
// (magic 0xeaa42174) lists the glibc-hwcaps subdirectory names that entries
// whose hwcap has bit 62 set refer to by index (low 32 bits).
const (
	cacheMagic        = "glibc-ld.so.cache1.1"
	cacheHeaderSize   = 48
	cacheEntrySize    = 24
	cacheExtMagic     = 0xeaa42174
	cacheExtHWCaps    = 1
	cacheHWCapExtBit  = 1 << 62
	maxCacheFile      = 64 << 20
	maxCacheEntries   = 1 << 20
	cacheFlagELF      = 0x0001
	cacheFlagTypeMask = 0x00ff
)

type cacheEntry struct {
	flags  int32
	value  string
	hwcap  uint64
	hwname string // glibc-hwcaps subdirectory, "" for a plain entry
}

// ldCache maps a soname to its entries in file order.
type ldCache map[string][]cacheEntry

func parseLDCache(b []byte) (ldCache, error) {
	if len(b) < cacheHeaderSize || !bytes.HasPrefix(b, []byte(cacheMagic)) {
		return nil, errors.New("not a glibc-ld.so.cache1.1 file")
	}
	var bo binary.ByteOrder = binary.LittleEndian
	switch b[28] {
	case 2:
	case 3:
		bo = binary.BigEndian
	case 0: // unknown: assume host (little) endian
	default:
		return nil, fmt.Errorf("bad endianness flag %d", b[28])
	}
	n := uint64(bo.Uint32(b[20:]))
	if n > maxCacheEntries || cacheHeaderSize+n*cacheEntrySize > uint64(len(b)) {
		return nil, fmt.Errorf("%d entries do not fit in %d bytes", n, len(b))
	}
	str := func(off uint32) (string, bool) {
		if uint64(off) >= uint64(len(b)) {
			return "", false
		}
		s := b[off:]
		i := bytes.IndexByte(s, 0)
		if i < 0 {
			return "", false
		}
		return string(s[:i]), true
	}
	hwnames := parseCacheExt(b, bo, str)
	c := ldCache{}
	for i := uint64(0); i < n; i++ {
		e := b[cacheHeaderSize+i*cacheEntrySize:]
		key, ok1 := str(bo.Uint32(e[4:]))
		val, ok2 := str(bo.Uint32(e[8:]))
		if !ok1 || !ok2 {
			continue // ld.so skips entries with bad string offsets too
		}
		ent := cacheEntry{flags: int32(bo.Uint32(e[0:])), value: val, hwcap: bo.Uint64(e[16:])}
		if ent.hwcap&cacheHWCapExtBit != 0 {
			idx := uint32(ent.hwcap)
			if uint64(idx) >= uint64(len(hwnames)) {
				continue
			}
			ent.hwname = hwnames[idx]
		}
		c[key] = append(c[key], ent)
	}
	return c, nil
}

// parseCacheExt returns the glibc-hwcaps names of the extension area, if any.
func parseCacheExt(b []byte, bo binary.ByteOrder, str func(uint32) (string, bool)) []string {
	off := uint64(bo.Uint32(b[32:]))
	if off == 0 || off+8 > uint64(len(b)) || bo.Uint32(b[off:]) != cacheExtMagic {
		return nil
	}
	count := uint64(bo.Uint32(b[off+4:]))
	var names []string
	for i := uint64(0); i < count && i < 64; i++ {
		s := off + 8 + i*16
		if s+16 > uint64(len(b)) {
			break
		}
		if bo.Uint32(b[s:]) != cacheExtHWCaps {
			continue
		}
		start, size := uint64(bo.Uint32(b[s+8:])), uint64(bo.Uint32(b[s+12:]))
		if size%4 != 0 || start+size > uint64(len(b)) {
			continue
		}
		for j := start; j < start+size; j += 4 {
			name, _ := str(bo.Uint32(b[j:]))
			names = append(names, name)
		}
	}
	return names
}

// cacheFlags returns the cache entry flags ld.so accepts for objects of
// class and machine, besides the generic FLAG_ELF (1). ok is false for a
// machine not known here; then any libc6 entry is accepted and the file's own
// header decides.
func cacheFlags(class elf.Class, m elf.Machine) (flags []int32, ok bool) {
	const libc6 = 3
	is64 := class == elf.ELFCLASS64
	switch {
	case m == elf.EM_X86_64 && is64:
		return []int32{0x0300 | libc6}, true
	case m == elf.EM_X86_64:
		return []int32{0x0800 | libc6}, true
	case m == elf.EM_386:
		return []int32{libc6}, true
	case m == elf.EM_AARCH64:
		return []int32{0x0a00 | libc6}, true
	case m == elf.EM_ARM:
		return []int32{0x0900 | libc6, 0x0b00 | libc6, libc6}, true
	case m == elf.EM_PPC64:
		return []int32{0x0500 | libc6}, true
	case m == elf.EM_S390 && is64:
		return []int32{0x0400 | libc6}, true
	case m == elf.EM_RISCV && is64:
		return []int32{0x1000 | libc6, 0x1100 | libc6}, true
	}
	return nil, false
}

// lookup returns the path ld.so's search_cache picks for name, or "".
// hwcaps are the active glibc-hwcaps subdirectories, best first.
func (c ldCache) lookup(name string, class elf.Class, m elf.Machine, hwcaps []string) string {
	want, known := cacheFlags(class, m)
	flagsOK := func(f int32) bool {
		if f == cacheFlagELF {
			return true
		}
		if !known {
			return f&cacheFlagTypeMask == 3
		}
		for _, w := range want {
			if f == w {
				return true
			}
		}
		return false
	}
	best, bestPrio := "", 0
	for _, e := range c[name] {
		if !flagsOK(e.flags) {
			continue
		}
		if e.hwcap&cacheHWCapExtBit != 0 {
			prio := 0
			for i, h := range hwcaps {
				if h == e.hwname {
					prio = i + 1
					break
				}
			}
			if prio != 0 && (best == "" || prio < bestPrio) {
				best, bestPrio = e.value, prio
			}
			continue
		}
		if best != "" {
			break // named hwcaps entries come first; the best one wins
		}
		if e.hwcap != 0 {
			continue // legacy hwcaps entries are not supported
		}
		return e.value
	}
	return best
}
