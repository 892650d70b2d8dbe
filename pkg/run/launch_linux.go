package run

import (
	"context"
	"fmt"
	"os"
)

// Launch is a service prepared to start in its jail by a caller that forks
// and waits for it itself: a tracer (package trace). It goes through the
// same init, spec and setup sequence as Run.
type Launch struct {
	s *spec
	o *options
	c *child
}

// Prepare resolves target and opts into a Launch, as Run does, without
// starting anything. WithPidfile and WithTTY do not apply to a Launch, and
// the streams of WithStdio must be files (or nil, for /dev/null): nothing
// copies them, since the caller, not os/exec, waits for the init.
func Prepare(target string, opts ...Option) (*Launch, error) {
	o := makeOptions(opts)
	for _, f := range []any{o.stdin, o.stdout, o.stderr} {
		if _, ok := f.(*os.File); !ok && f != nil {
			return nil, &LaunchError{Code: ExitLaunch, Err: fmt.Errorf("prepare: stdio %T: want an *os.File", f)}
		}
	}
	s, err := resolveTarget(target, o)
	if err != nil {
		return nil, &LaunchError{Code: ExitLaunch, Err: err}
	}
	s.Traced = true
	return &Launch{s: s, o: o}, nil
}

// Root returns the host directory the jail's init chroots into.
func (l *Launch) Root() string { return l.s.Root }

// StartTraced starts the jail's init from the calling OS thread, which must
// be locked to its goroutine (runtime.LockOSThread) and becomes the
// service's tracer: the init performs every step Run's does and calls
// PTRACE_TRACEME right before it loads seccomp and execs the service. It
// returns the init's pid at once; the caller waits for it (wait4, __WALL):
// a SIGTRAP stop is the service's exec, a stop with another signal is that
// signal's delivery (resume it with the signal), and an exit means the init
// failed. Then Verdict says which.
func (l *Launch) StartTraced() (int, error) {
	if l.c != nil {
		return 0, fmt.Errorf("jail %s: launch already started", l.s.Root)
	}
	// No context: the caller, which reaps the init itself, also kills it.
	c, err := spawn(context.Background(), l.s, l.o, nil)
	if err != nil {
		return 0, err
	}
	l.c = c
	pid := c.cmd.Process.Pid
	c.send(l.s)
	return pid, nil
}

// Verdict reads the init's report, once the caller has seen it stop at
// the service's exec or exit: the program exec'd (as the jail sees it), or
// a *LaunchError with the init's failure. Warnings go to the logger.
func (l *Launch) Verdict() (string, error) {
	if l.c == nil {
		return "", fmt.Errorf("jail %s: launch not started", l.s.Root)
	}
	v := l.c.verdict(l.o)
	// The caller reaps the init; drop os/exec's handle on it.
	_ = l.c.cmd.Process.Release()
	switch {
	case v.err != nil:
		return "", v.err
	case !v.started:
		return "", &LaunchError{Code: ExitLaunch, Err: fmt.Errorf("jail init %s did not start (does its main call run.Main first?)", l.o.initPath)}
	}
	return v.exec, nil
}
