package build

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"

	"github.com/jailimg/jailimg/pkg/recipe"
	"github.com/jailimg/jailimg/pkg/resolve"
	"github.com/jailimg/jailimg/pkg/tree"
)

// builder holds the state of one buildTree call.
type builder struct {
	r     *recipe.Recipe
	o     options
	t     *tree.Tree
	host  rootFS // the Source's root ("/" by default), read with chroot semantics
	other rootFS // the build host, for files: from: host when the Source is not it
	local inRoot // the recipe's directory: relative sources cannot leave it
	arch  string // GOARCH of the binaries

	fromSource []SourceFile // the regular files copied from host
	elf        elfFiles     // ELF objects files: copies, for the closure
	elfClass   elfClass     // of the first binary (or ELF file): what the others must match
}

func newBuilder(r *recipe.Recipe, o options) *builder {
	return &builder{r: r, o: o, t: tree.New(), host: rootFS(o.source.Dir()), other: rootFS(o.root),
		local: inRoot(filepath.Dir(r.Path)), arch: runtime.GOARCH}
}

// builtinNSS are NSS sources that glibc 2.34 and later carry inside libc:
// their libnss modules may be absent.
var builtinNSS = map[string]bool{"libnss_files.so.2": true, "libnss_dns.so.2": true}

// closure adds the binaries and libraries with everything they load.
func (b *builder) closure(ctx context.Context) error {
	req, err := b.request()
	if err != nil || len(req.Binaries) == 0 && len(req.Libraries) == 0 {
		return err
	}
	c, err := b.resolve(ctx, req)
	if err != nil {
		return err
	}
	b.o.logger.Info("resolved closure", "files", len(c.Files), "links", len(c.Links))
	if len(req.Binaries) > 0 {
		if b.arch, err = b.elfArch(req.Binaries[0]); err != nil {
			return err
		}
	}
	if err := b.closureFiles(slices.DeleteFunc(c.Files, b.copied)); err != nil {
		return err
	}
	for _, l := range c.Links {
		if err := b.t.Add(tree.Entry{Path: l.Path, Type: tree.Symlink, Target: l.Target, Source: "closure: " + l.Path}); err != nil {
			return err
		}
	}
	return b.ldCache(c.Cache)
}

// copied reports whether the host file real is an ELF object a files:
// entry put in the jail already, where that entry says.
func (b *builder) copied(real string) bool {
	_, ok := b.elf.keys[real]
	return ok
}

// request lists what to resolve: the recipe's binaries, each checked to
// exist, its libraries and the NSS modules of its nss: sources, and the ELF
// executables and shared objects its files: copied (the latter as dlopen()ed
// by the first binary).
func (b *builder) request() (resolve.Request, error) {
	req := resolve.Request{Libraries: b.r.Libraries}
	for i, bin := range b.r.Binaries {
		// A missing binary is named by its recipe entry, which may be in an
		// included fragment; the resolver would only name the path.
		if _, err := fs.Stat(b.host, strings.TrimPrefix(bin.Path, "/")); err != nil {
			return req, fmt.Errorf("%s: %w", b.r.Where(fmt.Sprintf("binaries[%d]", i)), badSource{err})
		}
		req.Binaries = append(req.Binaries, bin.Path)
	}
	for _, src := range b.r.NSS {
		req.Libraries = append(req.Libraries, "libnss_"+src+".so.2")
	}
	req.Binaries = append(req.Binaries, b.elf.execs...)
	req.Libraries = append(req.Libraries, b.elf.libs...)
	return req, nil
}

// resolve computes the closure of req in the build root, failing on any
// missing library but the NSS modules glibc carries inside libc.
func (b *builder) resolve(ctx context.Context, req resolve.Request) (*resolve.Closure, error) {
	// No glibc-hwcaps variants: the jail must not depend on the build machine's
	// CPU, and the baseline library loads on every CPU.
	res, err := resolve.New(b.host, resolve.WithHWCaps())
	if err != nil {
		return nil, err
	}
	c, err := res.Resolve(ctx, req)
	var missing *resolve.MissingLibError
	if err != nil && !errors.As(err, &missing) {
		return nil, fmt.Errorf("%s: %w", b.r.Path, err)
	}
	for _, m := range c.Missing {
		if m.NeededBy == "request" && builtinNSS[m.Soname] {
			continue
		}
		return nil, fmt.Errorf("%s: %w (a library elsewhere on the build host goes under libraries: by its absolute path)",
			b.missingWhere(m.Soname, m.NeededBy), &resolve.MissingLibError{Soname: m.Soname, NeededBy: m.NeededBy, Searched: m.Searched})
	}
	return c, nil
}

// missingWhere names the recipe entry that asked for the missing library
// soname, needed by the file neededBy: its libraries: line, the files:
// entry that copied neededBy, else the recipe (a binary's dependency).
func (b *builder) missingWhere(soname, neededBy string) string {
	for i, l := range b.r.Libraries {
		if l == soname {
			return b.r.Where(fmt.Sprintf("libraries[%d]", i))
		}
	}
	if key, ok := b.elf.keys[neededBy]; ok {
		return key
	}
	return b.r.Path
}

// closureFiles adds the closure's files, with the mode and owners the
// recipe gives a binary among them; a binary's entry is named by its recipe
// line, for the errors about it (a setuid bit).
func (b *builder) closureFiles(files []string) error {
	bins, err := b.binaryIndex()
	if err != nil {
		return err
	}
	for _, p := range files {
		source := "closure: " + p
		i, isBin := bins[p]
		if isBin {
			source = b.r.Where(fmt.Sprintf("binaries[%d]", i))
		}
		e, err := b.hostEntry(b.host, strings.TrimPrefix(p, "/"), p, source)
		if err != nil {
			return err
		}
		if isBin {
			bin := b.r.Binaries[i]
			b.own(&e, bin.Mode, bin.Owner, bin.Group)
		}
		if err := b.t.Add(e); err != nil {
			return err
		}
	}
	return nil
}

