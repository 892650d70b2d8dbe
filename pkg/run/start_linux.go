package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jailimg/jailimg/pkg/run/pty"
	"github.com/jailimg/jailimg/pkg/run/syslog"
)

// forwarded are the signals Run passes on to the jail's init, which passes
// them on to the service.
var forwarded = []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2,
	syscall.SIGQUIT, syscall.SIGWINCH}

// signalsFor is what Run forwards: with a pty, the service's own terminal
// already signals a window size change, after it has happened.
func signalsFor(o *options) []os.Signal {
	if o.tty != nil {
		return forwarded[:len(forwarded)-1]
	}
	return forwarded
}

// Run starts the service of target (a bundle directory or a plain jail
// directory) in its jail: jailimg re-executes itself as the jail's init,
// in new mount, pid and IPC namespaces and a new session, which sets up
// the jail's mounts and starts the service child, which chroots, drops
// privileges, confines itself and execs the service. Run forwards SIGTERM,
// SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGQUIT and SIGWINCH to the init, which
// forwards them to the service, and waits for it. Warnings about kernel
// features the service runs without go to the logger.
//
// It returns nil when the service exits 0, an *ExitError when it ends
// otherwise, and a *LaunchError (or another error) when it could not be
// started; ExitCode maps each to jailimg's exit status. Cancelling ctx
// kills the jail.
func Run(ctx context.Context, target string, opts ...Option) error {
	o := makeOptions(opts)
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, signalsFor(o)...)
	defer signal.Stop(sigs)
	p, err := startWith(ctx, target, o)
	if err != nil {
		return err
	}
	go func() {
		for {
			select {
			case s := <-sigs:
				_ = p.Signal(s)
			case <-p.done:
				return
			}
		}
	}()
	return p.Wait()
}

// process is a service running in its jail.
type process struct {
	cmd     *exec.Cmd
	st      *statusReader
	statR   *os.File
	pidfile string
	tty     *pty.Pty
	relay   *syslog.Relay
	once    sync.Once
	done    chan struct{}
	err     error
}

// Pid returns the host pid of the jail's init, the service's parent.
func (p *process) Pid() int { return p.cmd.Process.Pid }

// servicePid returns the host pid of the service: the init's child.
func (p *process) servicePid() (int, error) { return childOf(p.Pid()) }

