package trace

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/jailimg/jailimg/pkg/passwd"
	"github.com/jailimg/jailimg/pkg/run"
)

// ptraceOptions follow every process and thread, stop at each exec and
// system call, and kill the tracees should the tracer die.
const ptraceOptions = unix.PTRACE_O_TRACESYSGOOD | unix.PTRACE_O_TRACEFORK | unix.PTRACE_O_TRACEVFORK |
	unix.PTRACE_O_TRACECLONE | unix.PTRACE_O_TRACEEXEC | unix.PTRACE_O_EXITKILL

// start starts argv traced from the calling, locked thread and returns its
// pid, stopped at its exec, the program it exec'd as it sees it, and what
// to call once the trace is over.
func start(argv []string, o *options) (int, string, func(), error) {
	if o.root != "" {
		return startJail(argv, o)
	}
	pid, prog, err := startHost(argv, o)
	return pid, prog, func() {}, err
}

// startJail starts argv in the jail o.root through package run's init, so
// that it is confined exactly as `jailimg run` confines a service: the
// tracer attaches (PTRACE_SEIZE) to the service child, run's last step
// before it loads seccomp and execs, and lets it go on.
func startJail(argv []string, o *options) (int, string, func(), error) {
	opts := []run.Option{run.WithEntrypoint(nil), run.WithCommand(argv), run.WithLogger(o.logger),
		run.WithStdio(reader(o.stdin), writer(o.stdout), writer(o.stderr))}
	if o.user != "" {
		opts = append(opts, run.WithUser(o.user))
	}
	if o.allowRoot {
		opts = append(opts, run.WithAllowRoot())
	}
	l, err := run.Prepare(o.root, append(opts, o.run...)...)
	if err != nil {
		return 0, "", nil, err
	}
	pid, err := l.Start()
	if err != nil {
		return 0, "", nil, err
	}
	stopped, err := seizeAndResume(l, pid)
	if err != nil {
		kill(pid)
		l.Close()
		return 0, "", nil, err
	}
	prog, err := l.Verdict()
	if err == nil && !stopped {
		err = fmt.Errorf("jail %s: the service ended before it exec'd %s", l.Root(), argv[0])
	}
	if err != nil {
		if stopped {
			kill(pid)
		}
		l.Close()
		return 0, "", nil, err
	}
	return pid, prog, l.Close, nil
}

// seizeAndResume attaches to the waiting service child, lets it go on and
// waits for its exec (true) or its end (false).
func seizeAndResume(l *run.Launch, pid int) (bool, error) {
	if _, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(pid), 0, ptraceOptions, 0, 0); e != 0 {
		return false, fmt.Errorf("ptrace(PTRACE_SEIZE, %d): %w", pid, e)
	}
	if err := l.Resume(); err != nil {
		return false, err
	}
	stopped, err := waitExec(pid)
	if err != nil || !stopped {
		return stopped, err
	}
	return true, leaveExec(pid)
}

// leaveExec takes a seized tracee stopped at its exec event, inside
// execve, to the exit of that call: where a PTRACE_TRACEME tracee's first
// stop is, so that the tracer's next stop is the entry of the next call.
func leaveExec(pid int) error {
	sig := 0
	for {
		if err := unix.PtraceSyscall(pid, sig); err != nil {
			return fmt.Errorf("resuming pid %d: %w", pid, err)
		}
		var ws unix.WaitStatus
		if _, err := unix.Wait4(pid, &ws, unix.WALL, nil); errors.Is(err, unix.EINTR) {
			continue
		} else if err != nil {
			return fmt.Errorf("waiting for pid %d: %w", pid, err)
		}
		switch {
		case ws.Exited() || ws.Signaled():
			return fmt.Errorf("pid %d ended in its exec", pid)
		case ws.Stopped() && ws.StopSignal() == unix.SIGTRAP|0x80:
			return nil
		case ws.Stopped():
			sig = int(ws.StopSignal())
		}
	}
}

