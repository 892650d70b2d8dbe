package deb

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// Extract writes the entries of the package's data.tar under root and
// returns them, in archive order. Directories are created with their
// permission bits and owner write access; a directory already there is
// kept. Regular files, symlinks and hard links are created anew: a path
// that already exists (shipped by another package extracted into the same
// root) is an error matching fs.ErrExist. Everything is resolved inside
// root by the os.Root, so no entry writes outside it.
func (a *Archive) Extract(ctx context.Context, root *os.Root) ([]Entry, error) {
	var out []Entry
	err := a.Walk(ctx, func(e Entry, r io.Reader) error {
		if err := write(root, e, r); err != nil {
			return fmt.Errorf("%s: %w", e.Path, err)
		}
		out = append(out, e)
		return nil
	})
	return out, err
}

// write creates one entry under root.
func write(root *os.Root, e Entry, r io.Reader) error {
	name := strings.TrimPrefix(e.Path, "/")
	if dir := path.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	switch e.Type {
	case tar.TypeDir:
		err := root.Mkdir(name, 0o700)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		if fi, err := root.Lstat(name); err != nil || !fi.IsDir() {
			return fmt.Errorf("not a directory in the root: %w", fs.ErrExist)
		}
		return root.Chmod(name, fs.FileMode(e.Mode)|0o700)
	case tar.TypeSymlink:
		return root.Symlink(e.Link, name)
	case tar.TypeLink:
		return root.Link(strings.TrimPrefix(e.Link, "/"), name)
	}
	return writeFile(root, name, fs.FileMode(e.Mode), e.Size, r)
}

func writeFile(root *os.Root, name string, mode fs.FileMode, size int64, r io.Reader) error {
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(f, r, size); err != nil {
		f.Close()
		return fmt.Errorf("contents cut short: %w", err)
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
