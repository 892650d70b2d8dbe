package main

import (
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
)

// escapeBinary builds pkg/run's escape program statically, once per test binary.
func escapeBinary(t *testing.T) string {
	return testutil.StaticProgram(t, "../../pkg/run/testdata/escape")
}

// hostDoors is what a jail could reach on the host besides files: a host
// process running as the jail's service user (the victim: another jail's
// service, or the host's own), the pid of any other host process, an
// abstract unix socket, a System V shared memory segment any uid may
// attach.
type hostDoors struct {
	victim, hostPid int
	abstract        string
	shmKey          int
}

// openHostDoors starts the victim as uid 1000 and creates the socket and
// the segment; all go when the test ends.
func openHostDoors(t *testing.T) hostDoors {
	t.Helper()
	dir, err := os.MkdirTemp("", "jailimg-host-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil { // uid 1000 runs the victim from here
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "victim")
	testutil.CopyFile(t, escapeBinary(t), bin, 0o755)
	victim := exec.Command(bin, "sleep")
	victim.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 1000, Gid: 1000}}
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { victim.Process.Kill(); victim.Wait() })
	d := hostDoors{victim: victim.Process.Pid, hostPid: os.Getpid(),
		abstract: "jailimg-cli-escape-" + strconv.Itoa(os.Getpid()), shmKey: 0x4a4a0000 | os.Getpid()&0xffff}
	l, err := net.Listen("unix", "@"+d.abstract)
	if err != nil {
		t.Fatal(err)
	}
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
	id, err := unix.SysvShmGet(d.shmKey, 4096, unix.IPC_CREAT|unix.IPC_EXCL|0o666)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.SysvShmCtl(id, unix.IPC_RMID, nil) })
	return d
}

// args are the escape program's arguments after its entrypoint: its file
// and network attempts get a descriptor, a port and a host path that lead
// nowhere (pkg/run's TestEscapes covers them), the rest the host's doors.
func (d hostDoors) args() []string {
	return []string{"attempts", "99", "1", "/nonexistent",
		strconv.Itoa(d.victim), strconv.Itoa(d.hostPid), d.abstract, strconv.Itoa(d.shmKey)}
}

// outsideEscapes are the ways out of a chroot other than files that issue
// 15 closes by default.
var outsideEscapes = []string{"ptrace-host", "signal-host", "see-host-pid", "abstract-socket", "shm-attach", "io-uring"}

// escapeRecipe is an image with the escape program as its entrypoint, a
// service user, and no run: policy at all.
const escapeRecipe = `name: escape
files:
  - {src: escape, dst: /bin/escape, mode: 0755}
users:
  - {name: svc, uid: 1000, gid: 1000}
groups:
  - {name: svc, gid: 1000}
entrypoint: [/bin/escape]
cmd: [sleep]
user: svc
`

// TestRunEscapesDefaults builds (jailimg build) and unpacks (jailimg
// unpack) an image whose recipe has no run: policy, and runs its escape
// program with plain `jailimg run TARGET ARGS...`, no flag at all, as an
// admin would: ptrace and signal a host process of the service's own uid,
// see a host pid, connect to a host abstract unix socket, attach a host
// shared memory segment and set up io_uring each fail. The control, the
// same run with --no-seccomp --no-landlock --pid host --ipc host, succeeds
// at each: the test sees an escape when there is one.
func TestRunEscapesDefaults(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	testutil.CopyFile(t, escapeBinary(t), filepath.Join(dir, "escape"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, "escape.yaml"), []byte(escapeRecipe), 0o644); err != nil {
		t.Fatal(err)
	}
	mustJailimg(t, dir, nil, "-q", "build", "-o", "escape.oci", "escape.yaml")
	mustJailimg(t, dir, nil, "-q", "unpack", "escape.oci", "escape.jail")
	target := filepath.Join(dir, "escape.jail")
	doors := openHostDoors(t)
	for _, tt := range []struct {
		name    string
		flags   []string
		escaped bool
	}{
		{"plain jailimg run", nil, false},
		{"control: every default opted out", []string{"--no-seccomp", "--no-landlock", "--pid", "host", "--ipc", "host"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append(append([]string{"run"}, tt.flags...), target), doors.args()...)
			got := runtest.Attempts(t, []byte(mustJailimg(t, dir, nil, args...)))
			for _, name := range outsideEscapes {
				t.Run(name, func(t *testing.T) {
					a, ok := got[name]
					if !ok {
						t.Fatalf("no result for %s", name)
					}
					if a.Escaped != tt.escaped {
						t.Errorf("%s: escaped=%v (err %q), want escaped=%v", name, a.Escaped, a.Err, tt.escaped)
					}
				})
			}
		})
	}
}
