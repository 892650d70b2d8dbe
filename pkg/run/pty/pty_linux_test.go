package pty_test

import (
	"errors"
	"os"
	"os/exec"
	"regexp"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/jailimg/jailimg/internal/testutil"
	"github.com/jailimg/jailimg/pkg/run/pty"
)

// TestRelay plays the operator's terminal with a console and runs a shell
// on a pty relayed to it: the shell sees the operator's window size, reads
// what the operator types and its output reaches the operator; after
// Close the operator's terminal has its mode back and nothing is left
// reading it (the next line typed is there for the next reader).
func TestRelay(t *testing.T) {
	con := testutil.NewConsole(t)
	con.SetSize(t, 24, 80)
	before, err := unix.IoctlGetTermios(int(con.Slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	p, err := pty.New(con.Slave)
	if err != nil {
		t.Fatal(err)
	}
	sh := exec.Command("/bin/sh", "-c", `stty size; read line; echo "got:$line"; exit 3`)
	sh.Stdin, sh.Stdout, sh.Stderr = p.Slave(), p.Slave(), p.Slave()
	sh.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(con.Slave); err != nil {
		t.Fatal(err)
	}
	if raw, _ := unix.IoctlGetTermios(int(con.Slave.Fd()), unix.TCGETS); raw.Lflag&unix.ICANON != 0 {
		t.Errorf("operator's terminal not in raw mode while relaying: lflag %#x", raw.Lflag)
	}
	at, _ := con.WaitFor(t, 0, regexp.MustCompile(`24 80`))
	con.Type(t, "hello\n")
	con.WaitFor(t, at, regexp.MustCompile(`got:hello`))
	var ee *exec.ExitError
	if err := sh.Wait(); !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Errorf("shell: %v, want exit status 3", err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	after, err := unix.IoctlGetTermios(int(con.Slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if *after != *before {
		t.Errorf("terminal mode not restored:\nbefore %+v\nafter  %+v", before, after)
	}
	con.Type(t, "next\n")
	buf := make([]byte, 64)
	n, err := con.Slave.Read(buf)
	if err != nil || string(buf[:n]) != "next\n" {
		t.Errorf("the operator's next line: %q, %v; want it unread by the relay", buf[:n], err)
	}
}

func TestNewNotTerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if _, err := pty.New(r); !errors.Is(err, pty.ErrNotTerminal) {
		t.Errorf("New(pipe) = %v, want ErrNotTerminal", err)
	}
}
