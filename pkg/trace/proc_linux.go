package trace

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// maxPath bounds a path read from tracee memory (PATH_MAX).
const maxPath = 4096

var errPathTooLong = errors.New("path longer than PATH_MAX")

// readString reads a NUL-terminated string of at most maxPath bytes at addr
// in pid's memory, one page at a time so that a string ending just before
// an unmapped page reads.
func readString(pid int, addr uintptr) (string, error) {
	const page = 4096
	var buf []byte
	for len(buf) < maxPath {
		n := page - int(addr%page)
		chunk := make([]byte, n)
		got, err := unix.ProcessVMReadv(pid,
			[]unix.Iovec{{Base: &chunk[0], Len: uint64(n)}},
			[]unix.RemoteIovec{{Base: addr, Len: n}}, 0)
		if err != nil || got == 0 {
			if got, err = unix.PtracePeekData(pid, addr, chunk); err != nil || got == 0 {
				return "", fmt.Errorf("reading pid %d memory at %#x: %w", pid, addr, err)
			}
		}
		if i := bytes.IndexByte(chunk[:got], 0); i >= 0 {
			return string(append(buf, chunk[:i]...)), nil
		}
		buf = append(buf, chunk[:got]...)
		addr += uintptr(got)
	}
	return "", errPathTooLong
}

// readUint64 reads 8 bytes at addr in pid's memory.
func readUint64(pid int, addr uintptr) (uint64, error) {
	var b [8]byte
	if _, err := unix.PtracePeekData(pid, addr, b[:]); err != nil {
		return 0, err
	}
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56, nil
}

// procLink reads /proc/PID/NAME (cwd, exe, fd/N) and returns it as seen
// from root: the kernel prints it relative to jailimg's own root.
func procLink(pid int, name, root string) (string, error) {
	p, err := os.Readlink(fmt.Sprintf("/proc/%d/%s", pid, name))
	if err != nil {
		return "", err
	}
	p = strings.TrimSuffix(p, " (deleted)")
	return inRoot(p, root), nil
}

// inRoot turns a host path into the path seen from root. A path outside
// root (an inherited descriptor) is returned as is.
func inRoot(p, root string) string {
	switch {
	case root == "/":
		return p
	case p == root:
		return "/"
	case strings.HasPrefix(p, root+"/"):
		return p[len(root):]
	}
	return p
}

// absolute joins a path a tracee passed to the directory it is relative
// to: the cwd for AT_FDCWD, else the directory dirfd names.
func absolute(pid, dirfd int, p, root string) (string, error) {
	if path.IsAbs(p) {
		return path.Clean(p), nil
	}
	var base string
	var err error
	if dirfd == unix.AT_FDCWD {
		base, err = procLink(pid, "cwd", root)
	} else {
		base, err = procLink(pid, fmt.Sprintf("fd/%d", dirfd), root)
	}
	if err != nil {
		return "", err
	}
	if !path.IsAbs(base) { // e.g. "socket:[123]"
		return "", fmt.Errorf("dirfd %d is %q, not a directory", dirfd, base)
	}
	return path.Join(base, p), nil
}
