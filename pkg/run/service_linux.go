package run

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path"
	"runtime"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/jailimg/jailimg/pkg/passwd"
)

// serviceMain is the service child: it performs the privileged sequence
// on its locked main thread and execs the service, or reports why not on
// its status pipe and exits.
func serviceMain() {
	runtime.LockOSThread()
	unix.CloseOnExec(statusFD)
	rep := &reporter{w: os.NewFile(statusFD, "status")}
	defer func() {
		if r := recover(); r != nil {
			os.Exit(rep.fail(fmt.Errorf("service child: panic: %v", r)))
		}
	}()
	s, _, err := readSpec()
	if err == nil {
		err = setup(s, rep) // returns only on failure
	}
	os.Exit(rep.fail(err))
}

// setup performs the privileged sequence on the calling, locked thread and
// execs the service. It returns only on failure.
func setup(s *spec, rep *reporter) error {
	ppid := os.Getppid()
	if err := enter(s.Root); err != nil {
		return err
	}
	u, err := serviceUser(s)
	if err != nil {
		return err
	}
	if err := setLimits(s); err != nil {
		return err
	}
	if err := confineLandlock(s, rep); err != nil {
		return err
	}
	if err := dropPrivileges(u); err != nil {
		return err
	}
	if err := rearmParentDeath(ppid); err != nil {
		return err
	}
	if err := unix.Chdir(s.Dir); err != nil {
		return fmt.Errorf("workdir %s: %w", s.Dir, err)
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_NO_NEW_PRIVS): %w", err)
	}
	prog, err := lookPath(s.Argv[0], s.Env)
	if err != nil {
		return err
	}
	if err := closeInherited(); err != nil {
		return err
	}
	return execService(s, rep, prog)
}

// awaitTracer says the child waits for its tracer, and waits for the byte
// the launcher writes once attached.
func awaitTracer(rep *reporter) error {
	rep.send(message{Attach: true})
	var b [1]byte
	n, err := unix.Read(goFD, b[:])
	unix.Close(goFD)
	if n != 1 {
		return fmt.Errorf("waiting for the tracer: %v (it went away)", err)
	}
	return nil
}

// bringUpLoopback brings up loopback in the init's fresh network namespace
// when the spec asks for no network.
func bringUpLoopback(s *spec, rep *reporter) error {
	if !s.NetworkNone {
		return nil
	}
	if err := loopbackUp(); err != nil {
		return degrade(s, rep, err)
	}
	return nil
}

// serviceUser looks the spec's user up in the jail, once chrooted,
// refusing uid 0 unless allowed, and gives the service its HOME unless
// the environment sets one.
func serviceUser(s *spec) (passwd.User, error) {
	u, err := passwd.Lookup(openJail, s.User)
	if err != nil {
		return u, fmt.Errorf("jail %s: %w", s.Root, err)
	}
	if u.UID == 0 && !s.AllowRoot {
		return u, ErrRoot
	}
	if !slices.ContainsFunc(s.Env, func(e string) bool { return strings.HasPrefix(e, "HOME=") }) {
		s.Env = append(s.Env, "HOME="+u.Home)
	}
	return u, nil
}

// setLimits sets the spec's rlimits, soft and hard, and its umask.
func setLimits(s *spec) error {
	for name, v := range s.Rlimits {
		lim := syscall.Rlimit{Cur: v, Max: v}
		// syscall.Setrlimit, not unix's: it keeps Go from restoring its
		// own RLIMIT_NOFILE on exec.
		if err := syscall.Setrlimit(rlimitNames[name], &lim); err != nil {
			return fmt.Errorf("rlimit %s=%d: %w", name, v, err)
		}
	}
	syscall.Umask(int(s.Umask))
	return nil
}

// confineLandlock restricts the jail as the spec asks, when it asks.
func confineLandlock(s *spec, rep *reporter) error {
	if !s.Landlock {
		return nil
	}
	abi, err := applyLandlock(s.Writable, s.Syslog)
	if err != nil {
		if !errors.Is(err, errLandlockUnsupported) {
			return err
		}
		return degrade(s, rep, err)
	}
	if abi < landlockScopeABI {
		return degrade(s, rep, fmt.Errorf("landlock: ABI %d cannot scope signals and abstract unix sockets to the jail (ABI %d can)", abi, landlockScopeABI))
	}
	return nil
}

// rearmParentDeath sets the parent-death signal again, since it does not
// survive the credential change, then makes sure the launcher (ppid) did
// not die before it was set.
func rearmParentDeath(ppid int) error {
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_PDEATHSIG): %w", err)
	}
	if os.Getppid() != ppid {
		return errors.New("init: the launcher died")
	}
	return nil
}

