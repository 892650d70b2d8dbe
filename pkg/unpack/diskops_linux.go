package unpack

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// owner sets the owner of pfd/base (or of fd when fd >= 0).
func (d *disk) owner(pfd int, base string, fd int, h *tar.Header) error {
	if !d.chown {
		return nil
	}
	var err error
	if fd >= 0 {
		err = unix.Fchown(fd, h.Uid, h.Gid)
	} else {
		err = unix.Fchownat(pfd, base, h.Uid, h.Gid, unix.AT_SYMLINK_NOFOLLOW)
	}
	if err != nil {
		return fmt.Errorf("chown %d:%d: %w", h.Uid, h.Gid, err)
	}
	return nil
}

func (d *disk) mtime(pfd int, base string, h *tar.Header) error {
	if err := unix.UtimesNanoAt(pfd, base, times(h), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("setting mtime: %w", err)
	}
	return nil
}

func (d *disk) dir(name string, h *tar.Header) error {
	if name == "" {
		if err := d.owner(-1, "", d.root, h); err != nil {
			return err
		}
		d.dirTimes[name] = h.ModTime
		return unix.Fchmod(d.root, perm(h))
	}
	dir, base := split(name)
	pfd, err := d.parent(dir)
	if err != nil {
		return err
	}
	kept, err := d.clear(pfd, name, base, true)
	if err != nil {
		return err
	}
	if !kept {
		if err := unix.Mkdirat(pfd, base, 0o700); err != nil {
			return fmt.Errorf("mkdir: %w", err)
		}
	}
	fd, err := unix.Openat(pfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening directory: %w", err)
	}
	defer unix.Close(fd)
	if err := d.owner(-1, "", fd, h); err != nil {
		return err
	}
	d.dirTimes[name] = h.ModTime
	return unix.Fchmod(fd, perm(h))
}

func (d *disk) file(name string, h *tar.Header, r io.Reader) error {
	pfd, base, err := d.place(name)
	if err != nil {
		return err
	}
	fd, err := unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("creating file: %w", err)
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	for {
		n, rerr := r.Read(d.buf)
		if n > 0 {
			if _, err := f.Write(d.buf[:n]); err != nil {
				return fmt.Errorf("writing: %w", err)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	if err := d.owner(-1, "", fd, h); err != nil {
		return err
	}
	if err := unix.Fchmod(fd, perm(h)); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	return d.mtime(pfd, base, h)
}

func (d *disk) symlink(name string, h *tar.Header) error {
	pfd, base, err := d.place(name)
	if err != nil {
		return err
	}
	if err := unix.Symlinkat(h.Linkname, pfd, base); err != nil {
		return fmt.Errorf("symlink: %w", err)
	}
	if err := d.owner(pfd, base, -1, h); err != nil {
		return err
	}
	return d.mtime(pfd, base, h)
}

func (d *disk) hardlink(name, target string, h *tar.Header) error {
	tdir, tbase := split(target)
	tpfd, err := d.openDir(tdir, unix.O_PATH)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: hardlink target %q does not exist", ErrUnsafePath, target)
	}
	if err != nil {
		return fmt.Errorf("hardlink target: %w", err)
	}
	defer unix.Close(tpfd)
	var st unix.Stat_t
	if err := unix.Fstatat(tpfd, tbase, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("%w: hardlink target %q is not an existing regular file", ErrUnsafePath, target)
	}
	pfd, base, err := d.place(name)
	if err != nil {
		return err
	}
	if err := unix.Linkat(tpfd, tbase, pfd, base, 0); err != nil {
		return fmt.Errorf("%w: hardlink to %q: %w", ErrUnsafePath, target, err)
	}
	return nil
}

func (d *disk) device(name string, h *tar.Header) error {
	pfd, base, err := d.place(name)
	if err != nil {
		return err
	}
	mode := uint32(unix.S_IFCHR)
	if h.Typeflag == tar.TypeBlock {
		mode = unix.S_IFBLK
	}
	dev := unix.Mkdev(uint32(h.Devmajor), uint32(h.Devminor))
	if err := unix.Mknodat(pfd, base, mode|0o600, int(dev)); err != nil {
		return fmt.Errorf("mknod: %w", err)
	}
	if err := d.owner(pfd, base, -1, h); err != nil {
		return err
	}
	// A node we just created in our private staging tree: no symlink to follow.
	if err := unix.Fchmodat(pfd, base, perm(h), 0); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	return d.mtime(pfd, base, h)
}

func (d *disk) whiteout(name string) error {
	dir, base := split(name)
	pfd, err := d.openDir(dir, unix.O_PATH)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("whiteout: %w", err)
	}
	defer unix.Close(pfd)
	d.invalidate()
	return removeAll(pfd, base)
}

func (d *disk) opaque(dir string, keep func(string) bool) error {
	fd, err := d.openDir(dir, unix.O_RDONLY)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("opaque whiteout: %w", err)
	}
	f := os.NewFile(uintptr(fd), dir)
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("opaque whiteout: listing: %w", err)
	}
	d.invalidate()
	for _, n := range names {
		if !keep(join(dir, n)) {
			if err := removeAll(fd, n); err != nil {
				return err
			}
		}
	}
	return nil
}

// finish sets the directory mtimes, once every entry is in place.
func (d *disk) finish() error {
	for name, t := range d.dirTimes {
		ts := []unix.Timespec{{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}}
		ts = append(ts, ts[0])
		if name == "" {
			if err := unix.UtimesNanoAt(d.root, ".", ts, 0); err != nil {
				return fmt.Errorf("setting mtime of the root: %w", err)
			}
			continue
		}
		dir, base := split(name)
		pfd, err := d.openDir(dir, unix.O_PATH)
		if err != nil {
			continue // removed or replaced by a later entry
		}
		var st unix.Stat_t
		if unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
			err = unix.UtimesNanoAt(pfd, base, ts, unix.AT_SYMLINK_NOFOLLOW)
		}
		unix.Close(pfd)
		if err != nil {
			return fmt.Errorf("setting mtime of %q: %w", name, err)
		}
	}
	return nil
}
