package build

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"strings"
)

// elfFiles are the host ELF objects that files: entries copy, whose
// libraries the jail needs too: python's lib-dynload modules need
// libsqlite3, liblzma, libssl, as the program that dlopens them would.
type elfFiles struct {
	execs []string          // executables (with PT_INTERP): each its own program
	libs  []string          // shared objects, as dlopen()ed by the first program
	keys  map[string]string // real path -> the files: entry that copied it
}

// noteELF records name, a regular file of the build root that files: entry key
// copies, when it is an ELF executable or shared object of the class and
// machine of the first one noted (or of the recipe's first binary).
func (b *builder) noteELF(name, key string) error {
	id, ok, err := elfIdent(b.host, name)
	if err != nil || !ok {
		return err
	}
	if b.elfClass == (elfClass{}) && len(b.r.Binaries) > 0 {
		if first, ok, err := elfIdent(b.host, strings.TrimPrefix(b.r.Binaries[0].Path, "/")); err == nil && ok {
			b.elfClass = first.class
		}
	}
	if b.elfClass == (elfClass{}) {
		b.elfClass = id.class
	}
	if id.class != b.elfClass {
		b.o.logger.Debug("not resolving an ELF file of another class or machine", "path", "/"+name, "entry", key)
		return nil
	}
	real, err := b.host.realPath("/" + name)
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	if b.elf.keys == nil {
		b.elf.keys = map[string]string{}
	}
	if _, dup := b.elf.keys[real]; dup {
		return nil
	}
	b.elf.keys[real] = key
	if id.exec {
		b.elf.execs = append(b.elf.execs, real)
	} else {
		b.elf.libs = append(b.elf.libs, real)
	}
	return nil
}

// elfClass is what an ELF object must share with the program that loads it.
type elfClass struct {
	class   elf.Class
	data    elf.Data
	machine elf.Machine
}

// elfID is what noteELF needs to know of a file.
type elfID struct {
	class elfClass
	exec  bool // has a program interpreter: started, not loaded
}

// elfIdent reads the ELF header and program headers of name in fsys: ok
// is false for a file that is not an ELF executable or shared object (a
// script, data, an object file). The headers are parsed by hand, bounded:
// debug/elf is not hardened, and only PT_INTERP is wanted.
func elfIdent(fsys fs.FS, name string) (elfID, bool, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return elfID{}, false, err
	}
	defer f.Close()
	var h [64]byte
	if n, _ := io.ReadFull(f, h[:]); n < 52 || string(h[:4]) != elf.ELFMAG {
		return elfID{}, false, nil // shorter than an ELF header, or not ELF
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if elf.Data(h[elf.EI_DATA]) == elf.ELFDATA2MSB {
		bo = binary.BigEndian
	}
	if t := elf.Type(bo.Uint16(h[16:])); t != elf.ET_EXEC && t != elf.ET_DYN {
		return elfID{}, false, nil
	}
	id := elfID{class: elfClass{elf.Class(h[elf.EI_CLASS]), elf.Data(h[elf.EI_DATA]), elf.Machine(bo.Uint16(h[18:]))}}
	var off int64
	var size, num int
	switch id.class.class {
	case elf.ELFCLASS64:
		off, size, num = int64(bo.Uint64(h[32:])), int(bo.Uint16(h[54:])), int(bo.Uint16(h[56:]))
	case elf.ELFCLASS32:
		off, size, num = int64(bo.Uint32(h[28:])), int(bo.Uint16(h[42:])), int(bo.Uint16(h[44:]))
	default:
		return elfID{}, false, nil
	}
	ra, ok := f.(io.ReaderAt)
	if !ok || size < 4 || num > 4096 {
		return id, true, nil
	}
	var typ [4]byte
	for i := 0; i < num; i++ {
		if _, err := ra.ReadAt(typ[:], off+int64(i*size)); err != nil {
			return elfID{}, false, fmt.Errorf("/%s: program header %d: %w", name, i, err)
		}
		if elf.ProgType(bo.Uint32(typ[:])) == elf.PT_INTERP {
			id.exec = true
		}
	}
	return id, true, nil
}