// startHost starts argv on the host, in jailimg's working directory and
// environment and a new session, as jailimg's own user or, with o.user, as
// that user of the host with the supplementary groups run would give it.
func startHost(argv []string, o *options) (int, string, error) {
	dir, err := filepath.Abs(".")
	if err != nil {
		return 0, "", err
	}
	env := os.Environ()
	prog, err := lookPath(argv[0], dir, env)
	if err != nil {
		return 0, "", err
	}
	sys := &syscall.SysProcAttr{Ptrace: true, Setsid: true}
	if o.user != "" {
		if sys.Credential, err = hostCredential(o.user, o.allowRoot); err != nil {
			return 0, "", err
		}
	}
	fds, closeFds, err := stdio(o.stdin, o.stdout, o.stderr)
	if err != nil {
		return 0, "", err
	}
	defer closeFds()
	pid, err := syscall.ForkExec(prog, argv, &syscall.ProcAttr{Dir: dir, Env: env, Files: fds, Sys: sys})
	if err != nil {
		return 0, "", fmt.Errorf("starting %s: %w", prog, err)
	}
	stopped, err := waitExec(pid)
	if err == nil && !stopped {
		err = fmt.Errorf("%s did not stop after exec", prog)
	}
	if err != nil {
		kill(pid)
		return 0, "", err
	}
	return pid, prog, nil
}

// hostCredential looks spec up in the host's /etc/passwd and /etc/group as
// run looks a user up in a jail, refusing uid 0 unless allowRoot.
func hostCredential(spec string, allowRoot bool) (*syscall.Credential, error) {
	r, err := passwd.OpenRoot("/")
	if err != nil {
		return nil, err
	}
	defer r.Close()
	u, err := passwd.Lookup(r.Open, spec)
	if err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}
	if u.UID == 0 && !allowRoot {
		return nil, &run.LaunchError{Code: run.ExitLaunch, Err: run.ErrRoot}
	}
	return &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: append([]uint32{}, u.Groups...)}, nil
}

// waitExec waits for pid, traced since before its exec, to stop at that
// exec (a SIGTRAP stop: true) or to end (false). A stop with another signal
// is that signal's delivery before the exec: it is passed on.
func waitExec(pid int) (bool, error) {
	for {
		var ws unix.WaitStatus
		_, err := unix.Wait4(pid, &ws, unix.WALL, nil)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return false, fmt.Errorf("waiting for pid %d: %w", pid, err)
		case ws.Exited() || ws.Signaled():
			return false, nil
		case ws.Stopped() && ws.StopSignal() == unix.SIGTRAP:
			return true, nil
		case ws.Stopped():
			if err := unix.PtraceCont(pid, int(ws.StopSignal())); err != nil {
				return false, fmt.Errorf("resuming pid %d: %w", pid, err)
			}
		}
	}
}

// kill kills pid and reaps it.
func kill(pid int) {
	unix.Kill(pid, unix.SIGKILL)
	unix.Wait4(pid, nil, unix.WALL, nil)
}

// lookPath finds the program to run on the host: a name with a slash is
// taken relative to dir, a bare name is searched in the PATH of env.
func lookPath(name, dir string, env []string) (string, error) {
	if path.IsAbs(name) {
		return path.Clean(name), nil
	}
	if strings.Contains(name, "/") {
		return path.Join(dir, name), nil
	}
	search := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			search = v
		}
	}
	for _, d := range filepath.SplitList(search) {
		if !path.IsAbs(d) {
			continue
		}
		cand := path.Join(d, name)
		if fi, err := os.Stat(cand); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return cand, nil
		}
	}
	return "", fmt.Errorf("%s: %w", name, syscall.ENOENT)
}

// stdio returns the descriptors for the child's stdin, stdout and stderr,
// opening /dev/null for nil files; close releases what it opened.
func stdio(files ...*os.File) (fds []uintptr, close func(), err error) {
	var opened []*os.File
	close = func() {
		for _, f := range opened {
			f.Close()
		}
	}
	for _, f := range files {
		if f == nil {
			if f, err = os.OpenFile(os.DevNull, os.O_RDWR, 0); err != nil {
				close()
				return nil, nil, err
			}
			opened = append(opened, f)
		}
		fds = append(fds, f.Fd())
	}
	return fds, close, nil
}

// reader and writer turn a nil *os.File into a nil interface (run opens
// /dev/null for it), not an interface holding a nil pointer.
func reader(f *os.File) io.Reader {
	if f == nil {
		return nil
	}
	return f
}

func writer(f *os.File) io.Writer {
	if f == nil {
		return nil
	}
	return f
}
