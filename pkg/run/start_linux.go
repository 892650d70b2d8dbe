package run

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"

	"github.com/jailimg/jailimg/pkg/run/pty"
)

// forwarded are the signals Run passes on to the service.
var forwarded = []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2}

// Run starts the service of target (a bundle directory or a plain jail
// directory) in its jail: jailimg re-executes itself as the jail's init, in
// a new session, which chroots, drops privileges, confines itself and
// execs the service, keeping its pid. Run forwards SIGTERM, SIGINT, SIGHUP,
// SIGUSR1 and SIGUSR2 to the service and waits for it. Warnings about
// kernel features the service runs without go to the logger.
//
// It returns nil when the service exits 0, an *ExitError when it ends
// otherwise, and a *LaunchError (or another error) when it could not be
// started; ExitCode maps each to jailimg's exit status. Cancelling ctx
// kills the service.
func Run(ctx context.Context, target string, opts ...Option) error {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	p, err := start(ctx, target, opts...)
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
	pidfile string
	tty     *pty.Pty
	once    sync.Once
	done    chan struct{}
	err     error
}

// Pid returns the service's process id (the jail's init became the service).
func (p *process) Pid() int { return p.cmd.Process.Pid }

// Signal sends sig to the service.
func (p *process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Wait waits for the service to end, ends the pty relay (restoring the
// operator's terminal) and removes the pidfile. It returns nil for exit
// status 0, else an *ExitError. It may be called more than once.
func (p *process) Wait() error {
	p.once.Do(func() {
		p.err = exitError(p.cmd.Wait())
		if p.tty != nil {
			_ = p.tty.Close() // the service's status matters more than the terminal's
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

func exitError(err error) error {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return err
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return &ExitError{Code: 128 + int(ws.Signal()), Signal: int(ws.Signal())}
	}
	return &ExitError{Code: ee.ExitCode()}
}

// start launches the service of target in its jail and returns once the
// service runs, as Run describes. It fails with a *LaunchError carrying
// ExitLaunch, ExitCannotExec or ExitNotFound.
func start(ctx context.Context, target string, opts ...Option) (*process, error) {
	o := makeOptions(opts)
	s, err := resolveTarget(target, o)
	if err != nil {
		return nil, &LaunchError{Code: ExitLaunch, Err: err}
	}
	var tty *pty.Pty
	if o.tty != nil {
		if tty, err = pty.New(o.tty); err != nil {
			return nil, &LaunchError{Code: ExitLaunch, Err: fmt.Errorf("tty: %w", err)}
		}
	}
	c, err := spawn(ctx, s, o, tty)
	if err != nil {
		if tty != nil {
			tty.Close()
		}
		return nil, err
	}
	p := &process{cmd: c.cmd, tty: tty, done: make(chan struct{})}
	// The init waits for its spec before it execs the service, so the
	// pidfile names the service before the service runs.
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
	v := c.verdict(o)
	if v.err == nil && !v.started {
		werr := p.Wait()
		return nil, &LaunchError{Code: ExitLaunch, Err: fmt.Errorf("jail init %s did not start (does its main call run.Main first?): %v", o.initPath, werr)}
	}
	if v.err == nil && tty != nil {
		if err := tty.Start(o.stdout); err != nil {
			_ = p.Signal(syscall.SIGKILL)
			v.err = &LaunchError{Code: ExitLaunch, Err: fmt.Errorf("tty: %w", err)}
		}
	}
	if v.err != nil {
		_ = p.Wait()
		return nil, v.err
	}
	return p, nil
}

// child is a jail's init, started and waiting for its spec.
type child struct {
	cmd   *exec.Cmd
	specW *os.File // the init reads its spec from the other end
	statR *os.File // the init's status lines: EOF once it exec'd or ended
}

// spawn starts the jail's init from the calling thread, in a new session
// (without a controlling terminal, or with tty's slave as its own). When
// the kernel refuses the network namespace of s and s is not strict, it
// warns and starts the init on the host network instead.
func spawn(ctx context.Context, s *spec, o *options, tty *pty.Pty) (*child, error) {
	c, err := spawnOnce(ctx, s, o, tty)
	if err != nil && s.NetworkNone && (errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EINVAL)) {
		if s.Strict {
			return nil, &LaunchError{Code: ExitLaunch, Err: fmt.Errorf("network none: cannot create a network namespace: %w (strict: refusing to run without it)", err)}
		}
		o.logger.Warn("network none: cannot create a network namespace; running on the host network", "err", err)
		s.NetworkNone = false
		c, err = spawnOnce(ctx, s, o, tty)
	}
	return c, err
}

func spawnOnce(ctx context.Context, s *spec, o *options, tty *pty.Pty) (*child, error) {
	specR, specW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer specR.Close()
	statR, statW, err := os.Pipe()
	if err != nil {
		specW.Close()
		return nil, err
	}
	defer statW.Close()

	cmd := exec.CommandContext(ctx, o.initPath)
	cmd.Args = []string{initArg0}
	cmd.Env = []string{initEnv + "=1"}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = o.stdin, o.stdout, o.stderr
	cmd.ExtraFiles = []*os.File{specR, statW} // fds 3 and 4
	// A session of its own: the service has no controlling terminal, so
	// it cannot push input into the operator's (TIOCSTI on a terminal
	// other than one's own needs CAP_SYS_ADMIN), nor be stopped by it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
	if tty != nil {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = tty.Slave(), tty.Slave(), tty.Slave()
		cmd.SysProcAttr.Setctty, cmd.SysProcAttr.Ctty = true, 0
	}
	if s.NetworkNone {
		cmd.SysProcAttr.Cloneflags = syscall.CLONE_NEWNET
	}
	if err := cmd.Start(); err != nil {
		specW.Close()
		statR.Close()
		return nil, fmt.Errorf("starting jail init %s: %w", o.initPath, err)
	}
	return &child{cmd: cmd, specW: specW, statR: statR}, nil
}

// send gives the init its spec. A dead init is reported by its status.
func (c *child) send(s *spec) {
	_ = json.NewEncoder(c.specW).Encode(s)
	c.specW.Close()
}

// abandon closes the pipes of an init that will not be sent its spec.
func (c *child) abandon() {
	c.specW.Close()
	c.statR.Close()
}

// verdict is what the init reported on its status pipe.
type verdict struct {
	started bool   // it read its spec: Main runs
	exec    string // the program it was about to exec, as the jail sees it
	err     error  // its failure, a *LaunchError
}

// verdict reads the init's status lines until it exec'd the service or
// ended, passing its warnings to the logger.
func (c *child) verdict(o *options) verdict {
	defer c.statR.Close()
	var v verdict
	sc := bufio.NewScanner(c.statR)
	for sc.Scan() {
		var m message
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		v.started = v.started || m.Init
		if m.Exec != "" {
			v.exec = m.Exec
		}
		if m.Warn != "" {
			o.logger.Warn(m.Warn)
		}
		if m.Err != "" {
			v.err = &LaunchError{Code: m.Code, Err: errors.New(m.Err)}
		}
	}
	return v
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
