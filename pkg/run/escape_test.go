package run_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/jailimg/jailimg/internal/runtest"
	"github.com/jailimg/jailimg/internal/testutil"
	"github.com/jailimg/jailimg/pkg/run"
)

// outside is what lies outside a jail: a directory holding a secret file,
// leaked into this process as a descriptor without close-on-exec (so every
// child of the launcher inherits it), a TCP server on host loopback, a
// host process running as the jail's user (the victim), an abstract unix
// socket and a System V shared memory segment of the host.
type outside struct {
	dir, secret string
	fd          int
	port        string
	victim      int
	abstract    string
	shmKey      int
}

func newOutside(t *testing.T) *outside {
	t.Helper()
	dir, err := os.MkdirTemp("", "jailimg-outside-")
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	must(t, os.Chmod(dir, 0o755))
	secret := filepath.Join(dir, "OUTSIDE-SECRET")
	must(t, os.WriteFile(secret, []byte("secret"), 0o644))
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0) // no O_CLOEXEC: a leak
	must(t, err)
	t.Cleanup(func() { unix.Close(fd) })
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	must(t, err)
	t.Cleanup(func() { l.Close() })
	go acceptAll(l)
	_, port, _ := net.SplitHostPort(l.Addr().String())
	o := &outside{dir: dir, secret: secret, fd: fd, port: port}
	o.hostIPC(t)
	return o
}

// hostIPC starts what a jail could reach besides files: the victim (a host
// process of the jail user's uid, as another jail's or the host's own
// service would be), an abstract unix socket, a shared memory segment any
// uid may attach.
func (o *outside) hostIPC(t *testing.T) {
	t.Helper()
	bin := filepath.Join(o.dir, "victim") // where uid svcUID may run it
	testutil.CopyFile(t, escapeBinary(t), bin, 0o755)
	victim := exec.Command(bin, "sleep")
	victim.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: svcUID, Gid: svcGID}}
	must(t, victim.Start())
	t.Cleanup(func() { victim.Process.Kill(); victim.Wait() })
	o.victim = victim.Process.Pid
	o.abstract = "jailimg-escape-" + strconv.Itoa(os.Getpid())
	l, err := net.Listen("unix", "@"+o.abstract)
	must(t, err)
	t.Cleanup(func() { l.Close() })
	go acceptAll(l)
	o.shmKey = 0x4a490000 | os.Getpid()&0xffff
	id, err := unix.SysvShmGet(o.shmKey, 4096, unix.IPC_CREAT|unix.IPC_EXCL|0o666)
	must(t, err)
	t.Cleanup(func() { unix.SysvShmCtl(id, unix.IPC_RMID, nil) })
}

func acceptAll(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}

func (o *outside) args() []string {
	return []string{"/bin/escape", "attempts", strconv.Itoa(o.fd), o.port, o.secret,
		strconv.Itoa(o.victim), strconv.Itoa(os.Getpid()), o.abstract, strconv.Itoa(o.shmKey)}
}

// allEscapes are the escape program's attempts: first the ways out of a
// chroot through files, credentials and the network, then those outside
// the file system that issue 15 closes by default (ptrace or signal a host
// process of the jail user's uid, see host processes, connect to a host's
// abstract socket, attach its shared memory, set up io_uring), and running
// a program it wrote into a memfd, which no noexec mount covers.
var allEscapes = []string{"chroot-breakout", "setuid-0", "mknod-block", "ptrace-parent",
	"inherited-fd", "tcp-outside", "write-undeclared", "add-key", "write-declared", "loopback-self",
	"ptrace-host", "signal-host", "see-host-pid", "abstract-socket", "shm-attach", "io-uring", "memfd-exec"}

