package recipe

import "github.com/jailimg/jailimg/pkg/policy"

// Recipe is a parsed jail recipe. Field docs give the YAML key.
type Recipe struct {
	// Name names the jail and the default output directory (name).
	Name string `yaml:"name"`
	// Version becomes org.opencontainers.image.version and the default tag (version).
	Version string `yaml:"version"`
	// Epoch is the mtime of every entry and the image's created time, in Unix
	// seconds, unless SOURCE_DATE_EPOCH is set (epoch; default 0).
	Epoch *int64 `yaml:"epoch"`
	// Compression is the layer compression, "gzip" (default) or "zstd" (compression).
	Compression string `yaml:"compression"`

	// Include names fragment files, relative to the recipe's directory, whose
	// binaries, libraries, files, dirs, symlinks and devices are added to the
	// recipe's own (include). `jailimg trace -o` writes such fragments.
	Include []string `yaml:"include"`

	// Packages names Debian packages, "NAME" or "NAME=VERSION" as apt
	// writes them, as the source of the binaries, libraries and absolute
	// file sources instead of the build host (packages). jailimg lock
	// resolves their closure into the lock file beside the recipe; the
	// build extracts the locked .deb files into a private root and copies
	// from there.
	Packages []string `yaml:"packages"`

	// Binaries are host executables copied with their shared-library closure (binaries).
	Binaries []Binary `yaml:"binaries"`
	// Libraries are extra sonames or paths loaded with dlopen, with their closure (libraries).
	Libraries []string `yaml:"libraries"`
	// Files are copied from the host or the recipe's directory (files).
	Files []File `yaml:"files"`
	// Dirs are created empty (dirs).
	Dirs []Dir `yaml:"dirs"`
	// Symlinks are created as given (symlinks).
	Symlinks []Symlink `yaml:"symlinks"`
	// Devices are device nodes, by safe name or spelled out (devices).
	Devices []Device `yaml:"devices"`
	// Users are the only entries of the jail's /etc/passwd and /etc/shadow (users).
	Users []User `yaml:"users"`
	// Groups are the only entries of the jail's /etc/group (groups).
	Groups []Group `yaml:"groups"`
	// NSS lists name-service sources, e.g. [files, dns]; it writes
	// /etc/nsswitch.conf and pulls in the libnss modules (nss).
	NSS []string `yaml:"nss"`
	// Timezone is a zoneinfo name copied to /etc/localtime (timezone).
	Timezone string `yaml:"timezone"`
	// DPKG records, for vulnerability scanners and jailimg outdated, the
	// Debian packages the jail's files come from: one status paragraph per
	// package under /var/lib/dpkg/status.d/ (built from packages:, also one
	// for each package it names), and the source's /etc/os-release and
	// /etc/debian_version (dpkg).
	DPKG bool `yaml:"dpkg"`

	// Entrypoint is the image config's entrypoint (entrypoint).
	Entrypoint []string `yaml:"entrypoint"`
	// Cmd is the image config's default arguments (cmd).
	Cmd []string `yaml:"cmd"`
	// User is the user the service runs as: a name from Users or a uid (user).
	User string `yaml:"user"`
	// Workdir is the service's working directory (workdir).
	Workdir string `yaml:"workdir"`
	// Env maps variable names to values in the service's environment (env).
	Env map[string]string `yaml:"env"`
	// Annotations are added to the image manifest (annotations).
	Annotations map[string]string `yaml:"annotations"`
	// Run is how `jailimg run` confines the service (run).
	Run policy.Policy `yaml:"run"`

	// Path is the file the recipe was loaded from; relative sources are
	// resolved against its directory. Not part of the YAML.
	Path string `yaml:"-"`
	// Documents are the files the recipe was read from, with the sha256 of
	// the bytes read: the recipe (Parse), then its include: fragments
	// (Load). A build's provenance names them. Not part of the YAML.
	Documents []Document `yaml:"-"`

	origins map[string]origin // key path -> where it was written, from Parse and Load
}

