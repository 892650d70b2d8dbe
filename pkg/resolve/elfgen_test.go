package resolve

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
)

// elfSpec describes a minimal ELF object for tests: the loader-visible parts
// only (PT_INTERP, PT_DYNAMIC with DT_NEEDED, DT_RPATH, DT_RUNPATH, DT_SONAME).
type elfSpec struct {
	class   elf.Class   // default ELFCLASS64
	machine elf.Machine // default EM_X86_64
	typ     elf.Type    // default ET_DYN
	interp  string
	needed  []string
	rpath   string // "" = absent
	runpath string // "" = absent
	soname  string // "" = absent
	flags1  uint64
	static  bool // no PT_DYNAMIC
}

// buildELF lays out: ELF header, program headers, interp, strtab, dynamic;
// one PT_LOAD maps the whole file at virtual address 0.
func buildELF(s elfSpec) []byte {
	if s.class == 0 {
		s.class = elf.ELFCLASS64
	}
	if s.machine == 0 {
		s.machine = elf.EM_X86_64
	}
	if s.typ == 0 {
		s.typ = elf.ET_DYN
	}
	is64 := s.class == elf.ELFCLASS64
	ehSize, phSize, word := 52, 32, 4
	if is64 {
		ehSize, phSize, word = 64, 56, 8
	}
	strtab := []byte{0}
	str := func(v string) uint64 {
		off := len(strtab)
		strtab = append(strtab, v...)
		strtab = append(strtab, 0)
		return uint64(off)
	}
	type dyn struct{ tag, val uint64 }
	var dyns []dyn
	for _, n := range s.needed {
		dyns = append(dyns, dyn{uint64(elf.DT_NEEDED), str(n)})
	}
	for _, d := range []struct {
		tag elf.DynTag
		v   string
	}{{elf.DT_RPATH, s.rpath}, {elf.DT_RUNPATH, s.runpath}, {elf.DT_SONAME, s.soname}} {
		if d.v != "" {
			dyns = append(dyns, dyn{uint64(d.tag), str(d.v)})
		}
	}
	if s.flags1 != 0 {
		dyns = append(dyns, dyn{uint64(elf.DT_FLAGS_1), s.flags1})
	}
	nph := 1
	if s.interp != "" {
		nph++
	}
	if !s.static {
		nph++
	}
	interpOff := ehSize + nph*phSize
	interp := []byte{}
	if s.interp != "" {
		interp = append([]byte(s.interp), 0)
	}
	strOff := interpOff + len(interp)
	dynOff := strOff + len(strtab)
	dynOff += (word - dynOff%word) % word
	dyns = append(dyns, dyn{uint64(elf.DT_STRTAB), uint64(strOff)}, dyn{uint64(elf.DT_STRSZ), uint64(len(strtab))}, dyn{})
	total := dynOff + len(dyns)*2*word

	var b bytes.Buffer
	le := binary.LittleEndian
	w := func(v any) { _ = binary.Write(&b, le, v) }
	wordW := func(v uint64) {
		if is64 {
			w(v)
		} else {
			w(uint32(v))
		}
	}
	ident := [16]byte{0x7f, 'E', 'L', 'F', byte(s.class), byte(elf.ELFDATA2LSB), 1}
	w(ident)
	w(uint16(s.typ))
	w(uint16(s.machine))
	w(uint32(1))
	wordW(0)              // entry
	wordW(uint64(ehSize)) // phoff
	wordW(0)              // shoff
	w(uint32(0))          // flags
	w(uint16(ehSize))
	w(uint16(phSize))
	w(uint16(nph))
	w([3]uint16{})
	ph := func(typ elf.ProgType, off, size int) {
		if is64 {
			w(uint32(typ))
			w(uint32(elf.PF_R))
			w([5]uint64{uint64(off), uint64(off), uint64(off), uint64(size), uint64(size)})
			w(uint64(8))
		} else {
			w([6]uint32{uint32(typ), uint32(off), uint32(off), uint32(off), uint32(size), uint32(size)})
			w([2]uint32{uint32(elf.PF_R), 4})
		}
	}
	ph(elf.PT_LOAD, 0, total)
	if s.interp != "" {
		ph(elf.PT_INTERP, interpOff, len(interp))
	}
	if !s.static {
		ph(elf.PT_DYNAMIC, dynOff, len(dyns)*2*word)
	}
	b.Write(interp)
	b.Write(strtab)
	b.Write(make([]byte, dynOff-b.Len()))
	if !s.static {
		for _, d := range dyns {
			wordW(d.tag)
			wordW(d.val)
		}
	}
	out := b.Bytes()
	if len(out) < total {
		out = append(out, make([]byte, total-len(out))...)
	}
	return out
}