// Signal sends sig to the jail's init, which passes it on to the service.
func (p *process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Wait waits for the jail to end, ends the pty relay (restoring the
// operator's terminal) and the syslog relay, and removes the pidfile. It
// returns nil for exit status 0, else an *ExitError. It may be called more
// than once.
func (p *process) Wait() error {
	p.once.Do(func() {
		werr := p.cmd.Wait()
		p.st.drain()
		p.statR.Close()
		switch {
		case p.st.exit != nil:
			p.err = p.st.exit.err()
		case werr == nil:
			p.err = &LaunchError{Code: ExitLaunch, Err: errors.New("the jail's init ended without the service's status")}
		default:
			p.err = exitError(werr)
		}
		if p.tty != nil {
			_ = p.tty.Close() // the service's status matters more than the terminal's
		}
		if p.relay != nil {
			_ = p.relay.Close()
		}
		if p.pidfile != "" {
			if b, err := os.ReadFile(p.pidfile); err == nil && string(b) == strconv.Itoa(p.Pid())+"\n" {
				os.Remove(p.pidfile)
			}
		}
		close(p.done)
	})
	return p.err
}

// exitError is the status of an init that ended without reporting one:
// killed (by Run's context, or by SIGKILL from outside).
func exitError(err error) error {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return err
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok {
		return statusOf(ws).err()
	}
	return &ExitError{Code: ee.ExitCode()}
}

// start launches the service of target in its jail and returns once the
// service runs, as Run describes. It fails with a *LaunchError carrying
// ExitLaunch, ExitCannotExec or ExitNotFound.
func start(ctx context.Context, target string, opts ...Option) (*process, error) {
	return startWith(ctx, target, makeOptions(opts))
}

func startWith(ctx context.Context, target string, o *options) (*process, error) {
	s, err := resolveTarget(target, o)
	if err != nil {
		return nil, &LaunchError{Code: ExitLaunch, Err: err}
	}
	var tty *pty.Pty
	if o.tty != nil {
		s.TTY = true
		if tty, err = pty.New(o.tty); err != nil {
			return nil, &LaunchError{Code: ExitLaunch, Err: fmt.Errorf("tty: %w", err)}
		}
	}
	relay, err := listenSyslog(s, o)
	if err != nil {
		closeAll(tty, relay)
		return nil, &LaunchError{Code: ExitLaunch, Err: err}
	}
	c, err := spawn(ctx, s, o, tty, relay, false)
	if err != nil {
		closeAll(tty, relay)
		return nil, err
	}
	p := &process{cmd: c.cmd, st: c.st, statR: c.statR, tty: tty, relay: relay, done: make(chan struct{})}
	// The init waits for its spec before it does anything, so the pidfile
	// names it before the service runs.
	if o.pidfile != "" {
		if err := writePidfile(o.pidfile, p.Pid()); err != nil {
			c.abandon()
			_ = p.Signal(syscall.SIGKILL)
			_ = p.Wait()
			return nil, &LaunchError{Code: ExitLaunch, Err: err}
		}
		p.pidfile = o.pidfile
	}
	c.send(s)
	return p, p.started(c.st.verdict(false), o)
}

// started checks the verdict on a start and starts the pty relay; on
// failure the jail is gone when it returns.
func (p *process) started(v verdict, o *options) error {
	if p.relay != nil {
		_ = p.relay.Unlink() // bound in the jail by now, or never
	}
	if v.err == nil && !v.started {
		werr := p.Wait()
		return &LaunchError{Code: ExitLaunch, Err: fmt.Errorf("jail init %s did not start (does its main call run.Main first?): %v", o.initPath, werr)}
	}
	if v.err == nil && p.tty != nil {
		if err := p.tty.Start(o.stdout); err != nil {
			_ = p.Signal(syscall.SIGKILL)
			v.err = &LaunchError{Code: ExitLaunch, Err: fmt.Errorf("tty: %w", err)}
		}
	}
	if v.err != nil {
		_ = p.Signal(syscall.SIGKILL)
		_ = p.Wait()
		return v.err
	}
	return nil
}

// closeAll releases what a failed start opened.
func closeAll(tty *pty.Pty, relay *syslog.Relay) {
	if tty != nil {
		tty.Close()
	}
	if relay != nil {
		relay.Close()
	}
}

// listenSyslog starts the relay of the jail's /dev/log when s asks for one.
func listenSyslog(s *spec, o *options) (*syslog.Relay, error) {
	if !s.Syslog {
		return nil, nil
	}
	opts := []syslog.Option{syslog.WithLogger(o.logger), syslog.WithFallback(o.stderr)}
	if o.syslogRate != 0 {
		opts = append(opts, syslog.WithRate(o.syslogRate))
	}
	if o.syslogDest != "" {
		opts = append(opts, syslog.WithDestination(o.syslogDest))
	}
	r, err := syslog.Listen(cmpName(s.Name), opts...)
	if err != nil {
		return nil, fmt.Errorf("run.syslog: %w", err)
	}
	go func() {
		if err := r.Serve(); err != nil {
			o.logger.Warn("syslog relay stopped", "err", err)
		}
	}()
	return r, nil
}

// cmpName is the jail's name for its syslog tag, "jail" when it has none.
func cmpName(name string) string {
	if name == "" {
		return "jail"
	}
	return name
}

// child is a jail's init, started and waiting for its spec.
type child struct {
	cmd   *exec.Cmd
	specW *os.File // the init reads its spec from the other end
	statR *os.File // the init's status lines, until it exits
	st    *statusReader
	goW   *os.File // traced: a byte here lets the service child go on
}

// spawn starts the jail's init in new mount, pid and IPC namespaces (the
// policy may keep the host's pid or IPC namespace) and a new session, with
// stdio or tty's slave. When the kernel refuses the network namespace of s
// and s is not strict, it warns and starts the init on the host network
// instead.
func spawn(ctx context.Context, s *spec, o *options, tty *pty.Pty, relay *syslog.Relay, traced bool) (*child, error) {
	if relay != nil {
		s.SyslogSocket = relay.Path()
	}
	c, err := spawnOnce(ctx, s, o, tty, traced)
	if err != nil && s.NetworkNone && (errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EINVAL)) {
		if s.Strict {
			return nil, &LaunchError{Code: ExitLaunch, Err: fmt.Errorf("network none: cannot create a network namespace: %w (strict: refusing to run without it)", err)}
		}
		o.logger.Warn("network none: cannot create a network namespace; running on the host network", "err", err)
		s.NetworkNone = false
		c, err = spawnOnce(ctx, s, o, tty, traced)
	}
	return c, err
}

// pipes are the descriptors of one spawn: the spec pipe, the status pipe
// and, traced, the go pipe.
type pipes struct {
	specR, specW, statR, statW, goR, goW *os.File
}

// open makes the pipes; close releases the init's ends (or all of them,
// when the spawn failed).
func (p *pipes) open(traced bool) error {
	var err error
	if p.specR, p.specW, err = os.Pipe(); err != nil {
		return err
	}
	if p.statR, p.statW, err = os.Pipe(); err != nil {
		return err
	}
	if traced {
		if p.goR, p.goW, err = os.Pipe(); err != nil {
			return err
		}
	}
	return nil
}

func (p *pipes) close(all bool) {
	for _, f := range []*os.File{p.specR, p.statW, p.goR} {
		if f != nil {
			f.Close()
		}
	}
	if all {
		for _, f := range []*os.File{p.specW, p.statR, p.goW} {
			if f != nil {
				f.Close()
			}
		}
	}
}

// relayDelay bounds how long Wait waits for the stdio relays once the
// jail's init has ended.
const relayDelay = 2 * time.Second

func spawnOnce(ctx context.Context, s *spec, o *options, tty *pty.Pty, traced bool) (*child, error) {
	var p pipes
	if err := p.open(traced); err != nil {
		p.close(true)
		return nil, err
	}
	cmd := exec.CommandContext(ctx, o.initPath)
	cmd.Args = []string{initArg0}
	cmd.Env = []string{initEnv + "=1"}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdio(o)
	// Wait also waits for the relays of stdio to reach the end of their
	// pipes, which the jail's processes hold: once the init has ended, only
	// one it could not end (with the host's pid namespace, none ends them
	// all) can still hold one, and is not waited for longer than this.
	cmd.WaitDelay = relayDelay
	cmd.ExtraFiles = []*os.File{p.specR, p.statW, nil, p.goR} // fds 3 to 6
	// A session of its own, without a controlling terminal: neither the
	// init nor the service (which is no session leader) ever has the
	// operator's terminal as its own, so the service cannot push input
	// into it (TIOCSTI on a terminal other than one's own needs
	// CAP_SYS_ADMIN), nor be stopped by it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL, Cloneflags: cloneFlags(s)}
	if tty != nil {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = tty.Slave(), tty.Slave(), tty.Slave()
	}
	if err := cmd.Start(); err != nil {
		p.close(true)
		return nil, fmt.Errorf("starting jail init %s: %w", o.initPath, err)
	}
	p.close(false)
	return &child{cmd: cmd, specW: p.specW, statR: p.statR, st: newStatusReader(p.statR, o.logger), goW: p.goW}, nil
}

// cloneFlags are the namespaces the init starts in: always a mount
// namespace; pid and IPC ones unless s keeps the host's; a network one
// with network none.
func cloneFlags(s *spec) uintptr {
	flags := uintptr(syscall.CLONE_NEWNS)
	if !s.PIDHost {
		flags |= syscall.CLONE_NEWPID
	}
	if !s.IPCHost {
		flags |= syscall.CLONE_NEWIPC
	}
	if s.NetworkNone {
		flags |= syscall.CLONE_NEWNET
	}
	return flags
}

// send gives the init its spec. A dead init is reported by its status.
func (c *child) send(s *spec) {
	_ = json.NewEncoder(c.specW).Encode(s)
	c.specW.Close()
}

// abandon closes the pipes of an init that will not be sent its spec.
func (c *child) abandon() {
	c.specW.Close()
	if c.goW != nil {
		c.goW.Close()
	}
}

// childOf returns the host pid of the first child of pid's main thread:
// the service child of a jail's init.
func childOf(pid int) (int, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(raw))
	if len(f) == 0 {
		return 0, fmt.Errorf("jail init %d has no child", pid)
	}
	return strconv.Atoi(f[0])
}

// writePidfile writes pid beside path and renames it into place.
func writePidfile(path string, pid int) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".pidfile-*")
	if err != nil {
		return fmt.Errorf("pidfile %s: %w", path, err)
	}
	_, err = fmt.Fprintf(tmp, "%d\n", pid)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("pidfile %s: %w", path, err)
	}
	return nil
}
