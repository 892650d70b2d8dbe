package run

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/jailimg/jailimg/pkg/bundle"
)

// The init child is jailimg re-executed with initEnv=1, the spec on fd
// specFD and a close-on-exec status pipe on fd statusFD.
const (
	initEnv  = "_JAILIMG_INIT"
	initArg0 = "jailimg-init"
	specFD   = 3
	statusFD = 4
)

// isInit reports whether this process was started by Run or Launch as a jail's init.
func isInit() bool {
	return os.Getenv(initEnv) == "1" && len(os.Args) > 0 && os.Args[0] == initArg0
}

// init locks the main goroutine of a jail's init to the process's first
// thread, so that Main runs there: the thread that execs the service, and
// that PTRACE_TRACEME makes a tracee, has the init's pid.
func init() {
	if isInit() {
		runtime.LockOSThread()
	}
}

// Main runs the jail's init when this process was started as one by Run or
// a Launch, and never returns then: it execs the service or exits with
// ExitLaunch, ExitCannotExec or ExitNotFound. Otherwise it returns at once.
//
// jailimg's main, and the TestMain of any test that starts a jail, must call
// Main before doing anything else.
func Main() {
	if !isInit() {
		return
	}
	// Everything below runs on this OS thread, which becomes the service:
	// per-thread state (no_new_privs, seccomp, capability sets) passes
	// to the program it executes.
	runtime.LockOSThread()
	unix.CloseOnExec(statusFD)
	rep := &reporter{w: os.NewFile(statusFD, "status")}
	defer func() {
		if r := recover(); r != nil {
			os.Exit(rep.fail(fmt.Errorf("init: panic: %v", r)))
		}
	}()
	s, err := readSpec()
	if err == nil {
		_ = json.NewEncoder(rep.w).Encode(message{Init: true})
		err = setup(s, rep) // returns only on failure
	}
	os.Exit(rep.fail(err))
}

// message is one line of the status pipe: a warning, the program about to
// be exec'd, or the init's error.
type message struct {
	Init bool   `json:"init,omitempty"` // the spec was read: Main runs
	Exec string `json:"exec,omitempty"` // the service's program, found in the jail
	Warn string `json:"warn,omitempty"`
	Err  string `json:"err,omitempty"`
	Code int    `json:"code,omitempty"`
}

type reporter struct{ w io.Writer }

func (r *reporter) warn(format string, a ...any) {
	_ = json.NewEncoder(r.w).Encode(message{Warn: fmt.Sprintf(format, a...)})
}

// fail reports err and returns the exit code the init ends with.
func (r *reporter) fail(err error) int {
	code := ExitLaunch
	var le *LaunchError
	if errors.As(err, &le) {
		code = le.Code
	}
	_ = json.NewEncoder(r.w).Encode(message{Err: err.Error(), Code: code})
	return code
}

func readSpec() (*spec, error) {
	f := os.NewFile(specFD, "spec")
	defer f.Close()
	var s spec
	if err := json.NewDecoder(io.LimitReader(f, 1<<20)).Decode(&s); err != nil {
		return nil, fmt.Errorf("init: reading spec: %w", err)
	}
	return &s, nil
}

// openJail opens a jail file, once chrooted, without blocking on a FIFO.
func openJail(name string) (*os.File, error) {
	return os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
}

// enter chroots into root: the directory is opened once, so the path is
// resolved once, and the working directory is the jail's root before
// anything of the jail is read. With want set (a bundle), the directory
// opened must be that one.
func enter(root string, want *bundle.FileID) error {
	fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening jail %s: %w", root, err)
	}
	defer unix.Close(fd)
	if want != nil {
		// The directory entered is the one checked, whatever was renamed
		// since: chroot goes through this descriptor, not the path.
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return fmt.Errorf("jail %s: %w", root, err)
		}
		if (bundle.FileID{Dev: st.Dev, Ino: st.Ino}) != *want {
			return fmt.Errorf("jail %s: replaced since the bundle was checked", root)
		}
	}
	if err := unix.Fchdir(fd); err != nil {
		return fmt.Errorf("entering jail %s: %w", root, err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot %s: %w", root, err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir / in jail %s: %w", root, err)
	}
	return nil
}
