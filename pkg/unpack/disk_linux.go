package unpack

import (
	"archive/tar"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/jailimg/jailimg/internal/rmtree"
)

// resolveFlags make the kernel refuse any path that leaves the root, goes
// through a symlink (of any kind) or crosses a mount point.
const resolveFlags = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV

// inRootFlags make the kernel resolve a path as if the root were "/": a
// symlink is followed, an absolute target or ".." never leaves the root;
// magic links and mount points are refused.
const inRootFlags = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV

// disk applies entries below a root directory fd. Parent directories are
// resolved by the kernel with openat2(inRootFlags), so a symlink in them
// (bin -> usr/bin) is followed and cannot lead out of the root; the last
// component is always handled with a no-follow *at call on the resolved
// parent. The model m decides what each entry means, as for Verify: where
// missing directories go, what a whiteout removes, which directories keep
// their mtime.
type disk struct {
	root      int
	chown     bool
	m         *model
	w         *writers // write file contents (see writers)
	layer     int      // the layer being applied
	cacheName string
	cacheFd   int
	buf       []byte
}

func newDisk(root int) *disk {
	chown := os.Geteuid() == 0
	return &disk{root: root, chown: chown, m: newShadow(), w: newWriters(chown), cacheFd: -1, buf: copyBufs.get()}
}

// copyBufs holds the copy buffers of disk appliers, for files larger than
// maxJob.
var copyBufs = newBufferList(copyBufSize, 1, newBuffer)

const copyBufSize = 128 << 10

var _ applier = (*disk)(nil)

// openDir opens dir (clean, relative, "" for the root) inside the root.
func (d *disk) openDir(dir string, flags int) (int, error) {
	if dir == "" {
		dir = "."
	}
	how := &unix.OpenHow{Flags: uint64(flags | unix.O_DIRECTORY | unix.O_CLOEXEC), Resolve: inRootFlags}
	fd, err := openat2(d.root, dir, how)
	return fd, dirErr(dir, err)
}

// dirErr explains an error resolving dir; ENOENT is kept as is.
func dirErr(dir string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.ELOOP):
		return fmt.Errorf("%w: %q: too many levels of symlinks", ErrUnsafePath, dir)
	case errors.Is(err, unix.EXDEV):
		return fmt.Errorf("%w: %q crosses a mount point", ErrUnsafePath, dir)
	case errors.Is(err, unix.ENOTDIR):
		return fmt.Errorf("%w: %q is not a directory", ErrUnsafePath, dir)
	case errors.Is(err, unix.ENOENT):
		return fmt.Errorf("%q: %w", dir, os.ErrNotExist)
	}
	return fmt.Errorf("opening %q: %w", dir, err)
}

// parent returns an O_PATH fd for dir, the parent of the entry the model
// has just placed, creating missing directories where the model says (at
// its canonical path, which has no symlink in it). The fd is cached and
// must not be closed by the caller.
func (d *disk) parent(dir string) (int, error) {
	if dir == "" {
		return d.root, nil
	}
	if d.cacheFd >= 0 && d.cacheName == dir {
		return d.cacheFd, nil
	}
	fd, err := d.openDir(dir, unix.O_PATH)
	if errors.Is(err, os.ErrNotExist) {
		fd, err = d.mkdirAll(d.m.parent)
	}
	if err != nil {
		return -1, err
	}
	d.invalidate()
	d.cacheName, d.cacheFd = dir, fd
	return fd, nil
}

// mkdirAll creates the missing directories of dir, mode 0755, one
// component at a time, each resolved beneath the previous one without
// following any symlink.
func (d *disk) mkdirAll(dir string) (int, error) {
	cur := d.root
	rest := dir
	for rest != "" {
		var comp string
		if i := indexSlash(rest); i >= 0 {
			comp, rest = rest[:i], rest[i+1:]
		} else {
			comp, rest = rest, ""
		}
		err := unix.Mkdirat(cur, comp, 0o755)
		if err == nil {
			err = unix.Fchmodat(cur, comp, 0o755, 0) // fresh directory: undo the umask
		} else if err == unix.EEXIST {
			err = nil
		}
		var next int
		if err == nil {
			next, err = unix.Openat2(cur, comp, &unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: resolveFlags})
		}
		if cur != d.root {
			unix.Close(cur)
		}
		if err != nil {
			return -1, dirErr(dir, err)
		}
		cur = next
	}
	return cur, nil
}

func indexSlash(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return i
		}
	}
	return -1
}

func (d *disk) invalidate() {
	if d.cacheFd >= 0 {
		unix.Close(d.cacheFd)
	}
	d.cacheFd, d.cacheName = -1, ""
}

// forget makes the cached fd unusable for any name. The fd itself (which
// may be the caller's pfd) stays open until the cache is next filled.
func (d *disk) forget() { d.cacheName = "" }

// close waits for the writers and releases the cached fd and the buffer.
func (d *disk) close() {
	d.w.close()
	d.invalidate()
	if d.buf != nil {
		copyBufs.put(d.buf)
		d.buf = nil
	}
}

// place creates the new non-directory entry name with mk, which gets its
// parent directory (opened or created beneath the root) and its base name
// and must fail with EEXIST when anything is there, as every create call
// does (O_CREAT|O_EXCL, symlinkat, linkat, mknodat). Then clear removes what
// was there and mk runs again. It returns the parent and the base name.
//
// The name is new in the common case (a fresh staging tree), so trying mk
// first saves a stat per entry.
func (d *disk) place(name string, mk func(pfd int, base string) error) (pfd int, base string, err error) {
	dir, base := split(name)
	if pfd, err = d.parent(dir); err != nil {
		return -1, "", err
	}
	if err = mk(pfd, base); !errors.Is(err, unix.EEXIST) {
		return pfd, base, err
	}
	if _, err := d.clear(pfd, name, base, false); err != nil {
		return -1, "", err
	}
	return pfd, base, mk(pfd, base)
}

// clear removes whatever is at pfd/base (the entry name) unless it is a
// directory and keepDir is set, once the writes at it and below it are
// done. It reports whether a directory was kept.
func (d *disk) clear(pfd int, name, base string, keepDir bool) (bool, error) {
	var st unix.Stat_t
	err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW)
	if err == unix.ENOENT {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("stat %q: %w", base, err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		if keepDir {
			return true, nil
		}
		d.forget() // the cached parent may be this directory, or be reached through it
		d.w.waitUnder(join(d.m.parent, base))
		return false, removeAll(pfd, base)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		d.forget() // the cached parent may be reached through it
	}
	d.w.waitAt(join(d.m.parent, base))
	if err := unix.Unlinkat(pfd, base, 0); err != nil {
		return false, fmt.Errorf("removing %q: %w", base, err)
	}
	return false, nil
}

// removeAll removes pfd/base and everything below it without following a
// symlink or touching anything on another mount (see internal/rmtree).
func removeAll(pfd int, base string) error { return rmtree.RemoveAt(pfd, base) }

func perm(h *tar.Header) uint32 { return uint32(h.Mode) & 0o1777 }

func times(h *tar.Header) []unix.Timespec {
	ts := unix.Timespec{Sec: h.ModTime.Unix(), Nsec: int64(h.ModTime.Nanosecond())}
	return []unix.Timespec{ts, ts}
}
