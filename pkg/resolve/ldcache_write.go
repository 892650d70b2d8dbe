package resolve

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
)

// WriteCache returns an ld.so.cache (glibc-ld.so.cache1.1, little-endian,
// no hwcaps extension) mapping each entry's soname to its path, for a jail
// whose libraries live outside the system directories. Entries are sorted
// the way ldconfig sorts them, since ld.so binary-searches the table.
func WriteCache(entries []CacheEntry) ([]byte, error) {
	type row struct {
		flags        int32
		soname, path string
	}
	rows := make([]row, 0, len(entries))
	for _, e := range entries {
		flags, ok := cacheFlags(e.Class, e.Machine)
		if !ok {
			return nil, fmt.Errorf("ld.so.cache entry %s: no cache flags known for %s %s", e.Path, e.Class, e.Machine)
		}
		if e.Soname == "" || strings.ContainsRune(e.Soname+e.Path, 0) || !strings.HasPrefix(e.Path, "/") {
			return nil, fmt.Errorf("ld.so.cache entry %q -> %q: bad soname or path", e.Soname, e.Path)
		}
		rows = append(rows, row{flags[0], e.Soname, e.Path})
	}
	// ldconfig's order: sonames descending by _dl_cache_libcmp, then flags
	// descending; the path makes it total.
	slices.SortFunc(rows, func(a, b row) int {
		if c := libcmp(b.soname, a.soname); c != 0 {
			return c
		}
		if a.flags != b.flags {
			return int(b.flags - a.flags)
		}
		return strings.Compare(a.path, b.path)
	})
	rows = slices.CompactFunc(rows, func(a, b row) bool { return a == b })

	le := binary.LittleEndian
	strBase := uint32(cacheHeaderSize + len(rows)*cacheEntrySize)
	var strs bytes.Buffer
	offsets := map[string]uint32{}
	str := func(s string) uint32 {
		if off, ok := offsets[s]; ok {
			return off
		}
		off := strBase + uint32(strs.Len())
		strs.WriteString(s)
		strs.WriteByte(0)
		offsets[s] = off
		return off
	}
	var out bytes.Buffer
	out.WriteString(cacheMagic)
	var body bytes.Buffer
	for _, r := range rows {
		_ = binary.Write(&body, le, struct {
			Flags      int32
			Key, Value uint32
			OSVersion  uint32
			HWCap      uint64
		}{r.flags, str(r.soname), str(r.path), 0, 0})
	}
	_ = binary.Write(&out, le, []uint32{uint32(len(rows)), uint32(strs.Len())})
	out.Write([]byte{2, 0, 0, 0})                    // little-endian, padding
	_ = binary.Write(&out, le, []uint32{0, 0, 0, 0}) // no extension, unused
	out.Write(body.Bytes())
	out.Write(strs.Bytes())
	return out.Bytes(), nil
}

// libcmp is glibc's _dl_cache_libcmp: strings compared byte by byte, except
// that runs of digits compare as numbers ("libc.so.10" > "libc.so.9"), and a
// digit sorts after any other byte.
func libcmp(p1, p2 string) int {
	digit := func(s string, i int) bool { return i < len(s) && s[i] >= '0' && s[i] <= '9' }
	i, j := 0, 0
	for i < len(p1) {
		switch {
		case digit(p1, i) && digit(p2, j):
			v1, v2 := 0, 0
			for ; digit(p1, i); i++ {
				v1 = v1*10 + int(p1[i]-'0')
			}
			for ; digit(p2, j); j++ {
				v2 = v2*10 + int(p2[j]-'0')
			}
			if v1 != v2 {
				return v1 - v2
			}
		case digit(p1, i):
			return 1
		case digit(p2, j):
			return -1
		case j >= len(p2) || p1[i] != p2[j]:
			if j >= len(p2) {
				return int(p1[i])
			}
			return int(p1[i]) - int(p2[j])
		default:
			i++
			j++
		}
	}
	if j < len(p2) {
		return -int(p2[j])
	}
	return 0
}