// ldCache adds an /etc/ld.so.cache listing the libraries outside the
// system directories (/usr/local/lib, say), which the jail's loader finds
// only through one.
func (b *builder) ldCache(entries []resolve.CacheEntry) error {
	if len(entries) == 0 {
		return nil
	}
	cache, err := resolve.WriteCache(entries)
	if err != nil {
		return fmt.Errorf("%s: %w", b.r.Path, err)
	}
	return b.t.Add(generated("/etc/ld.so.cache", 0o644, string(cache), b.r.Path+": closure (libraries outside the system directories)"))
}

// binaryIndex maps the real path of each of the recipe's binaries to its
// index in binaries.
func (b *builder) binaryIndex() (map[string]int, error) {
	out := map[string]int{}
	for i, bin := range b.r.Binaries {
		real, err := b.host.realPath(bin.Path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.r.Where(fmt.Sprintf("binaries[%d]", i)), err)
		}
		// Of two entries for one file, the one giving a mode or owner wins.
		if _, seen := out[real]; !seen || bin.Mode != nil || bin.Owner != nil || bin.Group != nil {
			out[real] = i
		}
	}
	return out, nil
}

// elfArch returns the GOARCH name of an ELF file's machine.
func (b *builder) elfArch(p string) (string, error) {
	f, err := b.host.Open(strings.TrimPrefix(p, "/"))
	if err != nil {
		return "", err
	}
	defer f.Close()
	ef, err := elf.NewFile(f.(io.ReaderAt))
	if err != nil {
		return "", fmt.Errorf("%s: %w", p, err)
	}
	switch ef.Machine {
	case elf.EM_X86_64:
		return "amd64", nil
	case elf.EM_AARCH64:
		return "arm64", nil
	case elf.EM_386:
		return "386", nil
	case elf.EM_ARM:
		return "arm", nil
	case elf.EM_RISCV:
		return "riscv64", nil
	case elf.EM_PPC64:
		return "ppc64le", nil
	case elf.EM_S390:
		return "s390x", nil
	}
	return "", fmt.Errorf("%s: unsupported machine %s", p, ef.Machine)
}

// hostEntry describes the file name in fsys (following symlinks) as a jail
// entry at dst, keeping its permission bits and inode identity. A regular
// file of the Source is noted in fromSource, for dpkg: true and the SBOM.
func (b *builder) hostEntry(fsys fs.FS, name, dst, source string) (tree.Entry, error) {
	fi, err := fs.Stat(fsys, name)
	if err != nil {
		return tree.Entry{}, fmt.Errorf("%s: %w", source, badSource{err})
	}
	e := tree.Entry{Path: dst, Mode: fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky), Source: source}
	switch {
	case fi.Mode().IsRegular():
		e.Type, e.Size = tree.Reg, fi.Size()
		if fsys == fs.FS(b.host) {
			if real, err := b.host.realPath("/" + name); err == nil {
				b.fromSource = append(b.fromSource, SourceFile{Path: dst, Source: real})
			}
		}
		e.Open = func() (io.ReadCloser, error) { return fsys.Open(name) }
		if b.o.collected != nil {
			e.Open = b.o.collected.wrap(b.sourceFile(fsys, name), dst, e.Open)
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			e.ID = tree.FileID{Dev: st.Dev, Ino: st.Ino}
		}
	case fi.IsDir():
		e.Type = tree.Dir
	default:
		return e, fmt.Errorf("%s: %w", source, badSource{fmt.Errorf("/%s is a %s; only files, directories and symlinks can be copied", name, typeName(fi.Mode()))})
	}
	return e, nil
}

// sourceFile returns the absolute path on the build machine of name in
// fsys, the build root or the recipe's directory: how the image's
// provenance names the file.
func (b *builder) sourceFile(fsys fs.FS, name string) string {
	for _, root := range []rootFS{b.host, b.other} {
		if fsys == fs.FS(root) {
			if real, err := root.realPath("/" + name); err == nil {
				name = real
			}
			return filepath.Join(string(root), name)
		}
	}
	p := filepath.Join(string(b.local), name)
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	return p
}

// ErrBadSource is wrapped by errors about a recipe's source that cannot go
// into a jail: missing, a FIFO, socket or device, or leading out of the
// recipe's directory.
var ErrBadSource = errors.New("bad source")

// badSource marks err as an ErrBadSource without changing its message.
type badSource struct{ err error }

func (e badSource) Error() string   { return e.err.Error() }
func (e badSource) Unwrap() []error { return []error{e.err, ErrBadSource} }

// typeName names a non-regular file type for messages.
func typeName(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "FIFO"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	}
	return "special file (" + m.Type().String() + ")"
}

// own applies a recipe's explicit mode and owners to an entry.
func (b *builder) own(e *tree.Entry, mode *recipe.Mode, owner, group *recipe.Owner) {
	if mode != nil {
		e.Mode = fileMode(*mode)
	}
	if owner != nil {
		uid, _ := b.r.UID(*owner) // Validate checked the name
		e.UID = uid
	}
	if group != nil {
		gid, _ := b.r.GID(*group)
		e.GID = gid
	}
}

// fileMode converts a stat-style mode (0o4755) to an fs.FileMode.
func fileMode(m recipe.Mode) fs.FileMode {
	mode := fs.FileMode(m) & fs.ModePerm
	if m&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}
