// Command escape is run inside a jail by pkg/run's tests. Each mode prints
// JSON on stdout.
//
//	escape attempts FD PORT HOSTFILE VICTIM HOSTPID ABSTRACT SHMKEY
//	                          try every escape; one {"name","escaped","err"} per line
//	escape info               {"uid",...}: who and where the process is
//	escape sleep              sleep until killed
//	escape trap CODE          exit CODE on SIGUSR1, CODE+1 on SIGTERM
//	escape exit CODE          exit CODE
//	escape ioctls             try TIOCSTI and TIOCLINUX on fd 0, also with
//	                          high bits set in the command; one result each
package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// secret is the name of a file that exists only outside the jail.
const secret = "OUTSIDE-SECRET"

type result struct {
	Name    string `json:"name"`
	Escaped bool   `json:"escaped"`
	Err     string `json:"err,omitempty"`
}

func report(name string, escaped bool, err error) {
	r := result{Name: name, Escaped: escaped}
	if err != nil {
		r.Err = err.Error()
	}
	json.NewEncoder(os.Stdout).Encode(r)
}

func main() {
	switch os.Args[1] {
	case "attempts":
		// Read before the chroot breakout, which, when it works, changes
		// what /bin/escape names.
		self, err := os.ReadFile(os.Args[0])
		if err != nil {
			panic(err)
		}
		fd, _ := strconv.Atoi(os.Args[2])
		attempts(fd, os.Args[3], os.Args[4])
		victim, _ := strconv.Atoi(os.Args[5])
		hostPid, _ := strconv.Atoi(os.Args[6])
		key, _ := strconv.Atoi(os.Args[8])
		outside(victim, hostPid, os.Args[7], key, self)
	case "info":
		info()
	case "sleep":
		for {
			time.Sleep(time.Hour)
		}
	case "trap":
		code, _ := strconv.Atoi(os.Args[2])
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGUSR1, syscall.SIGTERM)
		fmt.Println("ready")
		if <-c == syscall.SIGTERM {
			code++
		}
		os.Exit(code)
	case "exit":
		code, _ := strconv.Atoi(os.Args[2])
		os.Exit(code)
	case "ioctls":
		ioctls()
	}
}

// ioctls tries the terminal ioctls seccomp denies on fd 0, also with the
// high 32 bits of the command set (the kernel uses only the low ones).
func ioctls() {
	for _, c := range []struct {
		name string
		cmd  uint64
	}{
		{"TIOCSTI", unix.TIOCSTI}, {"TIOCSTI-high", unix.TIOCSTI | 1<<32},
		{"TIOCLINUX", unix.TIOCLINUX}, {"TIOCLINUX-high", unix.TIOCLINUX | 0xffffffff00000000},
	} {
		b := byte(3) // TIOCLINUX's subcode TIOCL_GETSHIFTSTATE; TIOCSTI's byte
		_, _, e := unix.Syscall(unix.SYS_IOCTL, 0, uintptr(c.cmd), uintptr(unsafe.Pointer(&b)))
		var err error
		if e != 0 {
			err = e
		}
		report(c.name, e == 0, err)
	}
}

// outside tries to reach, by means other than files, what lies outside the
// jail: victim, a host process of the jail's own uid; hostPid, any other
// host process; abstract, a host's abstract unix socket; key, a System V
// shared memory segment of the host; io_uring, whose operations a
// seccomp filter never sees; and running a program written at run time
// into a memfd (self, this program), which no noexec mount covers.
func outside(victim, hostPid int, abstract string, key int, self []byte) {
	err := unix.PtraceSeize(victim)
	report("ptrace-host", err == nil, err)

	err = unix.Kill(victim, 0)
	report("signal-host", err == nil, err)

	err = unix.Kill(hostPid, 0)
	report("see-host-pid", err != unix.ESRCH, err)

	c, err := net.Dial("unix", "@"+abstract)
	if err == nil {
		c.Close()
	}
	report("abstract-socket", err == nil, err)

	id, err := unix.SysvShmGet(key, 0, 0)
	if err == nil {
		var b []byte
		if b, err = unix.SysvShmAttach(id, 0, 0); err == nil {
			unix.SysvShmDetach(b)
		}
	}
	report("shm-attach", err == nil, err)

	var params [120]byte // struct io_uring_params, zeroed
	r, _, e := unix.Syscall(unix.SYS_IO_URING_SETUP, 1, uintptr(unsafe.Pointer(&params[0])), 0)
	err = nil
	if e != 0 {
		err = e
	} else {
		unix.Close(int(r))
	}
	report("io-uring", e == 0, err)

	err = memfdExec(self)
	report("memfd-exec", err == nil, err)
}

