// Package readfile reads the small files jailimg takes as input — recipes,
// fragments, a jail's /etc/passwd, a dpkg database — which may be hostile:
// only regular files, never blocking on a FIFO, never more than a limit.
package readfile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Open opens name for reading without blocking on a FIFO (O_NONBLOCK) or
// making a terminal the process's (O_NOCTTY); Regular then refuses both.
func Open(name string) (*os.File, error) {
	return os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
}

// Regular reads all of f, which must be a regular file of at most limit
// bytes. Its errors do not name the file: callers add that.
func Regular(f fs.File, limit int64) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (mode %s)", fi.Mode())
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return data, nil
}