// execService ends the sequence: it reports the program, waits for its
// tracer when traced, loads seccomp and execs the service. It returns only
// on failure.
func execService(s *spec, rep *reporter, prog string) error {
	rep.send(message{Exec: prog})
	if s.Traced {
		// The launcher's thread attaches (PTRACE_SEIZE) while this waits,
		// so that its first stop is the service's exec.
		if err := awaitTracer(rep); err != nil {
			return err
		}
	}
	if s.Seccomp != nil {
		if err := loadSeccomp(s.Seccomp); err != nil {
			if !errors.Is(err, errSeccompUnsupported) {
				return err
			}
			if err := degrade(s, rep, err); err != nil {
				return err
			}
		}
	}
	err := syscall.Exec(prog, s.Argv, s.Env)
	code := ExitCannotExec
	if errors.Is(err, syscall.ENOENT) {
		code = ExitNotFound
		err = fmt.Errorf("%w (or its ELF interpreter is missing from the jail)", err)
	}
	return &LaunchError{Code: code, Err: fmt.Errorf("exec %s: %w", prog, err)}
}

// degrade turns a missing kernel feature into a warning, or into an error
// when the spec is strict.
func degrade(s *spec, rep *reporter, err error) error {
	if s.Strict {
		return fmt.Errorf("%w (strict: refusing to run without it)", err)
	}
	rep.warn("%v; running without it", err)
	return nil
}

// dropPrivileges leaves the calling thread, and through Go's all-threads
// set*id calls every thread, with u's ids and groups and no capability.
func dropPrivileges(u passwd.User) error {
	if err := dropBounding(); err != nil {
		return err
	}
	groups := make([]int, len(u.Groups))
	for i, g := range u.Groups {
		groups[i] = int(g)
	}
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("setgroups %v: %w", u.Groups, err)
	}
	if err := syscall.Setresgid(int(u.GID), int(u.GID), int(u.GID)); err != nil {
		return fmt.Errorf("setresgid %d: %w", u.GID, err)
	}
	if err := syscall.Setresuid(int(u.UID), int(u.UID), int(u.UID)); err != nil {
		return fmt.Errorf("setresuid %d: %w", u.UID, err)
	}
	if err := clearCaps(); err != nil {
		return err
	}
	r, e, sv := unix.Getresuid()
	if r != int(u.UID) || e != int(u.UID) || sv != int(u.UID) {
		return fmt.Errorf("setresuid %d: still %d/%d/%d", u.UID, r, e, sv)
	}
	if r, e, sv := unix.Getresgid(); r != int(u.GID) || e != int(u.GID) || sv != int(u.GID) {
		return fmt.Errorf("setresgid %d: still %d/%d/%d", u.GID, r, e, sv)
	}
	return nil
}

// lookPath finds argv0 in the jail as execvp(3) would, with the service's PATH.
func lookPath(argv0 string, env []string) (string, error) {
	if strings.Contains(argv0, "/") {
		return argv0, nil
	}
	p := strings.TrimPrefix(defaultPath, "PATH=")
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			p = v
		}
	}
	for _, dir := range strings.Split(p, ":") {
		if !path.IsAbs(dir) {
			continue // a relative PATH entry would depend on the workdir
		}
		cand := path.Join(dir, argv0)
		if st, err := os.Stat(cand); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return cand, nil
		}
	}
	return "", &LaunchError{Code: ExitNotFound, Err: fmt.Errorf("%s: not found in the jail's PATH %s", argv0, p)}
}

// closeInherited marks every descriptor above 2 close-on-exec: whatever the
// launcher inherited (a directory outside the jail is an escape) stays out
// of the service.
func closeInherited() error {
	err := unix.CloseRange(3, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("close_range: %w", err)
	}
	var lim unix.Rlimit // kernels before 5.11: mark them one by one
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("getrlimit: %w", err)
	}
	for fd := 3; uint64(fd) < min(lim.Max, 1<<20); fd++ {
		unix.CloseOnExec(fd)
	}
	return nil
}

// enter chroots into the jail's new root, the descriptor extraFD the init
// passes (the bind it checked): fchdir, chroot("."), chdir("/"), before
// anything of the jail is read.
func enter(root string) error {
	defer unix.Close(extraFD)
	if err := unix.Fchdir(extraFD); err != nil {
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

// openJail opens a jail file, once chrooted, without blocking on a FIFO.
func openJail(name string) (*os.File, error) {
	return os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
}
