package layout

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// lockLayout takes the write lock of the layout directory dir and returns
// the function that releases it. It waits while another writer, in this
// process or another, holds the lock, until ctx is done.
//
// The lock is an exclusive flock on DIR.lock, a file beside dir in its
// parent directory, created (mode 0600) on first use and never removed.
// It cannot be dir itself: a writer exchanges dir with its updated copy by
// rename, so a lock on the directory would stay with the old copy, and a
// writer waiting on it would then work on a layout no longer at dir. A
// name beside dir is not moved by the swap. Nor is it the parent
// directory: that would serialize every layout sharing a parent, and any
// user who can read the parent could hold it. Creating DIR.lock needs no
// permission a writer lacks, since it makes its staging copy in the same
// parent; mode 0600 keeps other users from opening it to hold the lock.
// Removing the file would let a writer lock an unlinked file while the next
// one locks a new file of the same name, so it stays.
//
// A symlink, FIFO or anything else that is not a regular file at DIR.lock
// is refused, without following or blocking on it.
func lockLayout(ctx context.Context, dir string) (unlock func(), err error) {
	name := lockName(dir)
	f, err := os.OpenFile(name, os.O_RDONLY|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0o600)
	if errors.Is(err, syscall.ELOOP) {
		err = fmt.Errorf("lock file %s is a symlink; refusing to follow it", name)
	}
	if err != nil {
		return nil, fmt.Errorf("locking layout %s: %w", dir, err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = fmt.Errorf("lock file %s is not a regular file (%s)", name, fi.Mode().Type())
		}
		return nil, fmt.Errorf("locking layout %s: %w", dir, err)
	}
	unlock = func() { f.Close() } // closing the only descriptor releases the flock
	fd := int(f.Fd())
	if err := flock(fd, unix.LOCK_EX|unix.LOCK_NB); err == nil {
		return unlock, nil
	} else if !errors.Is(err, unix.EWOULDBLOCK) {
		f.Close()
		return nil, fmt.Errorf("locking layout %s: %s: %w", dir, name, err)
	}
	// Another writer holds it: wait in a blocking flock, which a canceled
	// ctx cannot interrupt; on cancel the wait goes on in the background
	// and lets go of the lock as soon as it gets it.
	done := make(chan error, 1)
	go func() { done <- flock(fd, unix.LOCK_EX) }()
	select {
	case err := <-done:
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("locking layout %s: %s: %w", dir, name, err)
		}
		return unlock, nil
	case <-ctx.Done():
		go func() { <-done; f.Close() }()
		return nil, ctx.Err()
	}
}

// lockName is the lock file of the layout at dir: DIR.lock, beside it.
func lockName(dir string) string {
	return filepath.Clean(dir) + ".lock"
}

// flock is unix.Flock, retried when a signal interrupts it.
func flock(fd, how int) error {
	for {
		if err := unix.Flock(fd, how); !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}
