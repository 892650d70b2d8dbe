package resolve

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// tree describes a root for tests: each absolute path maps to an elfSpec
// (an ELF file), []byte (a plain file), link (a symlink) or dir (a directory).
type tree map[string]any

type link string
type dir struct{}

// mkTree creates t in a new temporary directory and returns it. Symlinks are
// made last, so files never get created through them.
func mkTree(t *testing.T, tr tree) string {
	t.Helper()
	root := t.TempDir()
	paths := make([]string, 0, len(tr))
	for p := range tr {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var links []string
	for _, p := range paths {
		full := filepath.Join(root, p)
		var data []byte
		switch v := tr[p].(type) {
		case link:
			links = append(links, p)
			continue
		case dir:
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		case elfSpec:
			data = buildELF(v)
		case []byte:
			data = v
		case string:
			data = []byte(v)
		default:
			t.Fatalf("mkTree: %s: unknown %T", p, v)
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range links {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(string(tr[p].(link)), full); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// cacheEnt is one entry of a generated ld.so.cache.
type cacheEnt struct {
	key, value string
	flags      int32
	hwcaps     string // glibc-hwcaps subdirectory, "" for none
}

// buildLDCache writes a glibc-ld.so.cache1.1 file with an extension area
// naming the glibc-hwcaps subdirectories used.
func buildLDCache(ents []cacheEnt) []byte {
	le := binary.LittleEndian
	var strs bytes.Buffer
	strBase := uint32(cacheHeaderSize + len(ents)*cacheEntrySize)
	str := func(s string) uint32 {
		off := strBase + uint32(strs.Len())
		strs.WriteString(s)
		strs.WriteByte(0)
		return off
	}
	var hwnames []string
	hwidx := map[string]int{}
	var body bytes.Buffer
	for _, e := range ents {
		var hw uint64
		if e.hwcaps != "" {
			i, ok := hwidx[e.hwcaps]
			if !ok {
				i = len(hwnames)
				hwidx[e.hwcaps] = i
				hwnames = append(hwnames, e.hwcaps)
			}
			hw = cacheHWCapExtBit | uint64(i)
		}
		_ = binary.Write(&body, le, struct {
			Flags      int32
			Key, Value uint32
			OS         uint32
			HW         uint64
		}{e.flags, str(e.key), str(e.value), 0, hw})
	}
	var nameOffs []uint32
	for _, n := range hwnames {
		nameOffs = append(nameOffs, str(n))
	}
	extOff := strBase + uint32(strs.Len())
	extOff += (8 - extOff%8) % 8
	var out bytes.Buffer
	out.WriteString(cacheMagic)
	_ = binary.Write(&out, le, []uint32{uint32(len(ents)), uint32(strs.Len())})
	out.Write([]byte{2, 0, 0, 0})
	_ = binary.Write(&out, le, []uint32{extOff, 0, 0, 0})
	out.Write(body.Bytes())
	out.Write(strs.Bytes())
	out.Write(make([]byte, int(extOff)-out.Len()))
	arr := uint32(extOff + 8 + 16)
	_ = binary.Write(&out, le, []uint32{cacheExtMagic, 1, cacheExtHWCaps, 0, arr, uint32(4 * len(nameOffs))})
	_ = binary.Write(&out, le, nameOffs)
	return out.Bytes()
}
