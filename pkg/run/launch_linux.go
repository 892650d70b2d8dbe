package run

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/jailimg/jailimg/pkg/run/syslog"
)

// Launch is a service prepared to start in its jail for a caller that
// traces it (package trace). It goes through the same init, spec, mounts
// and setup sequence as Run; the service child waits, right before it
// loads seccomp and execs the service, for the caller to attach.
type Launch struct {
	s     *spec
	o     *options
	c     *child
	relay *syslog.Relay
	exec  string
}

// Prepare resolves target and opts into a Launch, as Run does, without
// starting anything. WithPidfile and WithTTY do not apply to a Launch, and
// the streams of WithStdio must be files (or nil, for /dev/null): os/exec
// copies only those relayed (see WithStdio), until Close.
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

// Root returns the host directory of the jail's rootfs.
func (l *Launch) Root() string { return l.s.Root }

// Start starts the jail's init, which sets the jail up and starts the
// service child; it returns the child's host pid once the child has done
// every step of Run's sequence but loading seccomp and exec'ing the
// service, and waits. The caller attaches to it (PTRACE_SEIZE, with
// PTRACE_O_TRACEEXEC) and calls Resume; the child's next stop is the
// service's exec, or its end when the exec fails (then Verdict says why).
// A failure before that is returned as a *LaunchError.
func (l *Launch) Start() (int, error) {
	if l.c != nil {
		return 0, fmt.Errorf("jail %s: launch already started", l.s.Root)
	}
	relay, err := listenSyslog(l.s, l.o)
	if err != nil {
		return 0, &LaunchError{Code: ExitLaunch, Err: err}
	}
	l.relay = relay
	// No context: Close ends the jail.
	c, err := spawn(context.Background(), l.s, l.o, nil, relay, true)
	if err != nil {
		l.Close()
		return 0, err
	}
	l.c = c
	c.send(l.s)
	v := c.st.verdict(true)
	if relay != nil {
		_ = relay.Unlink()
	}
	l.exec = v.exec
	var pid int
	switch {
	case v.err != nil:
		err = v.err
	case !v.started:
		err = &LaunchError{Code: ExitLaunch, Err: fmt.Errorf("jail init %s did not start (does its main call run.Main first?)", l.o.initPath)}
	case !v.attach:
		err = &LaunchError{Code: ExitLaunch, Err: errors.New("the service child ended before its tracer attached")}
	default:
		pid, err = childOf(c.cmd.Process.Pid)
	}
	if err != nil {
		l.Close()
		return 0, err
	}
	return pid, nil
}

// Resume lets the service child go on to seccomp and exec.
func (l *Launch) Resume() error {
	if l.c == nil || l.c.goW == nil {
		return fmt.Errorf("jail %s: nothing to resume", l.s.Root)
	}
	_, err := l.c.goW.Write([]byte{1})
	l.c.goW.Close()
	l.c.goW = nil
	return err
}

// Verdict reads the init's report, once the caller has seen the service
// child stop at its exec or end: the program exec'd (as the jail sees
// it), or a *LaunchError with the child's failure. Warnings go to the
// logger.
func (l *Launch) Verdict() (string, error) {
	if l.c == nil {
		return "", fmt.Errorf("jail %s: launch not started", l.s.Root)
	}
	v := l.c.st.verdict(false)
	if v.err != nil {
		return "", v.err
	}
	return l.exec, nil
}

// Close ends the launch: the service child is let go (failing, when it
// was never resumed), the init is waited for (it ends with the service
// child; the caller may have reaped it already), and the syslog relay
// stops.
func (l *Launch) Close() {
	if l.c != nil {
		if l.c.goW != nil {
			l.c.goW.Close()
			l.c.goW = nil
		}
		l.c.specW.Close()
		_ = l.c.cmd.Wait() // ECHILD when the caller's wait4(-1) reaped it
		l.c.st.drain()
		l.c.statR.Close()
	}
	if l.relay != nil {
		l.relay.Close()
	}
}
