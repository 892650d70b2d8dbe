package build

import (
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
)

// rootFS reads a root file system with chroot semantics: symlinks, absolute
// ones included, resolve inside the root, so a sysroot's link to /etc/passwd
// yields the sysroot's file, never the build host's. For the root "/" this
// is plain host access.
type rootFS string

var (
	_ fs.StatFS     = rootFS("")
	_ fs.ReadLinkFS = rootFS("")
	_ fs.ReadDirFS  = rootFS("")
)

// real returns the host path of name inside the root, every symlink
// resolved; with nofollow the last component itself is not followed.
func (r rootFS) real(op, name string, nofollow bool) (string, error) {
	if !fs.ValidPath(name) {
		return "", &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if string(r) == "/" { // the kernel's own resolution is chroot semantics here
		return "/" + name, nil
	}
	if !nofollow {
		return securejoin.SecureJoin(string(r), name)
	}
	dir, err := securejoin.SecureJoin(string(r), path.Dir(name))
	if err != nil {
		return "", err
	}
	return dir + "/" + path.Base(name), nil
}

// Open implements fs.FS.
func (r rootFS) Open(name string) (fs.File, error) {
	p, err := r.real("open", name, false)
	if err != nil {
		return nil, err
	}
	return os.Open(p)
}

// Stat implements fs.StatFS.
func (r rootFS) Stat(name string) (fs.FileInfo, error) {
	p, err := r.real("stat", name, false)
	if err != nil {
		return nil, err
	}
	return os.Stat(p)
}

// Lstat implements fs.ReadLinkFS.
func (r rootFS) Lstat(name string) (fs.FileInfo, error) {
	p, err := r.real("lstat", name, true)
	if err != nil {
		return nil, err
	}
	return os.Lstat(p)
}

// ReadLink implements fs.ReadLinkFS.
func (r rootFS) ReadLink(name string) (string, error) {
	p, err := r.real("readlink", name, true)
	if err != nil {
		return "", err
	}
	return os.Readlink(p)
}

// ReadDir implements fs.ReadDirFS, sorted by name.
func (r rootFS) ReadDir(name string) ([]fs.DirEntry, error) {
	p, err := r.real("readdir", name, false)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(p)
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return entries, err
}

// realPath returns the path inside the root that p resolves to.
func (r rootFS) realPath(p string) (string, error) {
	host, err := securejoin.SecureJoin(string(r), p)
	if err != nil {
		return "", err
	}
	if string(r) == "/" {
		return host, nil
	}
	return "/" + strings.TrimPrefix(strings.TrimPrefix(host, strings.TrimSuffix(string(r), "/")), "/"), nil
}
