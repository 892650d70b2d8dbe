package resolve

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
)

const (
	maxFileSize   = 1 << 30 // files larger than this are refused
	maxDynSize    = 1 << 20 // bytes of PT_DYNAMIC read
	maxNeeded     = 1024    // DT_NEEDED entries per object
	maxStringLen  = 4096    // length of one dynamic string or PT_INTERP
	maxProgHeader = 1 << 12 // program headers per object
)

// object is what the loader needs to know about one ELF file.
type object struct {
	class   elf.Class
	data    elf.Data
	machine elf.Machine
	typ     elf.Type
	interp  string // PT_INTERP, "" if none
	needed  []string
	rpath   string // DT_RPATH, cleared when DT_RUNPATH is present (as ld.so does)
	runpath string
	hasRun  bool // DT_RUNPATH present
	soname  string
	nodflib bool // DF_1_NODEFLIB
}

// parseObject reads the ELF headers of the file r of the given size. Errors
// are not wrapped with the file name; a panic in debug/elf becomes an error.
func parseObject(r io.ReaderAt, size int64) (obj *object, err error) {
	defer func() {
		if p := recover(); p != nil {
			obj, err = nil, fmt.Errorf("malformed ELF: %v", p)
		}
	}()
	if size > maxFileSize {
		return nil, fmt.Errorf("file too large (%d bytes, limit %d)", size, maxFileSize)
	}
	var magic [4]byte
	if _, err := r.ReadAt(magic[:], 0); err != nil || !bytes.Equal(magic[:], []byte(elf.ELFMAG)) {
		return nil, ErrNotELF
	}
	f, err := elf.NewFile(io.NewSectionReader(r, 0, size))
	if err != nil {
		return nil, fmt.Errorf("malformed ELF: %w", err)
	}
	if len(f.Progs) > maxProgHeader {
		return nil, fmt.Errorf("malformed ELF: %d program headers", len(f.Progs))
	}
	o := &object{class: f.Class, data: f.Data, machine: f.Machine, typ: f.Type}
	if o.typ != elf.ET_EXEC && o.typ != elf.ET_DYN {
		return nil, fmt.Errorf("ELF type %v is neither executable nor shared object", o.typ)
	}
	var dyn *elf.Prog
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_INTERP:
			b, err := readProg(p, maxStringLen)
			if err != nil {
				return nil, fmt.Errorf("reading PT_INTERP: %w", err)
			}
			if i := bytes.IndexByte(b, 0); i >= 0 {
				b = b[:i]
			}
			if len(b) == 0 {
				return nil, errors.New("empty PT_INTERP")
			}
			o.interp = string(b)
		case elf.PT_DYNAMIC:
			if dyn == nil {
				dyn = p
			}
		}
	}
	if dyn != nil {
		if err := o.readDynamic(f, dyn); err != nil {
			return nil, fmt.Errorf("reading PT_DYNAMIC: %w", err)
		}
	}
	return o, nil
}

func readProg(p *elf.Prog, limit uint64) ([]byte, error) {
	if p.Filesz > limit {
		return nil, fmt.Errorf("segment of %d bytes exceeds limit %d", p.Filesz, limit)
	}
	b := make([]byte, p.Filesz)
	if _, err := p.ReadAt(b, 0); err != nil {
		return nil, err
	}
	return b, nil
}
