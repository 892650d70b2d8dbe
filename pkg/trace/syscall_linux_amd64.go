package trace

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// call is a decoded system call on a path, before its result is known.
type call struct {
	kind    Kind
	dirfd   int
	pathArg uintptr
	flags   uint64 // open flags
	atFlags uint64 // AT_* flags
}

// writeFlags are the open flags that make an open a write.
const writeFlags = unix.O_WRONLY | unix.O_RDWR | unix.O_CREAT | unix.O_TRUNC | unix.O_APPEND

// decode returns the call a syscall-entry stop is making, and false for a
// system call that does not take a path the tracer records.
func decode(pid int, r *unix.PtraceRegs) (call, bool, error) {
	fd := func(v uint64) int { return int(int32(v)) }
	cwd := unix.AT_FDCWD
	var c call
	switch r.Orig_rax {
	case unix.SYS_OPEN:
		c = call{kind: Open, dirfd: cwd, pathArg: uintptr(r.Rdi), flags: r.Rsi}
	case unix.SYS_CREAT:
		c = call{kind: Open, dirfd: cwd, pathArg: uintptr(r.Rdi), flags: unix.O_CREAT | unix.O_WRONLY | unix.O_TRUNC}
	case unix.SYS_OPENAT:
		c = call{kind: Open, dirfd: fd(r.Rdi), pathArg: uintptr(r.Rsi), flags: r.Rdx}
	case unix.SYS_OPENAT2: // struct open_how starts with the u64 flags
		flags, err := readUint64(pid, uintptr(r.Rdx))
		if err != nil {
			return c, false, fmt.Errorf("reading open_how: %w", err)
		}
		c = call{kind: Open, dirfd: fd(r.Rdi), pathArg: uintptr(r.Rsi), flags: flags}
	case unix.SYS_EXECVE:
		c = call{kind: Exec, dirfd: cwd, pathArg: uintptr(r.Rdi)}
	case unix.SYS_EXECVEAT:
		c = call{kind: Exec, dirfd: fd(r.Rdi), pathArg: uintptr(r.Rsi), atFlags: r.R8}
	case unix.SYS_STAT, unix.SYS_LSTAT:
		c = call{kind: Stat, dirfd: cwd, pathArg: uintptr(r.Rdi)}
	case unix.SYS_NEWFSTATAT:
		c = call{kind: Stat, dirfd: fd(r.Rdi), pathArg: uintptr(r.Rsi), atFlags: r.R10}
	case unix.SYS_STATX:
		c = call{kind: Stat, dirfd: fd(r.Rdi), pathArg: uintptr(r.Rsi), atFlags: r.Rdx}
	case unix.SYS_ACCESS:
		c = call{kind: Access, dirfd: cwd, pathArg: uintptr(r.Rdi)}
	case unix.SYS_FACCESSAT:
		c = call{kind: Access, dirfd: fd(r.Rdi), pathArg: uintptr(r.Rsi)}
	case unix.SYS_FACCESSAT2:
		c = call{kind: Access, dirfd: fd(r.Rdi), pathArg: uintptr(r.Rsi), atFlags: r.R10}
	case unix.SYS_READLINK:
		c = call{kind: Readlink, dirfd: cwd, pathArg: uintptr(r.Rdi)}
	case unix.SYS_READLINKAT:
		c = call{kind: Readlink, dirfd: fd(r.Rdi), pathArg: uintptr(r.Rsi)}
	case unix.SYS_MKDIR:
		c = call{kind: Mkdir, dirfd: cwd, pathArg: uintptr(r.Rdi)}
	case unix.SYS_MKDIRAT:
		c = call{kind: Mkdir, dirfd: fd(r.Rdi), pathArg: uintptr(r.Rsi)}
	case unix.SYS_CHDIR:
		c = call{kind: Chdir, dirfd: cwd, pathArg: uintptr(r.Rdi)}
	default:
		return c, false, nil
	}
	return c, true, nil
}

// ret is the return value at a syscall-exit stop.
func ret(r *unix.PtraceRegs) int64 { return int64(r.Rax) }
