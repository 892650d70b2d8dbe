package run

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"syscall"
)

// message is one line of a status pipe: the service child's to the init,
// and the init's to the launcher, which carries the child's lines too.
type message struct {
	Init    bool        `json:"init,omitempty"`    // the init read its spec
	Exec    string      `json:"exec,omitempty"`    // the service's program, found in the jail
	Attach  bool        `json:"attach,omitempty"`  // traced: waiting for its tracer
	Started bool        `json:"started,omitempty"` // the service child exec'd
	Warn    string      `json:"warn,omitempty"`
	Err     string      `json:"err,omitempty"`
	Code    int         `json:"code,omitempty"`
	Exit    *exitStatus `json:"exit,omitempty"` // the init's last line: how the service ended
}

// exitStatus is how the service ended: its exit code, or the signal that
// killed it.
type exitStatus struct {
	Code   int `json:"code"`
	Signal int `json:"signal,omitempty"`
}

// statusOf turns a wait status into an exitStatus.
func statusOf(ws syscall.WaitStatus) *exitStatus {
	if ws.Signaled() {
		return &exitStatus{Code: 128 + int(ws.Signal()), Signal: int(ws.Signal())}
	}
	return &exitStatus{Code: ws.ExitStatus()}
}

// err is the error Run returns for the status: nil for 0, else an *ExitError.
func (e *exitStatus) err() error {
	if e.Code == 0 && e.Signal == 0 {
		return nil
	}
	return &ExitError{Code: e.Code, Signal: e.Signal}
}

// reporter writes status lines.
type reporter struct{ w io.Writer }

func (r *reporter) send(m message) { _ = json.NewEncoder(r.w).Encode(m) }

func (r *reporter) warn(format string, a ...any) {
	r.send(message{Warn: fmt.Sprintf(format, a...)})
}

// fail reports err and returns the exit code the process ends with.
func (r *reporter) fail(err error) int {
	code := ExitLaunch
	var le *LaunchError
	if errors.As(err, &le) {
		code = le.Code
	}
	r.send(message{Err: err.Error(), Code: code})
	return code
}

// verdict is what the init reported on its status pipe about the start.
type verdict struct {
	started bool   // the init read its spec: Main runs
	attach  bool   // the service child waits for its tracer
	exec    string // the program the child was about to exec, as the jail sees it
	err     error  // its failure, a *LaunchError
}

// statusReader reads the launcher's end of the init's status pipe.
type statusReader struct {
	sc     *bufio.Scanner
	logger *slog.Logger
	exit   *exitStatus // the init's last line, once read
}

func newStatusReader(r io.Reader, logger *slog.Logger) *statusReader {
	return &statusReader{sc: bufio.NewScanner(r), logger: logger}
}

// next returns the next message, passing warnings to the logger; false at
// the end of the pipe.
func (r *statusReader) next() (message, bool) {
	for r.sc.Scan() {
		var m message
		if json.Unmarshal(r.sc.Bytes(), &m) != nil {
			continue
		}
		if m.Warn != "" {
			r.logger.Warn(m.Warn)
			continue
		}
		if m.Exit != nil {
			r.exit = m.Exit
		}
		return m, true
	}
	return message{}, false
}

// verdict reads until the service child exec'd (or, with attach, waits
// for its tracer), failed, or the init ended.
func (r *statusReader) verdict(attach bool) verdict {
	var v verdict
	for {
		m, ok := r.next()
		if !ok {
			return v
		}
		v.started = v.started || m.Init
		if m.Exec != "" {
			v.exec = m.Exec
		}
		switch {
		case m.Err != "":
			v.err = &LaunchError{Code: m.Code, Err: errors.New(m.Err)}
			return v
		case m.Attach && attach:
			v.attach = true
			return v
		case m.Started:
			return v
		}
	}
}

// drain reads what is left, up to the init's exit line and the end of the pipe.
func (r *statusReader) drain() {
	for {
		if _, ok := r.next(); !ok {
			return
		}
	}
}
