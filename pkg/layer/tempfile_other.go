//go:build !linux

package layer

import "os"

// createTemp returns a read-write file in dir, unlinked right after it was
// created.
func createTemp(dir string) (*os.File, error) {
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

// reopen returns nil, nil: without /proc/self/fd, readers share the file
// through ReadAt.
func reopen(*os.File) (*os.File, error) { return nil, nil }
