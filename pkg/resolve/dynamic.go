package resolve

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
)

// readDynamic reads the dynamic section through the program headers only, as
// the loader does (section headers may be stripped or lie).
func (o *object) readDynamic(f *elf.File, dyn *elf.Prog) error {
	b, err := readProg(dyn, maxDynSize)
	if err != nil {
		return err
	}
	t, err := parseDynTags(f, b)
	if err != nil {
		return err
	}
	o.nodflib = t.nodeflib
	if len(t.needed) == 0 && t.rpath < 0 && t.runpath < 0 && t.soname < 0 {
		return nil
	}
	if !t.haveStrtab {
		return errors.New("no DT_STRTAB")
	}
	st, err := strtabReader(f, t.strtab, t.strsz)
	if err != nil {
		return err
	}
	return o.dynStrings(t, st)
}

// dynTags are the dynamic entries the loader uses: the names as string
// table offsets (-1 when absent) and where the string table is.
type dynTags struct {
	needed                 []uint64
	rpath, runpath, soname int64
	strtab, strsz          uint64
	haveStrtab             bool
	nodeflib               bool
}

// parseDynTags reads the entries of the dynamic section b up to DT_NULL.
func parseDynTags(f *elf.File, b []byte) (*dynTags, error) {
	t := &dynTags{rpath: -1, runpath: -1, soname: -1}
	entSize := 16
	if f.Class == elf.ELFCLASS32 {
		entSize = 8
	}
	for off := 0; off+entSize <= len(b); off += entSize {
		var tag, val uint64
		if entSize == 16 {
			tag, val = f.ByteOrder.Uint64(b[off:]), f.ByteOrder.Uint64(b[off+8:])
		} else {
			tag, val = uint64(f.ByteOrder.Uint32(b[off:])), uint64(f.ByteOrder.Uint32(b[off+4:]))
		}
		if elf.DynTag(tag) == elf.DT_NULL {
			break
		}
		if err := t.add(elf.DynTag(tag), val); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// add records one dynamic entry.
func (t *dynTags) add(tag elf.DynTag, val uint64) error {
	const offset = 1<<62 - 1
	switch tag {
	case elf.DT_NEEDED:
		if len(t.needed) >= maxNeeded {
			return fmt.Errorf("more than %d DT_NEEDED entries", maxNeeded)
		}
		t.needed = append(t.needed, val)
	case elf.DT_RPATH:
		t.rpath = int64(val & offset)
	case elf.DT_RUNPATH:
		t.runpath = int64(val & offset)
	case elf.DT_SONAME:
		t.soname = int64(val & offset)
	case elf.DT_STRTAB:
		t.strtab, t.haveStrtab = val, true
	case elf.DT_STRSZ:
		t.strsz = val
	case elf.DT_FLAGS_1:
		t.nodeflib = elf.DynFlag1(val)&elf.DF_1_NODEFLIB != 0
	}
	return nil
}

// dynStrings reads the names t points to from the string table: DT_NEEDED,
// then DT_RUNPATH or else DT_RPATH (ld.so ignores DT_RPATH beside
// DT_RUNPATH), then DT_SONAME.
func (o *object) dynStrings(t *dynTags, st *stringTable) error {
	for _, n := range t.needed {
		s, err := st.named("DT_NEEDED", n)
		if err != nil {
			return err
		}
		if s == "" {
			return errors.New("empty DT_NEEDED")
		}
		o.needed = append(o.needed, s)
	}
	var err error
	if t.runpath >= 0 {
		if o.runpath, err = st.named("DT_RUNPATH", uint64(t.runpath)); err != nil {
			return err
		}
		o.hasRun = true
	} else if t.rpath >= 0 {
		if o.rpath, err = st.named("DT_RPATH", uint64(t.rpath)); err != nil {
			return err
		}
	}
	if t.soname >= 0 {
		o.soname, err = st.named("DT_SONAME", uint64(t.soname))
	}
	return err
}

// stringTable reads NUL-terminated strings of the dynamic string table.
type stringTable struct {
	r    io.ReaderAt
	size uint64
}

// strtabReader maps the DT_STRTAB address to the file through PT_LOAD.
func strtabReader(f *elf.File, addr, size uint64) (*stringTable, error) {
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD || addr < p.Vaddr || addr-p.Vaddr >= p.Filesz {
			continue
		}
		start := addr - p.Vaddr
		avail := p.Filesz - start
		if size == 0 || size > avail {
			size = avail
		}
		return &stringTable{r: io.NewSectionReader(p, int64(start), int64(size)), size: size}, nil
	}
	return nil, fmt.Errorf("DT_STRTAB address %#x not in any PT_LOAD", addr)
}

func (t *stringTable) get(off uint64) (string, error) {
	if off >= t.size {
		return "", fmt.Errorf("string offset %#x outside string table", off)
	}
	n := t.size - off
	if n > maxStringLen {
		n = maxStringLen
	}
	b := make([]byte, n)
	k, err := t.r.ReadAt(b, int64(off))
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	b = b[:k]
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		return "", fmt.Errorf("string at %#x unterminated within %d bytes", off, maxStringLen)
	}
	return string(b[:i]), nil
}

// named is get with the entry's tag in the error.
func (t *stringTable) named(what string, off uint64) (string, error) {
	s, err := t.get(off)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	return s, nil
}