// escaped lists the attempts expected to succeed.
func escaped(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

// TestEscapes runs the escape program four ways and asserts each attempt
// separately: as root in a plain chroot (the control: every attempt works
// and the test can see an escape); with jailimg run's defaults, no option
// but the user and the command, as a plain `jailimg run TARGET` of an image
// without a run policy; with every default confinement opted out
// (--no-seccomp --no-landlock --pid host --ipc host: the control of the
// defaults, where the ways out of issue 15 work again); and hardened, with
// a declared writable directory and no network.
func TestEscapes(t *testing.T) {
	runtest.NeedRoot(t, "chroot, setuid and building jails owned by another user")
	out := newOutside(t)
	tests := []struct {
		name    string
		plain   bool
		opts    []run.Option
		escaped map[string]bool // attempts expected to succeed; the rest must fail
	}{
		{name: "control: plain chroot as root", plain: true, escaped: escaped(allEscapes...)},
		{name: "run: defaults", escaped: escaped("tcp-outside", "loopback-self")},
		{
			name: "run: every default opted out",
			opts: []run.Option{run.WithSeccomp(false), run.WithLandlock(false), run.WithPID("host"), run.WithIPC("host")},
			escaped: escaped("tcp-outside", "add-key", "loopback-self",
				"ptrace-host", "signal-host", "see-host-pid", "abstract-socket", "shm-attach", "io-uring", "memfd-exec"),
		},
		{
			name:    "run: hardened, /data declared, network none",
			opts:    []run.Option{run.WithTmpfs("/data"), run.WithNetwork("none"), run.WithStrict()},
			escaped: escaped("write-declared", "loopback-self"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runEscape(t, makeJail(t), out, tt.plain, tt.opts)
			for _, name := range allEscapes {
				t.Run(name, func(t *testing.T) {
					a, ok := got[name]
					if !ok {
						t.Fatalf("no result for %s", name)
					}
					if a.Escaped != tt.escaped[name] {
						t.Errorf("%s: escaped=%v (err %q), want escaped=%v", name, a.Escaped, a.Err, tt.escaped[name])
					}
				})
			}
			if a := got["unshare-user"]; a.Escaped {
				t.Errorf("unshare-user succeeded in a chroot: %+v", a)
			}
		})
	}
}

// runEscape runs the escape program's attempts in jail, in a plain chroot
// as root or with run.Run as svc, and returns its results by name.
func runEscape(t *testing.T, jail string, out *outside, plain bool, opts []run.Option) map[string]runtest.Attempt {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if plain {
		cmd := exec.Command(out.args()[0], out.args()[1:]...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: jail}
		cmd.Dir = "/"
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("plain chroot: %v\n%s", err, stderr.String())
		}
	} else {
		opts = append([]run.Option{run.WithUser("svc"), run.WithCommand(out.args()),
			run.WithStdio(nil, &stdout, &stderr)}, opts...)
		if err := run.Run(context.Background(), jail, opts...); err != nil {
			t.Fatalf("run: %v\n%s", err, stderr.String())
		}
	}
	return runtest.Attempts(t, stdout.Bytes())
}

// TestTTYIoctls runs the terminal ioctls TIOCSTI and TIOCLINUX, also with
// high bits set in the command, on the service's stdin (/dev/null) under
// the kernel's own filter: with seccomp, the default profile or one that
// denies nothing, each fails with EPERM, the filter's answer; without, the
// kernel answers ENOTTY, which shows that the filter is what refused.
func TestTTYIoctls(t *testing.T) {
	runtest.NeedRoot(t, "privilege drop")
	jail := makeJail(t)
	names := []string{"TIOCSTI", "TIOCSTI-high", "TIOCLINUX", "TIOCLINUX-high"}
	tests := []struct {
		name string
		opts []run.Option
		want string
	}{
		{"default profile", []run.Option{run.WithSeccomp(true)}, unix.EPERM.Error()},
		{"empty profile", []run.Option{run.WithSeccompProfile(&run.Profile{})}, unix.EPERM.Error()},
		{"control: no seccomp", []run.Option{run.WithSeccomp(false)}, unix.ENOTTY.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			opts := append([]run.Option{run.WithUser("svc"), run.WithCommand([]string{"/bin/escape", "ioctls"}),
				run.WithStdio(nil, &stdout, &stderr), run.WithStrict()}, tt.opts...)
			if err := run.Run(context.Background(), jail, opts...); err != nil {
				t.Fatalf("run: %v\n%s", err, stderr.String())
			}
			got := runtest.Attempts(t, stdout.Bytes())
			for _, name := range names {
				if a, ok := got[name]; !ok || a.Escaped || a.Err != tt.want {
					t.Errorf("%s: %+v, want it to fail with %q", name, a, tt.want)
				}
			}
		})
	}
}
