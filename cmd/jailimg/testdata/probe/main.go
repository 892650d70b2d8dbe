// Command probe is run in jails by cmd/jailimg's tests (built statically,
// CGO_ENABLED=0). It prints what it finds, one "KEY value" line each.
//
//	probe tiocsti [high]   push "echo INJECTED-AS-$(id -u)\n" into fd 0 with
//	                       ioctl TIOCSTI (high: with bit 32 of the command set)
//	probe tty              report fd 0's terminal, wait for SIGWINCH, read a
//	                       line and exit with the number on it
//	probe creds            report credentials, capabilities, no_new_privs,
//	                       seccomp, session and terminal
//	probe sleep            print READY and sleep until a signal ends it
//	probe write PATH...    try to create (or append to) each path, report
//	                       "WRITE PATH ok" or "WRITE PATH ERRNO", then sleep
//	                       as probe sleep does
//	probe ttyioctl         try on fds 0, 1 and 2 the terminal ioctls a service
//	                       holding the operator's terminal could misuse, each
//	                       in a harmless form (set the line discipline and the
//	                       modes it has, resume output); report "TTYIOCTL FD
//	                       TIOCSETD=R TCSETS=R TCXONC=R" (R: ok or the errno),
//	                       then "STDIN terminal", or "STDIN EOF" when reading
//	                       fd 0 gives end of file
//	probe logrewrite       do to fd 1 what would rewrite a log file: clear
//	                       O_APPEND, write at offset 0, truncate to 8 bytes;
//	                       report "LOG F_SETFL=R PWRITE=R FTRUNCATE=R"
//	probe orphan           start "probe orphan-parent", which starts "probe
//	                       sleep" with the same stdout, reports "ORPHAN PID"
//	                       (the sleeper's pid) and exits; then exit, leaving
//	                       the sleeper orphaned, holding stdout
//	probe lines N          print "LINE i" for i from 1 to N, 20 ms apart, then
//	                       "LINES done"
//	probe files DIR N      create up to N empty files in DIR, report
//	                       "FILES K ok" or "FILES K ERRNO" (K created, ERRNO
//	                       of the first failure), then sleep as probe sleep does
//	probe syslog N         send N messages to /dev/log, each with a blocking
//	                       send, report "SENT N", then sleep as probe sleep does
//	probe setid PATH       copy itself to PATH, setuid and setgid, and open
//	                       PATH's directory to everyone, as a compromised
//	                       service leaving a way in for a host user; report
//	                       "SETID PATH MODE" or "SETID PATH ERROR"
//	probe keyring NAME     look for the user key NAME from its session
//	                       keyring; report "KEY value" or "KEY ERRNO"
//	probe forks N          fork bomb: start up to N children that only
//	                       wait, report "FORKS K ok" or "FORKS K ERRNO" (K
//	                       started, ERRNO of the fork that failed), then
//	                       sleep as probe sleep does (the jail's init ends
//	                       the children with the jail)
package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func main() {
	switch os.Args[1] {
	case "tiocsti":
		tiocsti(len(os.Args) > 2 && os.Args[2] == "high")
	case "tty":
		tty()
	case "creds":
		creds()
	case "sleep":
		sleep()
	case "write":
		write(os.Args[2:])
		sleep()
	case "lines":
		n, _ := strconv.Atoi(os.Args[2])
		for i := 1; i <= n; i++ {
			fmt.Printf("LINE %d\n", i)
			time.Sleep(20 * time.Millisecond)
		}
		fmt.Println("LINES done")
	case "orphan", "orphan-parent":
		orphan(os.Args[1] == "orphan")
	case "ttyioctl":
		ttyioctl()
	case "logrewrite":
		logrewrite()
	case "files":
		n, _ := strconv.Atoi(os.Args[3])
		files(os.Args[2], n)
		sleep()
	case "syslog":
		n, _ := strconv.Atoi(os.Args[2])
		flood(n)
		sleep()
	case "setid":
		setid(os.Args[2])
	case "keyring":
		keyring(os.Args[2])
	case "forks":
		n, _ := strconv.Atoi(os.Args[2])
		forks(n)
		sleep()
	default:
		fmt.Fprintln(os.Stderr, "probe: unknown mode", os.Args[1])
		os.Exit(2)
	}
}

// tiocsti pushes the line byte by byte and reports the first failure.
func tiocsti(high bool) {
	cmd := uintptr(unix.TIOCSTI)
	if high {
		cmd |= 1 << 32
	}
	for _, c := range []byte("echo INJECTED-AS-$(id -u)\n") {
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, 0, cmd, uintptr(unsafe.Pointer(&c))); e != 0 {
			fmt.Printf("TIOCSTI failed: %s\n", errnoName(e))
			return
		}
	}
	fmt.Println("TIOCSTI pushed")
}

