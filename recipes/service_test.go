package recipes_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jailimg/jailimg/internal/runtest"
)

// service is a jail started with `jailimg run`.
type service struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan struct{}
	err            error // cmd.Wait's, once done is closed
}

// start runs `jailimg run ARGS...`. Cleanup kills whatever is left of it.
func start(t *testing.T, args ...string) *service {
	t.Helper()
	s := &service{done: make(chan struct{})}
	s.cmd = exec.Command(jailimgBin, append([]string{"run"}, args...)...)
	s.cmd.Stdout, s.cmd.Stderr = &s.stdout, &s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.err = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		if !s.exited() {
			s.cmd.Process.Kill() // the init dies with it (parent-death signal), and the jail with the init
			<-s.done
		}
	})
	return s
}

func (s *service) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// pid returns the service's host pid: the child of the jail's init, which
// is the child of jailimg run.
func (s *service) pid() (int, error) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, task := range tasks {
		raw, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", s.cmd.Process.Pid, task.Name()))
		if f := strings.Fields(string(raw)); len(f) > 0 {
			initPid, _ := strconv.Atoi(f[0])
			return runtest.Service(initPid)
		}
	}
	return 0, errors.New("jailimg run has no child yet")
}

// root is the service's root, its view of the jail, as a host path.
func (s *service) root(t *testing.T) string {
	t.Helper()
	pid, err := s.pid()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("/proc/%d/root", pid)
}

// errExited says the service ended while we waited for it.
var errExited = errors.New("service exited")

// waitReady polls, a bounded number of times, until the service runs and
// the port accepts TCP connections.
func (s *service) waitReady(port int) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for try := 0; try < 300; try++ {
		if s.exited() {
			return fmt.Errorf("%w (%v): %s", errExited, s.err, s.stderr.String())
		}
		if _, err := s.pid(); err == nil {
			if c, err := net.Dial("tcp", addr); err == nil {
				c.Close()
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s not listening after 300 tries", addr)
}

// stop sends SIGTERM to jailimg run, which forwards it, waits for the exit
// and returns the exit code.
func (s *service) stop(t *testing.T) int {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-s.done
	var ee *exec.ExitError
	if errors.As(s.err, &ee) {
		return ee.ExitCode()
	}
	if s.err != nil {
		t.Fatal(s.err)
	}
	return 0
}

// tree returns pid and its live descendants, from /proc.
func tree(pid int) []int {
	children := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …: comm may hold spaces, so cut at the last ')'.
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) > 1 {
			pp, _ := strconv.Atoi(f[1])
			children[pp] = append(children[pp], p)
		}
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// confined checks every process of the service: uid and gid everywhere, no
// supplementary groups, no capabilities, no_new_privs and a seccomp filter.
func confined(t *testing.T, pid int, uid, gid uint32) {
	t.Helper()
	procs := tree(pid)
	for _, p := range procs {
		err := runtest.Confined(p, uid, gid, nil)
		if errors.Is(err, os.ErrNotExist) {
			continue // ended meanwhile
		}
		if err != nil {
			t.Error(err)
			continue
		}
		if st, err := runtest.ReadStatus(p); err == nil && st.Seccomp != 2 {
			t.Errorf("pid %d: Seccomp %d, want 2 (filter)", p, st.Seccomp)
		}
	}
	t.Logf("%d processes confined as %d:%d", len(procs), uid, gid)
}
