package run_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/jailimg/jailimg/internal/runtest"
	"github.com/jailimg/jailimg/pkg/run"
)

type attempt struct {
	Name    string `json:"name"`
	Escaped bool   `json:"escaped"`
	Err     string `json:"err"`
}

// outside is what lies outside a jail: a directory holding a secret file,
// leaked into this process as a descriptor without close-on-exec (so every
// child of the launcher inherits it), and a TCP server on host loopback.
type outside struct {
	dir, secret string
	fd          int
	port        string
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
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return &outside{dir: dir, secret: secret, fd: fd, port: port}
}

func (o *outside) args() []string {
	return []string{"/bin/escape", "attempts", strconv.Itoa(o.fd), o.port, o.secret}
}

func parseAttempts(t *testing.T, out []byte) map[string]attempt {
	t.Helper()
	got := map[string]attempt{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var a attempt
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatalf("escape output %q: %v", sc.Text(), err)
		}
		got[a.Name] = a
	}
	return got
}

// TestEscapes runs the escape program three ways and asserts each attempt
// separately: as root in a plain chroot (the control: the attempts work and
// the test can see an escape), in jailimg run with privileges dropped only,
// and with seccomp, Landlock and --network none on top.
func TestEscapes(t *testing.T) {
	runtest.NeedRoot(t, "chroot, setuid and building jails owned by another user")
	out := newOutside(t)

	escapes := []string{"chroot-breakout", "setuid-0", "mknod-block", "ptrace-parent",
		"inherited-fd", "tcp-outside", "write-undeclared", "add-key", "write-declared", "loopback-self"}
	tests := []struct {
		name    string
		plain   bool
		opts    []run.Option
		escaped map[string]bool // attempts expected to succeed; the rest must fail
	}{
		{
			name:  "control: plain chroot as root",
			plain: true,
			escaped: map[string]bool{"chroot-breakout": true, "setuid-0": true, "mknod-block": true,
				"ptrace-parent": true, "inherited-fd": true, "tcp-outside": true, "write-undeclared": true,
				"add-key": true, "write-declared": true, "loopback-self": true},
		},
		{
			name: "run: chroot and privilege drop",
			escaped: map[string]bool{"tcp-outside": true, "write-undeclared": true, "add-key": true,
				"write-declared": true, "loopback-self": true},
		},
		{
			name:    "run: seccomp, landlock, network none",
			opts:    []run.Option{run.WithSeccomp(true), run.WithLandlock(true), run.WithWritable("/data"), run.WithNetwork("none"), run.WithStrict()},
			escaped: map[string]bool{"write-declared": true, "loopback-self": true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jail := makeJail(t)
			var stdout, stderr bytes.Buffer
			if tt.plain {
				cmd := exec.Command(out.args()[0], out.args()[1:]...)
				cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: jail}
				cmd.Dir = "/"
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				if err := cmd.Run(); err != nil {
					t.Fatalf("plain chroot: %v\n%s", err, stderr.String())
				}
			} else {
				opts := append([]run.Option{run.WithUser("svc"), run.WithCommand(out.args()),
					run.WithStdio(nil, &stdout, &stderr)}, tt.opts...)
				if err := run.Run(context.Background(), jail, opts...); err != nil {
					t.Fatalf("run: %v\n%s", err, stderr.String())
				}
			}
			got := parseAttempts(t, stdout.Bytes())
			for _, name := range escapes {
				t.Run(name, func(t *testing.T) {
					a, ok := got[name]
					if !ok {
						t.Fatalf("no result for %s in %q", name, stdout.String())
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
			got := parseAttempts(t, stdout.Bytes())
			for _, name := range names {
				if a, ok := got[name]; !ok || a.Escaped || a.Err != tt.want {
					t.Errorf("%s: %+v, want it to fail with %q", name, a, tt.want)
				}
			}
		})
	}
}