// tty reports fd 0: whether it is a terminal, whether it is the controlling
// terminal, its device and window size; then the size after a SIGWINCH,
// then exits with the number read from it.
func tty() {
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	_, err := unix.IoctlGetTermios(0, unix.TCGETS)
	fmt.Printf("ISATTY %v\n", err == nil)
	fmt.Printf("CTTY %v\n", isCtty(0))
	var st unix.Stat_t
	unix.Fstat(0, &st)
	fmt.Printf("RDEV %d:%d\n", unix.Major(st.Rdev), unix.Minor(st.Rdev))
	fmt.Printf("SIZE %s\n", size())
	fmt.Println("READY")
	<-winch
	fmt.Printf("WINCH %s\n", size())
	line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	code, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		fmt.Printf("BAD INPUT %q\n", line)
		os.Exit(100)
	}
	os.Exit(code)
}

// outcome reports err as the probe's lines do: ok, an errno's name, or the
// error's text.
func outcome(err error) string {
	var errno syscall.Errno
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &errno):
		return errnoName(errno)
	}
	return err.Error()
}

func errnoName(e syscall.Errno) string {
	if n := unix.ErrnoName(e); n != "" {
		return n
	}
	return e.Error()
}

func size() string {
	ws, err := unix.IoctlGetWinsize(0, unix.TIOCGWINSZ)
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%dx%d", ws.Row, ws.Col)
}

// isCtty reports whether fd is this process's controlling terminal: the
// kernel answers TIOCGSID only for one's own.
func isCtty(fd int) bool {
	sid, err := unix.IoctlGetInt(fd, unix.TIOCGSID)
	return err == nil && sid == getsid()
}

func getsid() int {
	sid, _ := unix.Getsid(0)
	return sid
}

func creds() {
	r, e, s := unix.Getresuid()
	fmt.Printf("UID %d %d %d\n", r, e, s)
	r, e, s = unix.Getresgid()
	fmt.Printf("GID %d %d %d\n", r, e, s)
	groups, _ := unix.Getgroups()
	slices.Sort(groups)
	fmt.Printf("GROUPS %v\n", groups)
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		fmt.Printf("CAPGET %v\n", err)
	}
	fmt.Printf("CAPEFF %08x%08x\n", data[1].Effective, data[0].Effective)
	fmt.Printf("CAPPRM %08x%08x\n", data[1].Permitted, data[0].Permitted)
	fmt.Printf("CAPINH %08x%08x\n", data[1].Inheritable, data[0].Inheritable)
	var bnd []int
	for c := 0; c < 64; c++ {
		v, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0)
		if err != nil {
			break // EINVAL: past the last capability
		}
		if v == 1 {
			bnd = append(bnd, c)
		}
	}
	fmt.Printf("CAPBND %v\n", bnd)
	nnp, _ := unix.PrctlRetInt(unix.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)
	fmt.Printf("NO_NEW_PRIVS %d\n", nnp)
	sec, _ := unix.PrctlRetInt(unix.PR_GET_SECCOMP, 0, 0, 0, 0)
	fmt.Printf("SECCOMP %d\n", sec)
	fmt.Printf("SESSION_LEADER %v\n", getsid() == os.Getpid())
	for fd := 0; fd < 3; fd++ {
		_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
		fmt.Printf("FD%d ISATTY %v CTTY %v\n", fd, err == nil, isCtty(fd))
	}
	fd, err := unix.Open("/dev/tty", unix.O_RDWR|unix.O_NOCTTY, 0)
	if err == nil {
		unix.Close(fd)
	}
	fmt.Printf("DEV_TTY %v\n", err)
	mask := unix.Umask(0)
	fmt.Printf("UMASK %03o\n", mask)
	var lim unix.Rlimit
	unix.Getrlimit(unix.RLIMIT_NOFILE, &lim)
	fmt.Printf("NOFILE %d %d\n", lim.Cur, lim.Max)
	unix.Getrlimit(unix.RLIMIT_CORE, &lim)
	fmt.Printf("CORE %d %d\n", lim.Cur, lim.Max)
	unix.Getrlimit(unix.RLIMIT_NPROC, &lim)
	fmt.Printf("NPROC %d %d\n", lim.Cur, lim.Max)
	wd, _ := os.Getwd()
	fmt.Printf("CWD %s\n", wd)
	env := os.Environ()
	slices.Sort(env)
	fmt.Printf("ENV %q\n", env)
}

// sleep prints READY and sleeps until a signal ends the process.
func sleep() {
	fmt.Println("READY")
	for {
		time.Sleep(time.Hour)
	}
}

