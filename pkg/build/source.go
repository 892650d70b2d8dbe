package build

import (
	"github.com/jailimg/jailimg/pkg/dpkg"
)

// Source is a root file system a build copies the recipe's binaries,
// their libraries and absolute file sources from, with what it knows of
// the Debian packages that ship its files. Host is the build host (or
// another root, as --root gives); package sysroot's Root is one extracted
// from a recipe's locked packages.
type Source interface {
	// Dir is the root's directory, read with chroot semantics.
	Dir() string
	// Owners returns the package shipping each of paths (real paths
	// inside the root) that a package ships; a path no package ships is
	// left out.
	Owners(paths []string) (map[string]*dpkg.Package, error)
	// Declared returns the packages the source was made from by name (a
	// recipe's packages:), which the jail records whether or not it
	// holds a file of theirs (nginx-light, a package of dependencies, holds
	// none); none for the host.
	Declared() ([]*dpkg.Package, error)
}

var _ Source = Host("/")

// Host is a root file system whose dpkg database (var/lib/dpkg) names its
// packages: the build host's "/", or the root --root names.
type Host string

// Dir implements Source.
func (h Host) Dir() string { return string(h) }

// Owners implements Source, from the root's dpkg status and .list files.
func (h Host) Owners(paths []string) (map[string]*dpkg.Package, error) {
	r := rootFS(h)
	canon := func(dir string) string {
		if real, err := r.realPath(dir); err == nil {
			return real
		}
		return dir
	}
	db, err := dpkg.Open(r, canon)
	if err != nil {
		return nil, err
	}
	return db.OwnerOf(paths), nil
}

// Declared implements Source: the host declares no package.
func (h Host) Declared() ([]*dpkg.Package, error) { return nil, nil }

// SourceFile is a regular file of the jail copied from the build's Source.
type SourceFile struct {
	// Path is the file's path in the jail.
	Path string
	// Source is the real path, every symlink resolved, it was copied from
	// in the Source.
	Source string
}
