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
	entSize := 16
	if f.Class == elf.ELFCLASS32 {
		entSize = 8
	}
	var (
		needed                 []uint64
		rpath, runpath, soname = int64(-1), int64(-1), int64(-1)
		strtab, strsz          uint64
		haveStrtab             bool
	)
	for off := 0; off+entSize <= len(b); off += entSize {
		var tag, val uint64
		if entSize == 16 {
			tag, val = f.ByteOrder.Uint64(b[off:]), f.ByteOrder.Uint64(b[off+8:])
		} else {
			tag, val = uint64(f.ByteOrder.Uint32(b[off:])), uint64(f.ByteOrder.Uint32(b[off+4:]))
		}
		switch elf.DynTag(tag) {
		case elf.DT_NULL:
			off = len(b)
		case elf.DT_NEEDED:
			if len(needed) >= maxNeeded {
				return fmt.Errorf("more than %d DT_NEEDED entries", maxNeeded)
			}
			needed = append(needed, val)
		case elf.DT_RPATH:
			rpath = int64(val & (1<<62 - 1))
		case elf.DT_RUNPATH:
			runpath = int64(val & (1<<62 - 1))
		case elf.DT_SONAME:
			soname = int64(val & (1<<62 - 1))
		case elf.DT_STRTAB:
			strtab, haveStrtab = val, true
		case elf.DT_STRSZ:
			strsz = val
		case elf.DT_FLAGS_1:
			o.nodflib = elf.DynFlag1(val)&elf.DF_1_NODEFLIB != 0
		}
	}
	if len(needed) == 0 && rpath < 0 && runpath < 0 && soname < 0 {
		return nil
	}
	if !haveStrtab {
		return errors.New("no DT_STRTAB")
	}
	st, err := strtabReader(f, strtab, strsz)
	if err != nil {
		return err
	}
	str := func(what string, off uint64) (string, error) {
		s, err := st.get(off)
		if err != nil {
			return "", fmt.Errorf("%s: %w", what, err)
		}
		return s, nil
	}
	for _, n := range needed {
		s, err := str("DT_NEEDED", n)
		if err != nil {
			return err
		}
		if s == "" {
			return errors.New("empty DT_NEEDED")
		}
		o.needed = append(o.needed, s)
	}
	if runpath >= 0 {
		if o.runpath, err = str("DT_RUNPATH", uint64(runpath)); err != nil {
			return err
		}
		o.hasRun = true
	} else if rpath >= 0 {
		if o.rpath, err = str("DT_RPATH", uint64(rpath)); err != nil {
			return err
		}
	}
	if soname >= 0 {
		if o.soname, err = str("DT_SONAME", uint64(soname)); err != nil {
			return err
		}
	}
	return nil
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
