package testutil

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// Console is a real pseudo-terminal for tests that play the operator at a
// terminal: the test types on Master and reads the screen from it, and the
// programs under test get Slave as their controlling terminal, as a login
// shell has it. It is allocated through /dev/ptmx here, independently of
// jailimg's own pty code.
type Console struct {
	Master *os.File
	Slave  *os.File

	mu     sync.Mutex
	cond   *sync.Cond
	screen []byte
	closed bool
}

// NewConsole allocates a pty pair, starts recording what is written to the
// terminal, and releases both ends when t ends.
func NewConsole(t testing.TB) *Console {
	t.Helper()
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatalf("opening /dev/ptmx: %v", err)
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(fd)
		t.Fatalf("unlocking the pty: %v", err)
	}
	sfd, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if errno != 0 {
		unix.Close(fd)
		t.Fatalf("opening the pty's slave: %v", errno)
	}
	c := &Console{Master: os.NewFile(uintptr(fd), "ptmx"), Slave: os.NewFile(sfd, "pts")}
	c.cond = sync.NewCond(&c.mu)
	go c.record()
	t.Cleanup(func() {
		c.Slave.Close()
		c.Master.Close()
	})
	return c
}

func (c *Console) record() {
	buf := make([]byte, 4096)
	for {
		n, err := c.Master.Read(buf)
		c.mu.Lock()
		c.screen = append(c.screen, buf[:n]...)
		c.closed = err != nil
		c.cond.Broadcast()
		c.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// Type writes s to the terminal as if typed.
func (c *Console) Type(t testing.TB, s string) {
	t.Helper()
	if _, err := c.Master.Write([]byte(s)); err != nil {
		t.Fatalf("typing %q: %v", s, err)
	}
}

// WaitFor waits until what the terminal showed from offset from on matches
// re, and returns the offset just after the match and its submatches. It
// fails t when the terminal closes first.
func (c *Console) WaitFor(t testing.TB, from int, re *regexp.Regexp) (int, []string) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		if from <= len(c.screen) {
			if loc := re.FindSubmatchIndex(c.screen[from:]); loc != nil {
				m := make([]string, len(loc)/2)
				for i := range m {
					if loc[2*i] >= 0 {
						m[i] = string(c.screen[from+loc[2*i] : from+loc[2*i+1]])
					}
				}
				return from + loc[1], m
			}
		}
		if c.closed {
			t.Fatalf("the terminal closed before showing %q; it showed:\n%s", re, c.screen)
		}
		c.cond.Wait()
	}
}

// Screen returns what the terminal showed from offset from to now.
func (c *Console) Screen(from int) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.screen[min(from, len(c.screen)):])
}

// Attach makes cmd run in a new session with the console as its
// controlling terminal and its stdin, stdout and stderr (when unset).
func (c *Console) Attach(cmd *exec.Cmd) {
	cmd.Stdin = c.Slave
	if cmd.Stdout == nil {
		cmd.Stdout = c.Slave
	}
	if cmd.Stderr == nil {
		cmd.Stderr = c.Slave
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
}

// SetSize sets the terminal's window size; the kernel sends SIGWINCH to its
// foreground process group.
func (c *Console) SetSize(t testing.TB, rows, cols uint16) {
	t.Helper()
	rc, err := c.Master.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	rc.Control(func(fd uintptr) {
		err = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols})
	})
	if err != nil {
		t.Fatalf("setting the window size: %v", err)
	}
}
