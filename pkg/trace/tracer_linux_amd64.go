//go:build linux && amd64

package trace

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// tracee is the tracer's state of one traced thread.
type tracee struct {
	started   bool    // its initial SIGSTOP was seen (or it is the first process)
	inSyscall bool    // between a syscall-entry and its syscall-exit stop
	pending   *Record // the call being made, if recorded
}

// tracer follows one command and its descendants.
type tracer struct {
	o    *options
	root string // host directory the command is chrooted into, "/" if none
	res  *Result

	mu    sync.Mutex // guards writes to procs, and reads from other goroutines
	procs map[int]*tracee
}

func trace(ctx context.Context, argv []string, o *options) (*Result, error) {
	// Every ptrace request must come from the thread that forked the tracee.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	pid, prog, release, err := start(argv, o)
	if err != nil {
		return nil, err
	}
	defer release()
	// The directory the kernel chrooted it into, as jailimg sees it.
	root, err := os.Readlink(fmt.Sprintf("/proc/%d/root", pid))
	if err != nil {
		kill(pid)
		return nil, fmt.Errorf("root of %s: %w", prog, err)
	}
	t := &tracer{o: o, root: root, res: &Result{Argv: argv, Root: root}, procs: map[int]*tracee{}}
	if err := t.first(pid, prog); err != nil {
		kill(pid)
		return nil, err
	}
	done := make(chan struct{})
	defer close(done)
	go t.stopWhenDone(ctx, done)
	if err := t.loop(pid); err != nil {
		t.killAll()
		return t.res, err
	}
	t.res.Stopped = ctx.Err() != nil
	return t.res, nil
}

// stopWhenDone stops the command once ctx is done, as a service manager
// stops a daemon: SIGTERM to every process, then, StopTimeout later,
// SIGKILL to those left. It returns when done is closed.
func (t *tracer) stopWhenDone(ctx context.Context, done <-chan struct{}) {
	select {
	case <-ctx.Done():
	case <-done:
		return
	}
	t.signalAll(unix.SIGTERM)
	timer := time.NewTimer(StopTimeout)
	defer timer.Stop()
	select {
	case <-timer.C:
		t.killAll()
	case <-done:
	}
}

// first sets the ptrace options on pid, stopped after its own execve, and
// records that exec, which happened before tracing began.
func (t *tracer) first(pid int, prog string) error {
	if err := unix.PtraceSetOptions(pid, ptraceOptions); err != nil {
		return fmt.Errorf("ptrace options on %s: %w", prog, err)
	}
	t.res.add(Record{PID: pid, Kind: Exec, Path: prog})
	t.procs[pid] = &tracee{started: true}
	return unix.PtraceSyscall(pid, 0)
}

// killAll kills every tracee.
func (t *tracer) killAll() { t.signalAll(unix.SIGKILL) }

// signalAll sends sig to every tracee.
func (t *tracer) signalAll(sig unix.Signal) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for pid := range t.procs {
		unix.Kill(pid, sig)
	}
}

func (t *tracer) set(pid int, p *tracee) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p == nil {
		delete(t.procs, pid)
	} else {
		t.procs[pid] = p
	}
}

// loop handles stops until every tracee has exited.
func (t *tracer) loop(rootPid int) error {
	for len(t.procs) > 0 {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WALL, nil)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.ECHILD):
			return nil
		case err != nil:
			return fmt.Errorf("wait4: %w", err)
		}
		switch {
		case ws.Exited() || ws.Signaled():
			t.exited(pid, ws, rootPid)
		case ws.Stopped():
			if err := t.stopped(pid, ws); err != nil {
				return err
			}
		}
	}
	return nil
}

// exited forgets a tracee that exited or was killed, keeping the root
// process's status.
func (t *tracer) exited(pid int, ws unix.WaitStatus, rootPid int) {
	if pid == rootPid {
		t.res.Status = ws.ExitStatus()
		if ws.Signaled() {
			t.res.Status = 128 + int(ws.Signal())
		}
	}
	t.set(pid, nil)
}

// stopped handles a tracee's stop and resumes it to its next system call,
// delivering the signal that stopped it unless the tracer caused the stop.
func (t *tracer) stopped(pid int, ws unix.WaitStatus) error {
	p := t.procs[pid]
	if p == nil {
		p = &tracee{}
		t.set(pid, p)
	}
	inject := 0
	switch sig := ws.StopSignal(); {
	case sig == unix.SIGTRAP|0x80:
		t.syscallStop(pid, p)
	case sig == unix.SIGTRAP && ws.TrapCause() > 0:
		t.event(pid, ws.TrapCause())
	case sig == unix.SIGSTOP && !p.started:
		p.started = true
	case isStopSignal(sig) && groupStop(pid):
		// resumed: the tracee runs on instead of staying stopped
	default:
		inject = int(sig)
	}
	if err := unix.PtraceSyscall(pid, inject); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("ptrace resume %d: %w", pid, err)
	}
	return nil
}

// event handles a PTRACE_EVENT stop.
func (t *tracer) event(pid, cause int) {
	msg, err := unix.PtraceGetEventMsg(pid)
	if err != nil {
		return
	}
	switch cause {
	case unix.PTRACE_EVENT_FORK, unix.PTRACE_EVENT_VFORK, unix.PTRACE_EVENT_CLONE:
		if t.procs[int(msg)] == nil {
			t.set(int(msg), &tracee{})
		}
	case unix.PTRACE_EVENT_EXEC:
		// A non-leader thread that execs takes the leader's pid.
		if former := int(msg); former != pid && t.procs[former] != nil {
			p := t.procs[former]
			t.set(former, nil)
			t.set(pid, p)
		}
	}
}

func isStopSignal(s unix.Signal) bool {
	return s == unix.SIGSTOP || s == unix.SIGTSTP || s == unix.SIGTTIN || s == unix.SIGTTOU
}

// groupStop reports whether a stop-signal stop is a group-stop (no siginfo)
// rather than the signal's delivery.
func groupStop(pid int) bool {
	var si [128]byte
	_, _, errno := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_GETSIGINFO, uintptr(pid), 0,
		uintptr(unsafePointer(&si[0])), 0, 0)
	return errno == unix.EINVAL
}
