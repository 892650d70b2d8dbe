package unpack

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

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

func (d *disk) startLayer(layer int) {
	d.layer = layer
	d.m.startLayer(layer)
}

// flush implements applier: it waits for the layer's file writes.
func (d *disk) flush() error { return d.w.flush() }

func (d *disk) dir(name string, h *tar.Header) error {
	if err := d.m.dir(name, h); err != nil {
		return err
	}
	if name == "" {
		if err := d.owner(-1, "", d.root, h); err != nil {
			return err
		}
		return unix.Fchmod(d.root, writableDir(perm(h)))
	}
	dir, base := split(name)
	pfd, err := d.parent(dir)
	if err != nil {
		return err
	}
	// The name is new in the common case: mkdir first, stat only when
	// something is there.
	err = unix.Mkdirat(pfd, base, 0o700)
	if err == unix.EEXIST {
		kept, cerr := d.clear(pfd, name, base, true)
		if cerr != nil {
			return cerr
		}
		if err = nil; !kept {
			err = unix.Mkdirat(pfd, base, 0o700)
		}
	}
	if err != nil {
		return fmt.Errorf("mkdir: %w", err)
	}
	fd, err := unix.Openat(pfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening directory: %w", err)
	}
	defer unix.Close(fd)
	if err := d.owner(-1, "", fd, h); err != nil {
		return err
	}
	return unix.Fchmod(fd, writableDir(perm(h)))
}

// writableDir is the mode a directory has while the unpack writes into it:
// its own, plus read, write and search for its owner, so that a user other
// than root can create its children; finish gives it its own mode once they
// are written.
func writableDir(mode uint32) uint32 { return mode | 0o700 }

