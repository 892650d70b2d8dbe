package rmtree

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// MountError is returned by RemoveAt for a tree that has mount points in
// it; nothing was removed (or, for a mount made during the removal, nothing
// below it).
type MountError struct {
	// Name is the tree as given to RemoveAt.
	Name string
	// Mounts are the mount points found, each as Name/relative path.
	Mounts []string
}

// Error implements error.
func (e *MountError) Error() string {
	return fmt.Sprintf("%s: not removed: mount points in it: %s", e.Name, strings.Join(e.Mounts, ", "))
}

// Remove is RemoveAt on the parent directory of path and its last element.
func Remove(path string) error {
	dir, base := filepath.Split(filepath.Clean(path))
	if dir == "" {
		dir = "."
	}
	if base == "" || base == "." || base == ".." || base == "/" {
		return fmt.Errorf("removing %q: not a removable name", path)
	}
	dfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening %s: %w", dir, err)
	}
	defer unix.Close(dfd)
	return RemoveAt(dfd, base)
}

// RemoveAt removes dfd/name and everything below it, without following a
// symlink and without removing anything when the tree holds a mount point
// (see the package doc). name is one path element. A missing name is not
// an error.
func RemoveAt(dfd int, name string) error {
	return removeAt(dfd, name, false)
}

// removeAt is RemoveAt; noStatx makes it look for mount points the way it
// does on a kernel without STATX_MNT_ID.
func removeAt(dfd int, name string, noStatx bool) error {
	if name == "" || strings.ContainsRune(name, '/') || name == "." || name == ".." {
		return fmt.Errorf("removing %q: not one path element", name)
	}
	w, err := newWalker(dfd, noStatx)
	if err != nil {
		return err
	}
	var mounts []string
	if err := w.scan(dfd, name, name, &mounts); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return err
	}
	if len(mounts) > 0 {
		return &MountError{Name: name, Mounts: mounts}
	}
	err = w.remove(dfd, name, name)
	var me *MountError
	if errors.As(err, &me) {
		me.Name = name // a mount made since the scan
	}
	return err
}

// resolve keeps a lookup of one element on the tree's mount, refusing a
// symlink (but for an O_PATH|O_NOFOLLOW open, which gets the symlink).
const resolve = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_XDEV | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS

// walker knows the mount the tree must stay on.
type walker struct {
	mnt     uint64 // mount id of the parent directory; 0 without statx
	noStatx bool
}

// newWalker finds the mount id of dfd, the parent of the tree.
func newWalker(dfd int, noStatx bool) (*walker, error) {
	w := &walker{noStatx: noStatx}
	if noStatx {
		return w, nil
	}
	var stx unix.Statx_t
	if err := statx(dfd, "", unix.AT_EMPTY_PATH, &stx); err != nil {
		return nil, fmt.Errorf("statx: %w", err)
	}
	if stx.Mask&unix.STATX_MNT_ID == 0 {
		w.noStatx = true // before Linux 5.8
		return w, nil
	}
	w.mnt = stx.Mnt_id
	return w, nil
}

func statx(dfd int, name string, flags int, stx *unix.Statx_t) error {
	flags |= unix.AT_SYMLINK_NOFOLLOW | unix.AT_NO_AUTOMOUNT | unix.AT_STATX_DONT_SYNC
	for {
		err := unix.Statx(dfd, name, flags, unix.STATX_TYPE|unix.STATX_MNT_ID, stx)
		if err != unix.EINTR {
			return err
		}
	}
}

// mountPoint reports whether dfd/name is on another mount than the tree's
// parent, and whether it is a directory.
func (w *walker) mountPoint(dfd int, name string) (mounted, isDir bool, err error) {
	var stx unix.Statx_t
	if err := statx(dfd, name, 0, &stx); err != nil {
		return false, false, err
	}
	isDir = stx.Mode&unix.S_IFMT == unix.S_IFDIR
	if !w.noStatx {
		return stx.Mnt_id != w.mnt, isDir, nil
	}
	// The kernel refuses to cross a mount point with RESOLVE_NO_XDEV, also
	// on the last element; O_PATH|O_NOFOLLOW opens a symlink itself.
	how := &unix.OpenHow{Flags: unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC, Resolve: resolve}
	for {
		fd, err := unix.Openat2(dfd, name, how)
		switch err {
		case nil:
			unix.Close(fd)
			return false, isDir, nil
		case unix.EXDEV:
			return true, isDir, nil
		case unix.EINTR, unix.EAGAIN:
			continue
		}
		return false, false, err
	}
}

