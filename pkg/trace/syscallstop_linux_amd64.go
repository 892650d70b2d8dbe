//go:build linux && amd64

package trace

import (
	"fmt"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

func unsafePointer(b *byte) unsafe.Pointer { return unsafe.Pointer(b) }

// syscallStop handles a syscall-entry or syscall-exit stop of pid.
func (t *tracer) syscallStop(pid int, p *tracee) {
	var regs unix.PtraceRegs
	if err := unix.PtraceGetRegs(pid, &regs); err != nil {
		return // killed meanwhile
	}
	if !p.inSyscall {
		p.inSyscall, p.pending = true, nil
		c, ok, err := decode(pid, &regs)
		if err != nil {
			t.o.logger.Debug("decoding system call", "pid", pid, "nr", regs.Orig_rax, "err", err)
		}
		if ok {
			p.pending = t.entry(pid, c)
		}
		return
	}
	p.inSyscall = false
	rec := p.pending
	p.pending = nil
	if rec == nil {
		return
	}
	if r := ret(&regs); r < 0 && r > -4096 {
		if r <= -512 && r >= -516 { // ERESTART*: the call is restarted
			return
		}
		rec.Errno = errnoName(syscall.Errno(-r))
	}
	t.res.add(*rec)
}

// entry reads the path a call is about to use and returns its record, or
// nil when there is nothing to record.
func (t *tracer) entry(pid int, c call) *Record {
	if c.pathArg == 0 {
		return nil
	}
	p, err := readString(pid, c.pathArg)
	if err != nil {
		t.o.logger.Debug("reading path", "pid", pid, "err", err)
		return nil
	}
	if p == "" {
		if c.kind != Exec || c.atFlags&unix.AT_EMPTY_PATH == 0 || c.dirfd < 0 {
			return nil // a call on the descriptor itself (fstat) or ENOENT
		}
		if p, err = procLink(pid, fmt.Sprintf("fd/%d", c.dirfd), t.root); err != nil {
			return nil
		}
	}
	abs, err := absolute(pid, c.dirfd, p, t.root)
	if err != nil {
		t.o.logger.Debug("resolving path", "pid", pid, "path", p, "err", err)
		return nil
	}
	exe, _ := procLink(pid, "exe", t.root)
	rec := &Record{PID: pid, Exe: exe, Kind: c.kind, Path: abs}
	if c.kind == Open {
		rec.Write = c.flags&writeFlags != 0
		rec.Directory = c.flags&unix.O_DIRECTORY != 0
	}
	return rec
}

// errnoName is "ENOENT" for ENOENT, or "errno N" for an unnamed one.
func errnoName(e syscall.Errno) string {
	if n := unix.ErrnoName(e); n != "" {
		return n
	}
	return fmt.Sprintf("errno %d", int(e))
}