// memfdExec copies self, this program, into a memfd and runs the copy as
// fexecve(3) does, execveat(fd, "", AT_EMPTY_PATH), in a child: nil when
// the copy ran ("escape exit 42").
func memfdExec(self []byte) error {
	fd, err := unix.MemfdCreate("escape", unix.MFD_CLOEXEC)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, self); err != nil {
		return err
	}
	empty := cstring("")
	argv := []*byte{cstring(os.Args[0]), cstring("exit"), cstring("42"), nil}
	env := []*byte{nil}
	// A bare fork whose child makes one system call and exits: nothing in
	// it allocates, takes a lock or needs the Go runtime's other threads.
	pid, _, e := unix.RawSyscall6(unix.SYS_CLONE, uintptr(unix.SIGCHLD), 0, 0, 0, 0, 0)
	if e != 0 {
		return e
	}
	if pid == 0 {
		_, _, e := unix.RawSyscall6(unix.SYS_EXECVEAT, uintptr(fd), uintptr(unsafe.Pointer(empty)),
			uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&env[0])), unix.AT_EMPTY_PATH, 0)
		unix.RawSyscall(unix.SYS_EXIT_GROUP, 100+uintptr(e), 0, 0)
	}
	var ws unix.WaitStatus
	if _, err := unix.Wait4(int(pid), &ws, 0, nil); err != nil {
		return err
	}
	switch {
	case ws.Exited() && ws.ExitStatus() == 42:
		return nil
	case ws.Exited() && ws.ExitStatus() > 100:
		return syscall.Errno(ws.ExitStatus() - 100)
	}
	return fmt.Errorf("the copy ended with status %v", ws)
}

func cstring(s string) *byte {
	b, err := unix.BytePtrFromString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func attempts(fd int, port, hostFile string) {
	err := unix.Setuid(0)
	report("setuid-0", err == nil && unix.Getuid() == 0, err)

	err = unix.Mknod("/data/blk", unix.S_IFBLK|0o600, int(unix.Mkdev(8, 0)))
	report("mknod-block", err == nil, err)

	err = unix.PtraceSeize(os.Getppid())
	report("ptrace-parent", err == nil, err)

	// A directory outside the jail, leaked to the launcher as fd.
	sfd, err := unix.Openat(fd, secret, unix.O_RDONLY, 0)
	if err == nil {
		unix.Close(sfd)
	}
	report("inherited-fd", err == nil, err)

	c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 5*time.Second)
	if err == nil {
		c.Close()
	}
	report("tcp-outside", err == nil, err)

	err = os.WriteFile("/tmp/written", []byte("x"), 0o600)
	report("write-undeclared", err == nil, err)

	_, err = unix.AddKey("user", "jailimg-test", []byte("x"), unix.KEY_SPEC_PROCESS_KEYRING)
	report("add-key", err == nil, err)

	err = unix.Unshare(unix.CLONE_NEWUSER)
	report("unshare-user", err == nil, err)

	// Positive controls: what the jail must still allow.
	err = os.WriteFile("/data/written", []byte("x"), 0o600)
	report("write-declared", err == nil, err)
	report("loopback-self", loopbackSelf() == nil, loopbackSelf())

	// Last: when it works, the root is no longer the jail's.
	escaped, err := breakout(hostFile)
	report("chroot-breakout", escaped, err)
}

// breakout is the classic chroot escape: chroot into a subdirectory, so the
// working directory is outside the root, walk up, chroot there, and look
// for hostFile, a host path outside the jail.
func breakout(hostFile string) (bool, error) {
	os.Mkdir("/data/x", 0o700)
	if err := unix.Chroot("/data/x"); err != nil {
		return false, err
	}
	for range 64 {
		unix.Chdir("..")
	}
	if err := unix.Chroot("."); err != nil {
		return false, err
	}
	_, err := os.Stat(hostFile)
	return err == nil, err
}

func loopbackSelf() error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer l.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		return err
	}
	return c.Close()
}

func info() {
	var st unix.Stat_t
	wd, _ := os.Getwd()
	mask := unix.Umask(0)
	var lim unix.Rlimit
	unix.Getrlimit(unix.RLIMIT_NOFILE, &lim)
	groups, _ := unix.Getgroups()
	var fds []int
	for fd := 0; fd < 1024; fd++ {
		if unix.Fstat(fd, &st) == nil {
			fds = append(fds, fd)
		}
	}
	json.NewEncoder(os.Stdout).Encode(map[string]any{
		"uid": unix.Getuid(), "gid": unix.Getgid(), "groups": groups,
		"cwd": wd, "env": os.Environ(), "umask": mask, "nofile": lim.Cur,
		"fds": fds, "args": os.Args,
	})
}
