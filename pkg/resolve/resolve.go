package resolve

import (
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"sync"
)

// ErrNotELF is returned (wrapped, with the path) for an input, interpreter or
// library that is not an ELF file.
var ErrNotELF = errors.New("not an ELF file")

// ErrNotRegular is returned (wrapped, with the path) for an input that is
// a directory, device or other non-regular file.
var ErrNotRegular = errors.New("not a regular file")

// Request names what to resolve.
type Request struct {
	// Binaries are absolute paths inside the root of ELF executables or
	// shared objects; each is resolved as the main program of its own process.
	Binaries []string
	// Libraries are loaded as if dlopen()ed by the first binary: a soname
	// (e.g. "libnss_files.so.2") is searched as ld.so would, an absolute path
	// is taken as is.
	Libraries []string
}

// Closure is everything the dynamic loader needs to start the requested
// binaries.
type Closure struct {
	// Files are absolute real paths (no symlink in any component) of the
	// regular files to copy: the inputs, the interpreters and every library.
	// Sorted, unique.
	Files []string `json:"files"`
	// Links are the symlinks met on the way from each path the loader opens
	// to its file. Link.Path has no symlink in its parent directories.
	// Sorted by Path, unique.
	Links []Link `json:"links"`
	// Missing lists every DT_NEEDED (and requested library) that could not
	// be found, in the order met.
	Missing []MissingLib `json:"missing,omitempty"`
	// Cache lists the libraries the loader finds only through ld.so.cache
	// (or, without a cache, ld.so.conf): found in a directory that is not a
	// system directory. A jail holding them needs an /etc/ld.so.cache with
	// these entries (WriteCache), or its loader will not find them. Sorted,
	// unique.
	Cache []CacheEntry `json:"cache,omitempty"`
}

// Link is a symlink: Path is absolute, Target is exactly as stored.
type Link struct {
	Path   string `json:"path"`
	Target string `json:"target"`
}

// CacheEntry is one ld.so.cache entry: the loader maps Soname to Path for
// objects of the given ELF class and machine.
type CacheEntry struct {
	Soname  string      `json:"soname"`
	Path    string      `json:"path"`
	Class   elf.Class   `json:"-"`
	Machine elf.Machine `json:"-"`
}

// NeededByRequest is MissingLib.NeededBy of a library the Request named.
const NeededByRequest = "request"

// MissingLib is a library that could not be found.
type MissingLib struct {
	Soname string `json:"soname"`
	// NeededBy is the real path of the object whose DT_NEEDED names it, or
	// NeededByRequest for one of Request.Libraries.
	NeededBy string `json:"neededBy"`
	// Searched are the places looked in, in the loader's order: the
	// directories of DT_RPATH, DT_RUNPATH, ld.so.conf and the system
	// (each with its glibc-hwcaps subdirectories), "ld.so.cache" when the
	// cache was asked, or the path itself for a name with a '/'.
	Searched []string `json:"searched,omitempty"`
}

// MissingLibError reports a library that could not be found. Resolve returns
// one for the first missing library.
type MissingLibError struct {
	Soname, NeededBy string
	// Searched is MissingLib.Searched.
	Searched []string
}

// Error implements error.
func (e *MissingLibError) Error() string {
	if len(e.Searched) == 0 {
		return fmt.Sprintf("resolving %s for %s: not found", e.Soname, e.NeededBy)
	}
	return fmt.Sprintf("resolving %s for %s: not found in %s", e.Soname, e.NeededBy, strings.Join(e.Searched, ", "))
}

// Option configures a Resolver.
type Option func(*options)

type options struct {
	logger  *slog.Logger
	hwcaps  []string
	hwcapOK bool
}

// WithLogger sets the logger for debug messages. Default: discard.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// WithHWCaps sets the glibc-hwcaps subdirectories searched, best first, for
// every machine. Default: the x86-64 levels the running CPU supports, for
// x86-64 objects only, as ld.so does on this CPU.
func WithHWCaps(names ...string) Option {
	return func(o *options) { o.hwcaps = append([]string(nil), names...); o.hwcapOK = true }
}

// Resolver resolves ELF closures inside one root. It caches every file it
// reads and is safe for concurrent use; the root must not change meanwhile.
type Resolver struct {
	fsys fs.ReadLinkFS
	opts options

	mu     sync.Mutex
	stats  map[string]*statEntry // fs name -> lstat/readlink result
	objs   map[string]*objEntry  // real path -> parsed object
	walks  map[string]*walkEntry // absolute path -> resolution
	abis   map[abiKey]*abi
	ldOnce sync.Once
	ld     *ldConfig
}

// New returns a Resolver reading fsys as the root "/". fsys must implement
// fs.ReadLinkFS (os.DirFS does) so that symlinks are resolved inside it.
func New(fsys fs.FS, opts ...Option) (*Resolver, error) {
	rl, ok := fsys.(fs.ReadLinkFS)
	if !ok {
		return nil, fmt.Errorf("resolve: %T does not implement fs.ReadLinkFS", fsys)
	}
	r := &Resolver{
		fsys:  rl,
		stats: map[string]*statEntry{},
		objs:  map[string]*objEntry{},
		walks: map[string]*walkEntry{},
		abis:  map[abiKey]*abi{},
	}
	for _, o := range opts {
		o(&r.opts)
	}
	if r.opts.logger == nil {
		r.opts.logger = slog.New(slog.DiscardHandler)
	}
	return r, nil
}