// write tries to create or append to each path.
func write(paths []string) {
	for _, p := range paths {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err == nil {
			_, err = f.WriteString("written by probe\n")
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		fmt.Printf("WRITE %s %s\n", p, outcome(err))
	}
}

// orphan leaves a process behind that holds stdout; see the usage.
func orphan(top bool) {
	next := []string{"orphan-parent"}
	if !top {
		next = []string{"sleep"}
	}
	cmd := exec.Command(os.Args[0], next...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr // the jail has no /dev/null
	if err := cmd.Start(); err != nil {
		fmt.Printf("ORPHAN %v\n", err)
		os.Exit(1)
	}
	if top {
		cmd.Wait()
		return
	}
	fmt.Printf("ORPHAN %d\n", cmd.Process.Pid)
}

// ttyioctl tries the terminal ioctls on fds 0 to 2; see the usage.
func ttyioctl() {
	for fd := range 3 {
		ldisc := outcome(unix.IoctlSetPointerInt(fd, unix.TIOCSETD, 0)) // N_TTY, the default
		t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
		if err == nil {
			err = unix.IoctlSetTermios(fd, unix.TCSETS, t)
		}
		modes := outcome(err)
		flow := outcome(unix.IoctlSetInt(fd, unix.TCXONC, unix.TCOON))
		fmt.Printf("TTYIOCTL %d TIOCSETD=%s TCSETS=%s TCXONC=%s\n", fd, ldisc, modes, flow)
	}
	if _, err := unix.IoctlGetTermios(0, unix.TCGETS); err == nil {
		fmt.Println("STDIN terminal")
		return
	}
	var b [1]byte
	if n, err := os.Stdin.Read(b[:]); n == 0 && err != nil {
		fmt.Println("STDIN EOF")
		return
	}
	fmt.Println("STDIN data")
}

// logrewrite does to fd 1 what would rewrite a log file; see the usage.
func logrewrite() {
	fl, err := unix.FcntlInt(1, unix.F_GETFL, 0)
	if err == nil {
		_, err = unix.FcntlInt(1, unix.F_SETFL, fl&^unix.O_APPEND)
	}
	setfl := outcome(err)
	_, err = unix.Pwrite(1, []byte("FORGED\n"), 0)
	pwrite := outcome(err)
	ftruncate := outcome(unix.Ftruncate(1, 8))
	fmt.Printf("LOG F_SETFL=%s PWRITE=%s FTRUNCATE=%s\n", setfl, pwrite, ftruncate)
}

// files creates up to n empty files in dir, stopping at the first failure.
func files(dir string, n int) {
	k, result := 0, "ok"
	for ; k < n; k++ {
		fd, err := unix.Open(filepath.Join(dir, fmt.Sprintf("f%d", k)), unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o644)
		if err != nil {
			result = outcome(err)
			break
		}
		unix.Close(fd)
	}
	fmt.Printf("FILES %d %s\n", k, result)
}

// flood sends n messages to /dev/log as fast as it takes them.
func flood(n int) {
	c, err := net.Dial("unixgram", "/dev/log")
	if err != nil {
		fmt.Printf("SYSLOG %v\n", err)
		return
	}
	defer c.Close()
	for i := 0; i < n; i++ {
		if _, err := fmt.Fprintf(c, "<14>probe[%d]: message %d of %d", os.Getpid(), i+1, n); err != nil {
			fmt.Printf("SYSLOG message %d: %v\n", i+1, err)
			return
		}
	}
	fmt.Printf("SENT %d\n", n)
}

// setid plants a setuid and setgid copy of the probe at p, in a directory
// every user may enter.
func setid(p string) {
	self, err := os.ReadFile("/bin/probe")
	if err == nil {
		err = os.WriteFile(p, self, 0o755)
	}
	if err == nil {
		err = unix.Chmod(p, 0o6755)
	}
	if err == nil {
		err = unix.Chmod(filepath.Dir(p), 0o755)
	}
	var st unix.Stat_t
	if err == nil {
		err = unix.Stat(p, &st)
	}
	if err != nil {
		fmt.Printf("SETID %s %v\n", p, err)
		return
	}
	fmt.Printf("SETID %s %04o\n", p, st.Mode&0o7777)
}

// keyring reads the user key name found from the session keyring.
func keyring(name string) {
	id, err := unix.KeyctlSearch(unix.KEY_SPEC_SESSION_KEYRING, "user", name, 0)
	buf := make([]byte, 256)
	n := 0
	if err == nil {
		n, err = unix.KeyctlBuffer(unix.KEYCTL_READ, id, buf, 0)
	}
	var errno syscall.Errno
	switch {
	case errors.As(err, &errno):
		fmt.Printf("KEY %s\n", errnoName(errno))
	case err != nil:
		fmt.Printf("KEY %v\n", err)
	default:
		fmt.Printf("KEY %s\n", buf[:min(n, len(buf))])
	}
}

// forks starts up to n children, each a bare fork that only waits for a
// signal: it makes system calls and nothing else, so needs none of the Go
// runtime's other threads.
func forks(n int) {
	for k := 0; k < n; k++ {
		pid, _, e := unix.RawSyscall6(unix.SYS_CLONE, uintptr(unix.SIGCHLD), 0, 0, 0, 0, 0)
		if e != 0 {
			fmt.Printf("FORKS %d %s\n", k, errnoName(e))
			return
		}
		if pid == 0 {
			for {
				unix.RawSyscall(unix.SYS_PAUSE, 0, 0, 0)
			}
		}
	}
	fmt.Printf("FORKS %d ok\n", n)
}
