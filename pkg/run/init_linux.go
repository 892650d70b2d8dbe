package run

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/jailimg/jailimg/pkg/run/mounts"
)

// The jail's init and its service child are jailimg re-executed with
// initEnv=1 and argv[0] naming the role, the spec on fd specFD and a
// status pipe on fd statusFD. The service child gets the jail's new root
// on fd extraFD; a traced service child waits for a byte on fd goFD, which
// the init passes on.
const (
	initEnv     = "_JAILIMG_INIT"
	initArg0    = "jailimg-init"
	serviceArg0 = "jailimg-service"
	specFD      = 3
	statusFD    = 4
	extraFD     = 5
	goFD        = 6
)

// role returns initArg0 or serviceArg0 when this process was started as
// one by package run, "" otherwise.
func role() string {
	if os.Getenv(initEnv) != "1" || len(os.Args) == 0 {
		return ""
	}
	if a := os.Args[0]; a == initArg0 || a == serviceArg0 {
		return a
	}
	return ""
}

// init locks the main goroutine of a jail's init or service child to the
// process's first thread, so that Main runs there: for the service child,
// the thread that execs the service; for the init, the thread that forks
// it (its parent-death signal is tied to that thread).
func init() {
	if role() != "" {
		runtime.LockOSThread()
	}
}

// Main runs the jail's init or service child when this process was started
// as one by Run or a Launch, and never returns then. Otherwise it returns
// at once.
//
// jailimg's main, and the TestMain of any test that starts a jail, must call
// Main before doing anything else.
func Main() {
	switch role() {
	case initArg0:
		initMain()
	case serviceArg0:
		serviceMain()
	}
}

// initMain is the jail's init: it sets up the mount namespace, starts the
// service child, forwards signals to it and reaps every process until it
// ends, then reports how, on its status pipe, and exits.
func initMain() {
	runtime.LockOSThread()
	// Before anything: a signal the launcher forwards while the init
	// prepares waits for the service instead of being lost (PID 1 of a
	// namespace ignores a signal it has no handler for).
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, forwarded...)
	unix.CloseOnExec(statusFD)
	unix.CloseOnExec(goFD)
	rep := &reporter{w: os.NewFile(statusFD, "status")}
	defer func() {
		if r := recover(); r != nil {
			os.Exit(rep.fail(fmt.Errorf("init: panic: %v", r)))
		}
	}()
	s, raw, err := readSpec()
	if err != nil {
		os.Exit(rep.fail(err))
	}
	rep.send(message{Init: true})
	os.Exit(runInit(s, raw, rep, sigs))
}

// runInit prepares the jail, runs the service child and reports its end.
// It returns the init's exit code: 0 once the service ran, the launcher's
// code when it could not be started.
func runInit(s *spec, raw []byte, rep *reporter, sigs chan os.Signal) int {
	if err := bringUpLoopback(s, rep); err != nil {
		return rep.fail(err)
	}
	root, err := mounts.Setup(mountPlan(s, rep))
	if err != nil {
		return rep.fail(err)
	}
	if err := newSessionKeyring(); err != nil {
		unix.Close(root)
		return rep.fail(err)
	}
	if s.PIDHost {
		// No namespace to die with: orphans come here to be reaped.
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			return rep.fail(fmt.Errorf("prctl(PR_SET_CHILD_SUBREAPER): %w", err))
		}
	}
	pid, childStatus, err := startService(s, raw, root)
	unix.Close(root)
	if err != nil {
		return rep.fail(err)
	}
	relayed := make(chan struct{})
	go func() { relayChild(childStatus, rep); close(relayed) }()
	go forwardSignals(sigs, pid)
	ws := reap(pid)
	<-relayed // what the child said comes before how it ended
	rep.send(message{Exit: statusOf(ws)})
	if s.PIDHost {
		killChildren()
	}
	return 0
}

// newSessionKeyring gives the calling thread, which starts the service
// child, a new, empty session keyring, as runc gives each container: the
// jail would otherwise share the launcher's, the admin's login session
// keyring, whose keys any process holding it may read, whatever its uid
// (seccomp denies the keyctl calls, unless the policy or a flag turns it
// off). A kernel without keys has nothing to share.
func newSessionKeyring() error {
	_, _, e := unix.Syscall(unix.SYS_KEYCTL, unix.KEYCTL_JOIN_SESSION_KEYRING, 0, 0) // NULL: an anonymous keyring
	if e != 0 && e != unix.ENOSYS {
		return fmt.Errorf("keyctl(KEYCTL_JOIN_SESSION_KEYRING): %w", e)
	}
	return nil
}

