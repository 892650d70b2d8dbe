package pty

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// ErrNotTerminal is returned by New when the operator's side is not a terminal.
var ErrNotTerminal = errors.New("not a terminal")

// grace is how long Close keeps copying the service's output once the
// service has ended while a process it left behind still holds the slave.
const grace = 250 * time.Millisecond

// Pty is a pseudo-terminal allocated for one service, and the relay
// between it and the operator's terminal.
type Pty struct {
	term   *os.File // the operator's terminal
	termFd int
	master *os.File // non-blocking: reads and writes end on Close's deadline
	slave  *os.File // the service's; jailimg's copy is closed by Start

	state   *term.State // term's mode before Start; nil until then
	winch   chan os.Signal
	wake    [2]int // closing wake[1] stops the input copier
	outDone chan struct{}
	inDone  chan struct{}
}

// New allocates a pty for a service and gives it the window size of tty,
// the operator's terminal, which must be one (ErrNotTerminal).
func New(tty *os.File) (*Pty, error) {
	fd := int(tty.Fd())
	if !term.IsTerminal(fd) {
		return nil, fmt.Errorf("%s: %w", tty.Name(), ErrNotTerminal)
	}
	master, slave, err := open()
	if err != nil {
		return nil, err
	}
	p := &Pty{term: tty, termFd: fd, master: master, slave: slave, wake: [2]int{-1, -1}}
	if err := p.resize(); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// open allocates a pty pair. The slave is opened from the master
// (TIOCGPTPEER, Linux 4.13), never by its name under /dev/pts.
func open() (master, slave *os.File, err error) {
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("opening /dev/ptmx: %w", err)
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(fd)
		return nil, nil, fmt.Errorf("unlocking the pty: %w", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		unix.Close(fd)
		return nil, nil, fmt.Errorf("pty number: %w", err)
	}
	sfd, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if errno != 0 {
		unix.Close(fd)
		return nil, nil, fmt.Errorf("opening the pty's slave (TIOCGPTPEER): %w", errno)
	}
	// The master is non-blocking, so os.File polls it and Close's deadlines
	// end a copy blocked on it; the slave stays blocking for the service.
	return os.NewFile(uintptr(fd), "/dev/ptmx"), os.NewFile(sfd, fmt.Sprintf("/dev/pts/%d", n)), nil
}

// Slave returns the pty's slave, for the service's stdin, stdout, stderr
// and controlling terminal.
func (p *Pty) Slave() *os.File { return p.slave }

// resize gives the pty the operator's window size.
func (p *Pty) resize() error {
	ws, err := unix.IoctlGetWinsize(p.termFd, unix.TIOCGWINSZ)
	if err != nil {
		return fmt.Errorf("window size of %s: %w", p.term.Name(), err)
	}
	rc, err := p.master.SyscallConn()
	if err != nil {
		return err
	}
	if cerr := rc.Control(func(fd uintptr) { err = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, ws) }); cerr != nil {
		return cerr
	}
	if err != nil {
		return fmt.Errorf("setting the pty's window size: %w", err)
	}
	return nil
}

// Start begins the relay once the service holds the slave: it closes
// jailimg's copy of the slave, puts the operator's terminal in raw mode,
// and copies the terminal's input to the pty and the pty's output to out
// (nil: discarded), following the window size on SIGWINCH until Close.
func (p *Pty) Start(out io.Writer) error {
	if out == nil {
		out = io.Discard
	}
	p.slave.Close()
	p.slave = nil
	if err := unix.Pipe2(p.wake[:], unix.O_CLOEXEC); err != nil {
		return fmt.Errorf("pipe: %w", err)
	}
	state, err := term.MakeRaw(p.termFd)
	if err != nil {
		unix.Close(p.wake[0])
		unix.Close(p.wake[1])
		return fmt.Errorf("raw mode on %s: %w", p.term.Name(), err)
	}
	p.state = state
	p.winch = make(chan os.Signal, 1)
	signal.Notify(p.winch, syscall.SIGWINCH)
	go func() {
		for range p.winch {
			_ = p.resize() // a terminal gone away is noticed by the copiers
		}
	}()
	_ = p.resize() // it may have changed since New
	p.outDone, p.inDone = make(chan struct{}), make(chan struct{})
	go p.output(out)
	go p.input()
	return nil
}

// output copies the pty's output to out until every copy of the slave is
// closed (EIO) or Close's deadline passes. A failing out does not stop the
// draining, so that the service never blocks on a full pty.
func (p *Pty) output(out io.Writer) {
	defer close(p.outDone)
	buf := make([]byte, 32<<10)
	for {
		n, err := p.master.Read(buf)
		if n > 0 {
			if _, werr := out.Write(buf[:n]); werr != nil {
				out = io.Discard
			}
		}
		if err != nil {
			return
		}
	}
}

// input copies the operator's terminal to the pty. It polls the terminal
// beside the wake pipe, so that Close can stop it without a read left
// pending on the terminal (which would steal the operator's next key).
func (p *Pty) input() {
	defer close(p.inDone)
	fds := []unix.PollFd{{Fd: int32(p.termFd), Events: unix.POLLIN}, {Fd: int32(p.wake[0]), Events: unix.POLLIN}}
	buf := make([]byte, 4<<10)
	for {
		if _, err := unix.Poll(fds, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			return
		}
		if fds[1].Revents != 0 {
			return
		}
		if fds[0].Revents == 0 {
			continue
		}
		n, err := unix.Read(p.termFd, buf)
		if err == unix.EINTR || err == unix.EAGAIN {
			continue
		}
		if err != nil || n <= 0 {
			return // the terminal hung up
		}
		if _, err := p.master.Write(buf[:n]); err != nil {
			return
		}
	}
}

// Close ends the relay after the service has ended: it copies what the
// service left in the pty, stops reading the terminal, restores the
// terminal's mode and releases the pty. Without Start it only releases the
// pty.
func (p *Pty) Close() error {
	var err error
	if p.slave != nil {
		p.slave.Close()
	}
	if p.state != nil {
		_ = p.master.SetReadDeadline(time.Now().Add(grace))
		<-p.outDone
		_ = p.master.SetWriteDeadline(time.Now())
		unix.Close(p.wake[1])
		<-p.inDone
		unix.Close(p.wake[0])
		signal.Stop(p.winch)
		close(p.winch)
		if rerr := term.Restore(p.termFd, p.state); rerr != nil {
			err = fmt.Errorf("restoring %s: %w", p.term.Name(), rerr)
		}
		p.state = nil
	}
	if cerr := p.master.Close(); err == nil && cerr != nil && !errors.Is(cerr, os.ErrClosed) {
		err = cerr
	}
	return err
}
