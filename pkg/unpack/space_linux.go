package unpack

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// spaceCheck compares what an unpack still needs with the free space of the
// target's file system: before the first byte is written (so that a full
// partition fails at once, with the numbers) and again while writing.
type spaceCheck struct {
	fd   int    // the target directory
	abs  string // its path, for finding the mount point
	free int64  // bytes free when the unpack started
}

// newSpaceCheck reads the free space of the file system of tfd, the target
// abs, and refuses an image whose layers need more than that, at least
// (total is their compressed size, a lower bound of their size unpacked).
func newSpaceCheck(tfd int, abs string, total int64) (*spaceCheck, error) {
	s := &spaceCheck{fd: tfd, abs: abs}
	free, err := s.available()
	if err != nil {
		return nil, err
	}
	s.free = free
	if free < total {
		return nil, &SpaceError{Mount: s.mount(), Free: free, Need: total, Err: unix.ENOSPC}
	}
	return s, nil
}

// available returns the bytes the unpack may still write on the target's
// file system: root may use the blocks reserved for it.
func (s *spaceCheck) available() (int64, error) {
	var st unix.Statfs_t
	if err := unix.Fstatfs(s.fd, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", s.abs, err)
	}
	blocks := st.Bavail
	if os.Geteuid() == 0 {
		blocks = st.Bfree
	}
	size := st.Frsize
	if size <= 0 {
		size = st.Bsize
	}
	return int64(blocks) * size, nil
}

// check fails when less than need bytes are free.
func (s *spaceCheck) check(need int64) error {
	free, err := s.available()
	if err != nil {
		return err
	}
	if free < need {
		return &SpaceError{Mount: s.mount(), Free: s.free, Need: s.free - free + need, Err: unix.ENOSPC}
	}
	return nil
}

// explain turns a write that failed for want of space (ENOSPC, EDQUOT) into
// a *SpaceError with the numbers; other errors are returned as they are.
func (s *spaceCheck) explain(err error, b *budget) error {
	var se *SpaceError
	if errors.As(err, &se) || !errors.Is(err, unix.ENOSPC) && !errors.Is(err, unix.EDQUOT) {
		return err
	}
	return &SpaceError{Mount: s.mount(), Free: s.free, Need: b.written + b.remaining(), Err: err}
}

// mount returns the mount point of the target's file system: the longest
// mount point of that device above the target, else the target itself.
func (s *spaceCheck) mount() string {
	var st unix.Stat_t
	if err := unix.Fstat(s.fd, &st); err != nil {
		return s.abs
	}
	mounts, err := readMountinfo()
	if err != nil {
		return s.abs
	}
	path, err := filepath.EvalSymlinks(s.abs)
	if err != nil {
		path = s.abs
	}
	best := ""
	for _, m := range mounts {
		if m.Major != unix.Major(st.Dev) || m.Minor != unix.Minor(st.Dev) || len(m.Point) <= len(best) {
			continue
		}
		if m.Point == "/" || path == m.Point || strings.HasPrefix(path, m.Point+"/") {
			best = m.Point
		}
	}
	if best == "" {
		return s.abs
	}
	return best
}