// openDir opens the directory dfd/name (rel in messages) without following
// a symlink. The kernel refuses it (RESOLVE_NO_XDEV) when it is a mount
// point: then openDir returns a *MountError.
func (w *walker) openDir(dfd int, name, rel string) (*os.File, error) {
	how := &unix.OpenHow{Flags: unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC, Resolve: resolve}
	for {
		fd, err := unix.Openat2(dfd, name, how)
		switch err {
		case nil:
			return os.NewFile(uintptr(fd), rel), nil
		case unix.EXDEV:
			return nil, &MountError{Name: rel, Mounts: []string{rel}}
		case unix.EINTR, unix.EAGAIN:
			continue
		}
		return nil, fmt.Errorf("opening %s: %w", rel, err)
	}
}

// scan appends to mounts every mount point at or below dfd/name (rel in
// messages), without descending into one.
func (w *walker) scan(dfd int, name, rel string, mounts *[]string) error {
	mounted, isDir, err := w.mountPoint(dfd, name)
	if err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}
	if mounted {
		*mounts = append(*mounts, rel)
		return nil
	}
	if !isDir {
		return nil
	}
	err = w.each(dfd, name, rel, func(fd int, n, rel string) error {
		if err := w.scan(fd, n, rel, mounts); err != nil && !errors.Is(err, unix.ENOENT) {
			return err
		}
		return nil
	})
	var me *MountError
	if errors.As(err, &me) {
		*mounts = append(*mounts, rel)
		return nil
	}
	return err
}

// each opens the directory dfd/name (see openDir) and calls fn on each of
// its entries.
func (w *walker) each(dfd int, name, rel string, fn func(fd int, name, rel string) error) error {
	f, err := w.openDir(dfd, name, rel)
	if errors.Is(err, unix.EACCES) && ownerRWX(dfd, name) {
		f, err = w.openDir(dfd, name, rel)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("listing %s: %w", rel, err)
	}
	fd := int(f.Fd())
	for _, n := range names {
		if err := fn(fd, n, rel+"/"+n); err != nil {
			return err
		}
	}
	return nil
}

// remove removes dfd/name (rel in messages) and everything below it.
func (w *walker) remove(dfd int, name, rel string) error {
	err := unix.Unlinkat(dfd, name, 0)
	switch {
	case err == nil || err == unix.ENOENT:
		return nil
	case err == unix.EBUSY:
		return &MountError{Name: rel, Mounts: []string{rel}}
	case err != unix.EISDIR && err != unix.EPERM:
		return fmt.Errorf("removing %s: %w", rel, err)
	}
	ownerRWX(dfd, name) // its entries are unlinked next
	if err := w.each(dfd, name, rel, w.remove); err != nil {
		return err
	}
	err = unix.Unlinkat(dfd, name, unix.AT_REMOVEDIR)
	switch {
	case err == nil || err == unix.ENOENT:
		return nil
	case err == unix.EBUSY:
		return &MountError{Name: rel, Mounts: []string{rel}}
	}
	return fmt.Errorf("removing %s: %w", rel, err)
}

// ownerRWX gives the directory dfd/name read, write and search permission
// for its owner when the caller is that owner (not root, whom permissions
// do not stop) and it lacks one of them: a jail may hold a read-only
// directory, which its unprivileged owner could not empty otherwise. It
// reports whether it changed the mode. The directory is opened without
// following a symlink, and its mode changed through that descriptor.
func ownerRWX(dfd int, name string) bool {
	euid := os.Geteuid()
	if euid == 0 {
		return false
	}
	how := &unix.OpenHow{Flags: unix.O_PATH | unix.O_NOFOLLOW | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: resolve}
	fd, err := unix.Openat2(dfd, name, how)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Uid != uint32(euid) || st.Mode&0o700 == 0o700 {
		return false
	}
	// chmod(2) of an O_PATH descriptor goes through its /proc magic link.
	return unix.Fchmodat(unix.AT_FDCWD, fmt.Sprintf("/proc/self/fd/%d", fd), st.Mode&0o7777|0o700, 0) == nil
}
