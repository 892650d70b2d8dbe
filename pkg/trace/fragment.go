package trace

import (
	"context"
	"io/fs"

	"slices"

	"github.com/jailimg/jailimg/pkg/resolve"
)

// Fragment is what a traced command needed beyond the ELF closure of the
// programs it executed, in the terms of a recipe. Every list is sorted.
type Fragment struct {
	// Argv is the traced command.
	Argv []string `json:"argv"`
	// Binaries are the programs executed (binaries:), and the interpreters
	// of executed scripts.
	Binaries []string `json:"binaries"`
	// Libraries are shared objects opened that the ELF closure of Binaries
	// does not explain: dlopen()ed plugins and NSS modules (libraries:).
	Libraries []string `json:"libraries"`
	// Files are the regular files read (files:), by their real path.
	Files []string `json:"files"`
	// Symlinks are the symlinks met on the way to Files, Dirs and read
	// links, that the ELF closure does not already carry (symlinks:).
	Symlinks []resolve.Link `json:"symlinks"`
	// Dirs are directories opened, listed or entered, and the directories
	// the command wrote into or created (dirs:).
	Dirs []Dir `json:"dirs"`
	// Devices are the device nodes under /dev the command opened (devices:).
	Devices []Device `json:"devices"`
	// HostSpecific are the files read, symlinks met and directories
	// entered at host-specific paths, outside the system directories (/usr
	// but /usr/local, /etc, /bin, /sbin, /lib*, /var/lib): a configuration
	// named on the command line, a file under /home, /root, /srv, /opt, /tmp
	// or /usr/local. They are in no other list: the user maps each one to
	// where the jail should have it (files: {src: HOST, dst: JAIL}).
	HostSpecific []string `json:"hostSpecific"`
	// Generated are files read that the build writes from recipe keys
	// (users:, groups:, nss:, timezone:) instead of copying them.
	Generated []Generated `json:"generated"`
	// Missing are the opens and execs that failed with ENOENT or ENOTDIR,
	// without the loader's and the shell's search-path probing. First
	// failure per path.
	Missing []Record `json:"missing"`
	// MissingLibraries are the shared objects looked for and found nowhere,
	// each with the object that needed it (see Result.Diagnose).
	MissingLibraries []LibraryMiss `json:"missingLibraries,omitempty"`
	// Notes are problems met while making the fragment (a library of the
	// closure missing on the host, a path that vanished).
	Notes []string `json:"notes,omitempty"`
}

// Dir is a directory the jail needs.
type Dir struct {
	Path string `json:"path"`
	// Written lists what the command created or wrote in it (or, for a
	// directory it made itself, the directory): it must be writable by the
	// service's user.
	Written []string `json:"written,omitempty"`
}

// Device is a device node the command opened.
type Device struct {
	Path string `json:"path"`
	// Name is the recipe's short name (null, zero, full, random, urandom,
	// tty) when the node is one of those, else "".
	Name  string `json:"name,omitempty"`
	Type  string `json:"type"` // "char" or "block"
	Major uint32 `json:"major"`
	Minor uint32 `json:"minor"`
}

// Generated is a file the build writes from a recipe key.
type Generated struct {
	Path string `json:"path"`
	Key  string `json:"key"`
}

// NewFragment turns what a command did into a recipe fragment. fsys is the
// root the command ran in (os.DirFS("/") for the host); it must implement
// fs.ReadLinkFS. Paths are resolved in it as resolve.Resolver.Walk resolves
// them. The filtering rule is in the package documentation.
func NewFragment(ctx context.Context, fsys fs.FS, res *Result) (*Fragment, error) {
	r, err := resolve.New(fsys)
	if err != nil {
		return nil, err
	}
	b := &fragBuilder{
		fsys: fsys, resolver: r, f: &Fragment{Argv: res.Argv},
		bins: map[string]string{}, files: map[string]bool{}, libs: map[string]bool{},
		links: map[string]string{}, dirs: map[string][]string{}, devs: map[string]Device{},
		gen: map[string]string{}, explained: map[string]bool{}, closureLinks: map[string]bool{},
	}
	b.binaries(res)
	if err := b.closure(ctx, nil); err != nil {
		return nil, err
	}
	b.accessed(res)
	if len(b.libs) > 0 {
		if err := b.dropDependentLibs(ctx); err != nil {
			return nil, err
		}
		if err := b.closure(ctx, sortedKeys(b.libs)); err != nil {
			return nil, err
		}
	}
	if err := b.missing(ctx, res); err != nil {
		return nil, err
	}
	return b.finish(), nil
}

// closure computes the ELF closure of the binaries (and libs) found so far
// and marks every file and link of it as explained.
func (b *fragBuilder) closure(ctx context.Context, libs []string) error {
	if len(b.bins) == 0 && len(libs) == 0 {
		return nil
	}
	cl, err := b.resolve(ctx, libs)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		b.note("ELF closure: %v", err)
	}
	if cl == nil {
		return nil
	}
	for _, p := range cl.Files {
		b.explained[p] = true
	}
	for _, l := range cl.Links {
		b.explained[l.Path] = true
		b.closureLinks[l.Path] = true
	}
	return nil
}

// resolve computes the closure of the binaries found and libs, with the
// builder's one resolver (which caches what it parsed) for every call.
func (b *fragBuilder) resolve(ctx context.Context, libs []string) (*resolve.Closure, error) {
	bins := make([]string, 0, len(b.bins))
	for _, real := range sortedKeys(b.bins) {
		bins = append(bins, b.bins[real])
	}
	return b.resolver.Resolve(ctx, resolve.Request{Binaries: bins, Libraries: libs})
}

// dropDependentLibs removes each library that the closure of the other
// libraries loads anyway (a dependency of a dlopen()ed plugin).
func (b *fragBuilder) dropDependentLibs(ctx context.Context) error {
	for _, lib := range sortedKeys(b.libs) {
		w, err := b.resolver.Walk(lib)
		if err != nil {
			continue
		}
		real := w.Real
		var others []string
		for _, o := range sortedKeys(b.libs) {
			if o != lib {
				others = append(others, o)
			}
		}
		if len(others) == 0 {
			break
		}
		cl, err := b.resolve(ctx, others)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err == nil && slices.Contains(cl.Files, real) {
			delete(b.libs, lib)
		}
	}
	return nil
}

// ancestor reports whether dir is a proper ancestor of p.
func ancestor(dir, p string) bool {
	return dir != p && (dir == "/" || len(p) > len(dir) && p[:len(dir)] == dir && p[len(dir)] == '/')
}

// hasDescendant reports whether any path in the sorted list lies below dir.
func hasDescendant(dir string, sorted []string) bool {
	i, _ := slices.BinarySearch(sorted, dir+"/")
	return i < len(sorted) && ancestor(dir, sorted[i])
}
