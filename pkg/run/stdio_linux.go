package run

import (
	"io"
	"log/slog"
	"os"
	"sync"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// stdio returns the standard streams the jail's init gets, from those of
// WithStdio: never a terminal or a file of the host, whose descriptor would
// let the service do more than read and write. A terminal lets it change
// the operator's line discipline and modes (TIOCSETD, TCSETS), stop its
// output (TCXONC) and read the keystrokes meant for the operator's shell
// while it runs in the background; a file lets it clear O_APPEND, rewrite
// and truncate what was written before (a log file shared with earlier
// runs). So, as `docker run` without -i and -t does:
//
//   - a terminal on stdin is not passed: the service reads /dev/null (with
//     WithTTY it gets a pty of its own instead);
//   - stdout and stderr that are anything but a pipe, a socket or
//     /dev/null are relayed: the service writes to a pipe, and this
//     process copies what it writes to the stream, until every process of
//     the jail has closed it. When stdout and stderr are the same file
//     (2>&1) they share one pipe, so their order is kept. A write to the
//     stream that fails (a full disk, a terminal hung up) is logged once
//     and the pipe is still drained, so the service gets neither EPIPE
//     nor SIGPIPE for it and the relay goes on once the stream takes
//     writes again.
func stdio(o *options) (io.Reader, io.Writer, io.Writer) {
	in := o.stdin
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		in = nil // exec.Cmd opens /dev/null
	}
	same := sameFile(o.stdout, o.stderr)
	out := relayed(o.stdout, o.logger)
	if same {
		return in, out, out
	}
	return in, out, relayed(o.stderr, o.logger)
}

// relayWriter hides the *os.File it writes to from exec.Cmd, which then
// gives the child a pipe and copies from it.
type relayWriter struct {
	f      *os.File
	logger *slog.Logger
	once   sync.Once
}

// Write writes p to the file and reports it written, whatever the file
// said: exec.Cmd stops copying, and closes the pipe, at the first error.
func (w *relayWriter) Write(p []byte) (int, error) {
	if _, err := w.f.Write(p); err != nil {
		w.once.Do(func() {
			w.logger.Warn("the service's output is lost while its stream fails", "stream", w.f.Name(), "err", err)
		})
	}
	return len(p), nil
}

// relayed returns w, or a relayWriter for w when it is a file the jail
// must not hold (see stdio).
func relayed(w io.Writer, logger *slog.Logger) io.Writer {
	f, ok := w.(*os.File)
	if !ok {
		return w
	}
	var st unix.Stat_t
	if unix.Fstat(int(f.Fd()), &st) != nil {
		return &relayWriter{f: f, logger: logger}
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFIFO, unix.S_IFSOCK:
		return w
	case unix.S_IFCHR:
		if st.Rdev == unix.Mkdev(1, 3) { // /dev/null
			return w
		}
	}
	return &relayWriter{f: f, logger: logger}
}

// sameFile is whether a and b are the same file (os.SameFile: the same
// device and inode), as stdout and stderr are after 2>&1.
func sameFile(a, b io.Writer) bool {
	fa, ok1 := a.(*os.File)
	fb, ok2 := b.(*os.File)
	if !ok1 || !ok2 {
		return false
	}
	sa, err1 := fa.Stat()
	sb, err2 := fb.Stat()
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}
