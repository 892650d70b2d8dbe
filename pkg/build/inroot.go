package build

import (
	"errors"
	"io/fs"
	"os"
	"slices"
	"strings"
)

// inRoot is a file system over a directory that no name, symlinks included,
// can leave: every call opens the directory as an os.Root, so file contents
// can still be opened long after the tree that refers to them was built.
type inRoot string

var (
	_ fs.StatFS     = inRoot("")
	_ fs.ReadLinkFS = inRoot("")
	_ fs.ReadDirFS  = inRoot("")
)

func (d inRoot) with(name string, op string, f func(*os.Root) error) error {
	if !fs.ValidPath(name) {
		return &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	r, err := os.OpenRoot(string(d))
	if err != nil {
		return err
	}
	defer r.Close()
	return plainOp(f(r))
}

// plainOp names the operation of an os.Root error as the user knows it:
// "stat", not os.Root's "statat".
func plainOp(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		switch pe.Op {
		case "statat", "openat", "readlinkat", "lstatat", "mkdirat", "chmodat", "removeat":
			pe.Op = strings.TrimSuffix(pe.Op, "at")
		}
	}
	return err
}

// Open implements fs.FS.
func (d inRoot) Open(name string) (fs.File, error) {
	var f *os.File
	err := d.with(name, "open", func(r *os.Root) (err error) { f, err = r.Open(name); return })
	return f, err
}

// Stat implements fs.StatFS.
func (d inRoot) Stat(name string) (fs.FileInfo, error) {
	var fi fs.FileInfo
	err := d.with(name, "stat", func(r *os.Root) (err error) { fi, err = r.Stat(name); return })
	return fi, err
}

// Lstat implements fs.ReadLinkFS.
func (d inRoot) Lstat(name string) (fs.FileInfo, error) {
	var fi fs.FileInfo
	err := d.with(name, "lstat", func(r *os.Root) (err error) { fi, err = r.Lstat(name); return })
	return fi, err
}

// ReadLink implements fs.ReadLinkFS.
func (d inRoot) ReadLink(name string) (string, error) {
	var target string
	err := d.with(name, "readlink", func(r *os.Root) (err error) { target, err = r.Readlink(name); return })
	return target, err
}

// ReadDir implements fs.ReadDirFS, sorted by name.
func (d inRoot) ReadDir(name string) ([]fs.DirEntry, error) {
	f, err := d.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	entries, err := f.(*os.File).ReadDir(-1)
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return entries, err
}
