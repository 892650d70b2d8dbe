package passwd

import (
	"os"

	"golang.org/x/sys/unix"
)

// Root is a jail tree whose files Open finds as the jail would.
type Root struct{ f *os.File }

// OpenRoot opens dir as the root of a jail tree.
func OpenRoot(dir string) (*Root, error) {
	f, err := os.OpenFile(dir, os.O_RDONLY|unix.O_DIRECTORY|unix.O_PATH, 0)
	if err != nil {
		return nil, err
	}
	return &Root{f: f}, nil
}

// Close releases the root.
func (r *Root) Close() error { return r.f.Close() }

// Open opens name as a process chrooted into the root would see it:
// absolute symbolic links resolve inside the root and ".." stops at it
// (openat2 RESOLVE_IN_ROOT), magic links of /proc are refused. It never
// blocks on a FIFO. It is an Opener.
func (r *Root) Open(name string) (*os.File, error) {
	how := unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_NONBLOCK | unix.O_NOCTTY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	var err error
	for range 16 { // EAGAIN: a rename in the tree raced the lookup
		var fd int
		if fd, err = unix.Openat2(int(r.f.Fd()), name, &how); err == nil {
			return os.NewFile(uintptr(fd), name), nil
		}
		if err != unix.EINTR && err != unix.EAGAIN {
			break
		}
	}
	return nil, &os.PathError{Op: "open", Path: name, Err: err}
}