// Document is a file a recipe was read from.
type Document struct {
	// Path is the file, as the recipe's Path or include: entry names it
	// (joined to the recipe's directory for a fragment).
	Path string
	// SHA256 is the digest of the bytes parsed, in hex.
	SHA256 string
}

// origin is where a key path of a recipe was written: the recipe itself or
// an included fragment, at line, as key (the path in that file).
type origin struct {
	file string
	line int
	key  string
}

// Binary is an executable copied with its closure. In YAML it is either a
// path or a mapping with path and the optional mode, owner and group.
type Binary struct {
	Path  string `yaml:"path"`
	Mode  *Mode  `yaml:"mode"`
	Owner *Owner `yaml:"owner"`
	Group *Owner `yaml:"group"`
}

// File is copied from Src (host absolute path, or relative to the recipe's
// directory) to Dst in the jail. A directory Src copies its tree; Mode then
// applies to the top directory and Owner and Group to every entry. The ELF
// executables and shared objects among the copied files get their
// shared-library closure, as binaries do, unless Closure is false.
type File struct {
	Src   string `yaml:"src"`
	Dst   string `yaml:"dst"`
	Mode  *Mode  `yaml:"mode"`
	Owner *Owner `yaml:"owner"`
	Group *Owner `yaml:"group"`
	// From says where an absolute Src is read in a recipe with packages:
	// "packages" (the default there) or "host", the build host. A recipe
	// without packages reads every absolute Src from the host.
	From string `yaml:"from"`
	// Closure false leaves out the shared-library closure of the ELF files
	// the entry copies.
	Closure *bool `yaml:"closure"`
}

// FromHost reports whether an absolute Src is read from the build host
// rather than from the recipe's packages.
func (f File) FromHost(r *Recipe) bool {
	return len(r.Packages) == 0 || f.From == "host"
}

// WantsClosure reports whether the ELF objects the entry copies get their
// library closure: unless closure: false.
func (f File) WantsClosure() bool { return f.Closure == nil || *f.Closure }

// Dir is an empty directory (default mode 0755, owner 0:0).
type Dir struct {
	Path  string `yaml:"path"`
	Mode  *Mode  `yaml:"mode"`
	Owner *Owner `yaml:"owner"`
	Group *Owner `yaml:"group"`
}

// Symlink is a symbolic link at Path pointing to Target, stored as written.
type Symlink struct {
	Path   string `yaml:"path"`
	Target string `yaml:"target"`
}

// Device is a device node. In YAML it is either a name from the safe table
// (null, zero, full, random, urandom, tty), created at /dev/NAME with mode
// 0666, or a mapping {path, type, major, minor, mode} with type "char" or
// "block".
type Device struct {
	Path  string `yaml:"path"`
	Type  string `yaml:"type"`
	Major uint32 `yaml:"major"`
	Minor uint32 `yaml:"minor"`
	Mode  *Mode  `yaml:"mode"`
	Owner *Owner `yaml:"owner"`
	Group *Owner `yaml:"group"`
	// Name is the safe-table name when the short form was used.
	Name string `yaml:"-"`
}

// User is one line of the jail's /etc/passwd. Its /etc/shadow password is
// always locked.
type User struct {
	Name string `yaml:"name"`
	// UID and GID are required: a forgotten id must not silently mean root.
	UID   *uint32 `yaml:"uid"`
	GID   *uint32 `yaml:"gid"`
	Gecos string  `yaml:"gecos"`
	// Home defaults to "/nonexistent".
	Home string `yaml:"home"`
	// Shell defaults to "/usr/sbin/nologin".
	Shell string `yaml:"shell"`
}

// Group is one line of the jail's /etc/group.
type Group struct {
	Name    string   `yaml:"name"`
	GID     *uint32  `yaml:"gid"`
	Members []string `yaml:"members"`
}
