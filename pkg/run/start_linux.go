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
)

// Forwarded are the signals Run passes on to the service.
var Forwarded = []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2}

// Run starts the service of target (a bundle directory or a plain jail
// directory) as Start does, forwards the Forwarded signals to it, and waits
// for it. It returns nil when the service exits 0, an *ExitError when it
// ends otherwise, and a *LaunchError (or another error) when it could not be
// started; ExitCode maps each to jailimg's exit status. Cancelling ctx kills
// the service.
func Run(ctx context.Context, target string, opts ...Option) error {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, Forwarded...)
	defer signal.Stop(sigs)
	p, err := Start(ctx, target, opts...)
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

// Process is a service running in its jail.
type Process struct {
	cmd     *exec.Cmd
	pidfile string
	once    sync.Once
	done    chan struct{}
	err     error
}

// Pid returns the service's process id (the jail's init became the service).
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Signal sends sig to the service.
func (p *Process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Wait waits for the service to end and removes the pidfile. It returns nil
// for exit status 0, else an *ExitError. It may be called more than once.
func (p *Process) Wait() error {
	p.once.Do(func() {
		p.err = exitError(p.cmd.Wait())
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

// Start launches the service of target in its jail and returns once the
// service runs: jailimg re-executes itself (WithInit) as the jail's init,
// which chroots, drops privileges, confines itself and execs the service,
// keeping its pid. Warnings about kernel features the service runs without
// go to the logger. Start fails with a *LaunchError carrying ExitLaunch,
// ExitCannotExec or ExitNotFound.
func Start(ctx context.Context, target string, opts ...Option) (*Process, error) {
	o := makeOptions(opts)
	s, err := resolveTarget(target, o)
	if err != nil {
		return nil, &LaunchError{Code: ExitLaunch, Err: err}
	}
	p, err := start(ctx, s, o)
	if err != nil && s.NetworkNone && (errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EINVAL)) {
		if s.Strict {
			return nil, &LaunchError{Code: ExitLaunch, Err: fmt.Errorf("network none: cannot create a network namespace: %w (strict: refusing to run without it)", err)}
		}
		o.logger.Warn("network none: cannot create a network namespace; running on the host network", "err", err)
		s.NetworkNone = false
		p, err = start(ctx, s, o)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// start runs the init child once and waits for its verdict on the status pipe.
func start(ctx context.Context, s *spec, o *options) (*Process, error) {
	specR, specW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer specR.Close()
	defer specW.Close()
	statR, statW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer statR.Close()
	defer statW.Close()

	cmd := exec.CommandContext(ctx, o.initPath)
	cmd.Args = []string{initArg0}
	cmd.Env = []string{initEnv + "=1"}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = o.stdin, o.stdout, o.stderr
	cmd.ExtraFiles = []*os.File{specR, statW} // fds 3 and 4
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if s.NetworkNone {
		cmd.SysProcAttr.Cloneflags = syscall.CLONE_NEWNET
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting jail init %s: %w", o.initPath, err)
	}
	specR.Close()
	statW.Close()
	p := &Process{cmd: cmd, done: make(chan struct{})}
	// The init waits for its spec before it execs the service, so the
	// pidfile names the service before the service runs.
	if o.pidfile != "" {
		if err := writePidfile(o.pidfile, p.Pid()); err != nil {
			_ = p.Signal(syscall.SIGKILL)
			_ = p.Wait()
			return nil, &LaunchError{Code: ExitLaunch, Err: err}
		}
		p.pidfile = o.pidfile
	}
	_ = json.NewEncoder(specW).Encode(s) // a dead init is reported by Wait
	specW.Close()

	var failure *message
	started := false
	sc := bufio.NewScanner(statR)
	for sc.Scan() {
		var m message
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		started = started || m.Init
		if m.Warn != "" {
			o.logger.Warn(m.Warn)
		}
		if m.Err != "" {
			failure = &m
		}
	}
	if failure != nil {
		_ = p.Wait()
		return nil, &LaunchError{Code: failure.Code, Err: errors.New(failure.Err)}
	}
	if !started {
		werr := p.Wait()
		return nil, &LaunchError{Code: ExitLaunch, Err: fmt.Errorf("jail init %s did not start (does its main call run.Main first?): %v", o.initPath, werr)}
	}
	return p, nil
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