// file creates the file name and reads its content; a writer writes it
// (see writers), unless it is larger than maxJob.
func (d *disk) file(name string, h *tar.Header, r io.Reader) error {
	if err := d.w.error(); err != nil {
		return err
	}
	if err := d.m.file(name, h, nil); err != nil {
		return err
	}
	fd := -1
	_, base, err := d.place(name, func(pfd int, base string) (err error) {
		fd, err = unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return fmt.Errorf("creating file: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	j := &fileJob{path: join(d.m.parent, base), layer: d.layer, name: h.Name, fd: fd,
		uid: h.Uid, gid: h.Gid, mode: perm(h), mtime: [2]unix.Timespec(times(h))}
	if h.Size > maxJob {
		err := d.copy(fd, r)
		if err == nil {
			err = d.w.meta(j)
		}
		unix.Close(fd)
		return err
	}
	if err := d.w.read(j, r, h.Size); err != nil {
		unix.Close(fd)
		return err
	}
	d.w.submit(j)
	return nil
}

// copy writes what r holds to fd.
func (d *disk) copy(fd int, r io.Reader) error {
	for {
		n, rerr := r.Read(d.buf)
		if err := writeAll(fd, d.buf[:n]); err != nil {
			return err
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

func (d *disk) symlink(name string, h *tar.Header) error {
	if err := d.m.symlink(name, h); err != nil {
		return err
	}
	pfd, base, err := d.place(name, func(pfd int, base string) error {
		if err := unix.Symlinkat(h.Linkname, pfd, base); err != nil {
			return fmt.Errorf("symlink: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := d.owner(pfd, base, -1, h); err != nil {
		return err
	}
	return d.mtime(pfd, base, h)
}

func (d *disk) hardlink(name, target string, h *tar.Header) error {
	if err := d.m.hardlink(name, target, h); err != nil {
		return err
	}
	d.w.waitAt(d.m.target)
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
	_, _, err = d.place(name, func(pfd int, base string) error {
		if err := unix.Linkat(tpfd, tbase, pfd, base, 0); err != nil {
			return fmt.Errorf("%w: hardlink to %q: %w", ErrUnsafePath, target, err)
		}
		return nil
	})
	return err
}

func (d *disk) device(name string, h *tar.Header) error {
	if err := d.m.device(name, h); err != nil {
		return err
	}
	mode := uint32(unix.S_IFCHR)
	if h.Typeflag == tar.TypeBlock {
		mode = unix.S_IFBLK
	}
	dev := unix.Mkdev(uint32(h.Devmajor), uint32(h.Devminor))
	pfd, base, err := d.place(name, func(pfd int, base string) error {
		if err := unix.Mknodat(pfd, base, mode|0o600, int(dev)); err != nil {
			return fmt.Errorf("mknod: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
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
	if err := d.m.whiteout(name); err != nil {
		return err
	}
	return d.hide()
}

func (d *disk) opaque(dir string) error {
	if err := d.m.opaque(dir); err != nil {
		return err
	}
	return d.hide()
}

// hide carries out what the model says the last whiteout does: remove
// paths and everything below them, and reset the mode and owner of
// directories to those of a directory created implicitly. The paths are
// canonical; the kernel still resolves them inside the root.
func (d *disk) hide() error {
	if len(d.m.hides) == 0 {
		return nil
	}
	d.invalidate()
	for _, op := range d.m.hides {
		if op.reset {
			if err := d.reset(op.name); err != nil {
				return fmt.Errorf("whiteout: %w", err)
			}
			continue
		}
		d.w.waitUnder(op.name)
		dir, base := split(op.name)
		pfd, err := d.openDir(dir, unix.O_PATH)
		if err != nil {
			return fmt.Errorf("whiteout: %w", err)
		}
		err = removeAll(pfd, base)
		unix.Close(pfd)
		if err != nil {
			return err
		}
	}
	return nil
}

// reset makes the directory name mode 0755, owned by root when running as
// root, as mkdirAll creates it.
func (d *disk) reset(name string) error {
	fd, err := d.openDir(name, unix.O_RDONLY|unix.O_NOFOLLOW)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if d.chown {
		if err := unix.Fchown(fd, 0, 0); err != nil {
			return fmt.Errorf("chown %q: %w", name, err)
		}
	}
	if err := unix.Fchmod(fd, 0o755); err != nil {
		return fmt.Errorf("chmod %q: %w", name, err)
	}
	return nil
}

// finish sets the mtimes of the directories that have one in the model,
// then the modes of those that the unpack kept writable (see writableDir),
// once every entry is in place.
func (d *disk) finish() error {
	if err := d.dirTimes(); err != nil {
		return err
	}
	return d.dirModes()
}

// dirModes gives every directory whose mode writableDir changed its own,
// children before parents: a parent without search permission for its
// owner would hide them.
func (d *disk) dirModes() error {
	var names []string
	for name, n := range d.m.nodes {
		if n.typ == 'd' && writableDir(n.mode) != n.mode {
			names = append(names, name)
		}
	}
	sort.Slice(names, func(i, j int) bool {
		di, dj := strings.Count(names[i], "/"), strings.Count(names[j], "/")
		return di > dj || di == dj && names[i] > names[j]
	})
	for _, name := range names {
		mode := d.m.nodes[name].mode
		if name == "" {
			if err := unix.Fchmod(d.root, mode); err != nil {
				return fmt.Errorf("chmod of the root: %w", err)
			}
			continue
		}
		dir, base := split(name)
		pfd, err := d.openDir(dir, unix.O_PATH)
		if err != nil {
			return fmt.Errorf("chmod %q: %w", name, err)
		}
		var st unix.Stat_t
		if err = unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil {
			if st.Mode&unix.S_IFMT != unix.S_IFDIR {
				err = fmt.Errorf("%w: not a directory", ErrUnsafePath)
			} else {
				// A directory of our private staging tree: no symlink to follow.
				err = unix.Fchmodat(pfd, base, mode, 0)
			}
		}
		unix.Close(pfd)
		if err != nil {
			return fmt.Errorf("chmod %q: %w", name, err)
		}
	}
	return nil
}

// dirTimes sets the mtimes of the directories that have one in the model.
func (d *disk) dirTimes() error {
	for name, n := range d.m.nodes {
		if n.typ != 'd' || !n.hasTime {
			continue
		}
		ts := []unix.Timespec{{Sec: n.mtime.Unix(), Nsec: int64(n.mtime.Nanosecond())}}
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
			return fmt.Errorf("setting mtime of %q: %w", name, err)
		}
		var st unix.Stat_t
		if err = unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil {
			if st.Mode&unix.S_IFMT != unix.S_IFDIR {
				err = fmt.Errorf("%w: not a directory", ErrUnsafePath)
			} else {
				err = unix.UtimesNanoAt(pfd, base, ts, unix.AT_SYMLINK_NOFOLLOW)
			}
		}
		unix.Close(pfd)
		if err != nil {
			return fmt.Errorf("setting mtime of %q: %w", name, err)
		}
	}
	return nil
}
