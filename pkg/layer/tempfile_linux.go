package layer

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// Test hooks: the fallbacks taken on kernels and file systems without
// O_TMPFILE and on hosts without /proc.
var (
	useTmpfile = true
	procSelfFD = "/proc/self/fd/"
)

// createTemp returns a read-write file in dir that has no name: an
// O_TMPFILE file (O_EXCL: it can never be linked in), else a file
// unlinked right after it was created.
func createTemp(dir string) (*os.File, error) {
	if useTmpfile {
		for {
			fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_EXCL|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
			if err == unix.EINTR {
				continue
			}
			if err == nil {
				return os.NewFile(uintptr(fd), filepath.Join(dir, "(layer blob)")), nil
			}
			// EISDIR: the kernel has no O_TMPFILE; EOPNOTSUPP: the file system.
			if !errors.Is(err, unix.EOPNOTSUPP) && !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.EINVAL) {
				return nil, err
			}
			break
		}
	}
	f, err := os.CreateTemp(dir, ".jailimg-layer-*")
	if err != nil {
		return nil, err
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// reopen opens f's file again through /proc/self/fd: a new open file
// description, with an offset of its own. It returns nil, nil when /proc
// cannot do that (not mounted, or not this process's), and an error when
// f is closed.
func reopen(f *os.File) (*os.File, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var r *os.File
	// Control holds the descriptor open, so a concurrent Close or the
	// finalizer cannot free its number for another file meanwhile.
	if err := rc.Control(func(fd uintptr) {
		r, _ = os.Open(procSelfFD + strconv.FormatUint(uint64(fd), 10))
	}); err != nil {
		return nil, err
	}
	if r == nil {
		return nil, nil
	}
	a, errA := f.Stat()
	b, errB := r.Stat()
	if errA != nil || errB != nil || !os.SameFile(a, b) || !b.Mode().IsRegular() {
		r.Close()
		return nil, nil
	}
	return r, nil
}
