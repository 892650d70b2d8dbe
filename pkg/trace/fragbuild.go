package trace

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/jailimg/jailimg/pkg/resolve"
)

// fragBuilder accumulates a Fragment.
type fragBuilder struct {
	fsys fs.FS
	f    *Fragment

	bins         map[string]string   // real path -> path as executed
	files        map[string]bool     // real paths of files read
	libs         map[string]bool     // shared objects opened, as opened
	links        map[string]string   // symlink path -> target
	dirs         map[string][]string // real dir -> what was written in it
	devs         map[string]Device   // by path
	gen          map[string]string   // generated path -> recipe key
	written      map[string]bool     // paths opened for writing
	explained    map[string]bool     // files and links of the ELF closure
	closureLinks map[string]bool
	resolver     *resolve.Resolver // walks fsys and computes closures, caching both
}

func (b *fragBuilder) note(format string, args ...any) {
	b.f.Notes = append(b.f.Notes, fmt.Sprintf(format, args...))
}

// binaries collects the programs executed: each exec'd path, and each
// caller's /proc/PID/exe (which names a program exec'd through /proc or a
// descriptor). A script's interpreter is the binary; the script a file.
func (b *fragBuilder) binaries(res *Result) {
	var cands []string
	for _, r := range res.Accessed {
		if r.Kind == Exec {
			cands = append(cands, r.Path)
		}
	}
	for _, r := range res.Accessed {
		if r.Exe != "" {
			cands = append(cands, r.Exe)
		}
	}
	for _, p := range cands {
		if pseudo(p) {
			continue
		}
		w, err := b.resolver.Walk(p)
		if err != nil {
			continue // gone since
		}
		if interp := b.interpreter(w.Name()); interp != "" {
			b.addFile(w.Real, w.Links)
			if i, err := b.resolver.Walk(interp); err == nil && b.bins[i.Real] == "" {
				b.bins[i.Real] = interp
			}
			continue
		}
		if b.bins[w.Real] == "" {
			b.bins[w.Real] = p
		}
	}
}

// interpreter returns the program the "#!" script at fs name names, or "".
func (b *fragBuilder) interpreter(name string) string {
	f, err := b.fsys.Open(name)
	if err != nil {
		return ""
	}
	defer f.Close()
	line, _ := bufio.NewReader(io.LimitReader(f, 256)).ReadString('\n')
	rest, ok := strings.CutPrefix(line, "#!")
	if !ok {
		return ""
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 || !path.IsAbs(fields[0]) {
		return ""
	}
	return path.Clean(fields[0])
}

// sharedObject reports whether the file at fs name is an ELF shared
// object (ET_DYN).
func (b *fragBuilder) sharedObject(name string) bool {
	f, err := b.fsys.Open(name)
	if err != nil {
		return false
	}
	defer f.Close()
	var hdr [18]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil || !bytes.Equal(hdr[:4], []byte(elf.ELFMAG)) {
		return false
	}
	typ := uint16(hdr[16]) | uint16(hdr[17])<<8
	if hdr[elf.EI_DATA] == byte(elf.ELFDATA2MSB) {
		typ = uint16(hdr[16])<<8 | uint16(hdr[17])
	}
	return elf.Type(typ) == elf.ET_DYN
}

func (b *fragBuilder) addFile(real string, links []resolve.Link) {
	b.files[real] = true
	b.addLinks(links)
}

func (b *fragBuilder) addLinks(links []resolve.Link) {
	for _, l := range links {
		if !pseudo(l.Path) {
			b.links[l.Path] = l.Target
		}
	}
}

// addWritten marks dir (a path the command saw) writable because of what.
// Only dir's parent needs to exist still: a directory the command made may
// be gone.
func (b *fragBuilder) addWritten(dir, what string) {
	w, err := b.resolver.WalkNoFollow(dir)
	if err != nil {
		return
	}
	if w.Info != nil && w.Info.Mode()&fs.ModeSymlink != 0 {
		if w, err = b.resolver.Walk(dir); err != nil {
			return
		}
	}
	b.addLinks(w.Links)
	if !pseudo(w.Real) {
		b.dirs[w.Real] = append(b.dirs[w.Real], what)
	}
}