// mountPlan is the mounts.Plan of s; its warnings go to rep.
func mountPlan(s *spec, rep *reporter) mounts.Plan {
	return mounts.Plan{Root: s.Root, RootID: s.RootID, Dirs: s.Mounts, State: s.State, TmpfsSize: s.TmpfsSize,
		Hostfiles: s.Hostfiles, Syslog: s.SyslogSocket, Warn: rep.warn}
}

// startService starts the service child: jailimg again, in the init's
// namespaces, with the spec, a status pipe and the jail's root, and, when
// traced, the descriptor it waits on. With a pty it leads a session of its
// own with the pty as controlling terminal; otherwise it is no session
// leader and can never acquire one. It returns the child's pid and the
// read end of its status pipe.
func startService(s *spec, raw []byte, root int) (int, *os.File, error) {
	specR, specW, err := os.Pipe()
	if err != nil {
		return 0, nil, err
	}
	defer specR.Close()
	defer specW.Close()
	statR, statW, err := os.Pipe()
	if err != nil {
		return 0, nil, err
	}
	defer statW.Close()
	gofd := -1
	if s.Traced {
		gofd = goFD
	}
	files := []uintptr{0, 1, 2, specR.Fd(), statW.Fd(), uintptr(root), uintptr(gofd)}
	sys := &syscall.SysProcAttr{Setsid: s.TTY, Setctty: s.TTY, Ctty: 0, Pdeathsig: syscall.SIGKILL}
	pid, err := syscall.ForkExec("/proc/self/exe", []string{serviceArg0},
		&syscall.ProcAttr{Env: []string{initEnv + "=1"}, Files: files, Sys: sys})
	if err != nil {
		statR.Close()
		return 0, nil, fmt.Errorf("starting the service child: %w", err)
	}
	// The pipe holds the spec: the child reads it when it can.
	if _, err := specW.Write(raw); err != nil {
		unix.Kill(pid, unix.SIGKILL)
		reap(pid)
		statR.Close()
		return 0, nil, fmt.Errorf("sending the service child its spec: %w", err)
	}
	return pid, statR, nil
}

// relayChild passes the service child's status lines on, then, when the
// child closed its end without a failure (it exec'd the service), says
// the service started.
func relayChild(r *os.File, rep *reporter) {
	defer r.Close()
	failed := false
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var m message
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		failed = failed || m.Err != ""
		rep.send(m)
	}
	if !failed {
		rep.send(message{Started: true})
	}
}

// forwardSignals passes each signal the init gets to the service child.
func forwardSignals(sigs chan os.Signal, pid int) {
	for sig := range sigs {
		_ = unix.Kill(pid, sig.(syscall.Signal))
	}
}

// reap waits for every child until pid ends, and returns its status: the
// init reaps whatever the jail's processes leave behind.
func reap(pid int) syscall.WaitStatus {
	for {
		var ws syscall.WaitStatus
		p, err := syscall.Wait4(-1, &ws, 0, nil)
		switch {
		case err == syscall.EINTR:
		case err != nil:
			return ws // ECHILD: nothing left to wait for
		case p == pid:
			return ws
		}
	}
}

// killChildren kills what the service left behind, reparented to the init
// (a subreaper, without a pid namespace to end them). A killed child's own
// children are reparented to the init only once it dies, so it reaps the
// killed and looks again, until none is left.
func killChildren() {
	for {
		pids := children()
		if len(pids) == 0 {
			return
		}
		for _, pid := range pids {
			unix.Kill(pid, unix.SIGKILL)
		}
		for range pids {
			if waitAny() != nil {
				return // ECHILD: none left
			}
		}
	}
}

// waitAny reaps one child, whichever ends first.
func waitAny() error {
	for {
		_, err := unix.Wait4(-1, nil, 0, nil)
		if err != unix.EINTR {
			return err
		}
	}
}

// children lists the init's children, from /proc.
func children() []int {
	var pids []int
	tasks, _ := os.ReadDir("/proc/self/task")
	for _, t := range tasks {
		raw, err := os.ReadFile("/proc/self/task/" + t.Name() + "/children")
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(raw)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// readSpec reads the spec from fd specFD, and returns it raw too.
func readSpec() (*spec, []byte, error) {
	f := os.NewFile(specFD, "spec")
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("reading spec: %w", err)
	}
	var s spec
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, nil, fmt.Errorf("reading spec: %w", err)
	}
	return &s, raw, nil
}
