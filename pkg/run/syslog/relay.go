package syslog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultRate is the messages per second a jail may send when WithRate is
// not given; a burst may reach five times as many.
const DefaultRate = 200

// maxMessage bounds what is kept of one message, as RFC 3164 (1024 bytes)
// and common daemons (2048) do.
const maxMessage = 2048

// Relay is a jail's /dev/log socket and what it forwards to.
type Relay struct {
	conn   *net.UnixConn
	dir    string
	o      options
	tag    string
	out    int // unbound datagram socket to the host's syslog
	bucket bucket

	mu       sync.Mutex
	dropped  int       // messages dropped since the last report
	lastDrop time.Time // when the last report was sent
	warned   bool      // the fallback was announced
}

// Option configures Listen.
type Option func(*options)

type options struct {
	rate     int
	dest     string
	fallback io.Writer
	logger   *slog.Logger
	now      func() time.Time
}

// WithRate sets how many messages per second are forwarded (a burst may
// reach five seconds' worth). Default: DefaultRate.
func WithRate(perSecond int) Option { return func(o *options) { o.rate = perSecond } }

// WithDestination sets the host's syslog socket. Default: /dev/log.
func WithDestination(path string) Option { return func(o *options) { o.dest = path } }

// WithFallback receives the messages when the host has no syslog socket.
// Default: os.Stderr.
func WithFallback(w io.Writer) Option { return func(o *options) { o.fallback = w } }

// WithLogger receives the relay's own warnings. Default: discard.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// Listen binds a new datagram socket, mode 0666, in a new directory only
// root can enter, for the jail called name (its messages are tagged
// "jailimg/NAME").
func Listen(name string, opts ...Option) (*Relay, error) {
	o := options{rate: DefaultRate, dest: "/dev/log", fallback: os.Stderr, logger: slog.New(slog.DiscardHandler), now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if o.rate <= 0 {
		return nil, fmt.Errorf("syslog rate %d: want at least 1 message per second", o.rate)
	}
	dir, err := os.MkdirTemp("", "jailimg-syslog-")
	if err != nil {
		return nil, err
	}
	r := &Relay{dir: dir, o: o, tag: "jailimg/" + name, out: -1}
	r.bucket = bucket{rate: float64(o.rate), burst: float64(5 * o.rate), tokens: float64(5 * o.rate), last: o.now()}
	if err := r.bind(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return r, nil
}

// bind binds the jail's socket in r.dir and opens the socket to the host.
func (r *Relay) bind() error {
	p := r.Path()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: p, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("syslog socket: %w", err)
	}
	r.conn = conn
	if err := os.Chmod(p, 0o666); err != nil {
		conn.Close()
		return fmt.Errorf("syslog socket: %w", err)
	}
	out, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		conn.Close()
		return fmt.Errorf("syslog socket: %w", err)
	}
	r.out = out
	return nil
}

// Path is the socket's path, until Unlink.
func (r *Relay) Path() string { return filepath.Join(r.dir, "log") }

// Unlink removes the socket's name and directory; the socket keeps
// working where it is bound.
func (r *Relay) Unlink() error {
	if r.dir == "" {
		return nil
	}
	err := os.RemoveAll(r.dir)
	r.dir = ""
	return err
}

// Close stops Serve and closes the sockets.
func (r *Relay) Close() error {
	err := r.conn.Close()
	if r.out >= 0 {
		unix.Close(r.out)
	}
	if uerr := r.Unlink(); err == nil {
		err = uerr
	}
	return err
}

// Serve forwards messages until Close; it returns nil then.
func (r *Relay) Serve() error {
	buf := make([]byte, 64<<10)
	for {
		_ = r.conn.SetReadDeadline(time.Now().Add(time.Second))
		n, _, err := r.conn.ReadFromUnix(buf)
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			r.reportDrops(false)
			continue
		case errors.Is(err, net.ErrClosed):
			r.reportDrops(true)
			return nil
		case err != nil:
			return fmt.Errorf("syslog relay: %w", err)
		}
		r.handle(buf[:n])
	}
}

// handle forwards one message, or counts it dropped.
func (r *Relay) handle(msg []byte) {
	if !r.bucket.take(r.o.now()) {
		r.mu.Lock()
		r.dropped++
		r.mu.Unlock()
		return
	}
	r.reportDrops(false)
	pri, body := parse(msg)
	if !r.send(r.format(pri, body)) {
		r.mu.Lock()
		r.dropped++
		r.mu.Unlock()
	}
}

// reportDrops sends the count of dropped messages, when there is one and
// now is due (a second since the last report) or forced.
func (r *Relay) reportDrops(force bool) {
	r.mu.Lock()
	n, due := r.dropped, r.o.now().Sub(r.lastDrop) >= time.Second
	if n == 0 || !force && !due {
		r.mu.Unlock()
		return
	}
	r.dropped, r.lastDrop = 0, r.o.now()
	r.mu.Unlock()
	body := fmt.Sprintf("%d messages dropped (more than %d per second, or the host's syslog was full)", n, r.o.rate)
	r.send(r.format(priUserWarning, []byte(body)))
}

// priUserWarning is facility user (1), severity warning (4).
const priUserWarning = 1<<3 | 4

// format writes an RFC 3164 line: the PRI, the host's time, the tag, then
// the service's text.
func (r *Relay) format(pri int, body []byte) []byte {
	var b bytes.Buffer
	b.WriteString("<" + strconv.Itoa(pri) + ">")
	b.WriteString(r.o.now().Format(time.Stamp))
	b.WriteString(" " + r.tag + ": ")
	b.Write(body)
	return b.Bytes()
}

// send sends one line to the host's syslog without waiting; with no
// syslog there, it writes the line to the fallback. It reports whether the
// line went out.
func (r *Relay) send(line []byte) bool {
	err := unix.Sendto(r.out, line, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL, &unix.SockaddrUnix{Name: r.o.dest})
	switch {
	case err == nil:
		return true
	case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.ENOBUFS):
		return false
	}
	r.mu.Lock()
	if !r.warned {
		r.warned = true
		r.o.logger.Warn("syslog: cannot send to the host's syslog; writing the jail's messages here", "socket", r.o.dest, "err", err)
	}
	r.mu.Unlock()
	_, werr := r.o.fallback.Write(append(line, '\n'))
	return werr == nil
}

// parse splits a message into its PRI (default user.notice) and its text:
// a leading RFC 3164 timestamp, and a hostname after it, are dropped;
// control characters become spaces; the text is cut at maxMessage bytes.
func parse(msg []byte) (int, []byte) {
	pri := 1<<3 | 5
	if p, rest, ok := cutPRI(msg); ok {
		pri, msg = p, rest
	}
	if pri>>3 == 0 {
		pri |= 1 << 3 // kern: only the kernel may say so
	}
	msg = cutTimestamp(msg)
	if len(msg) > maxMessage {
		msg = msg[:maxMessage]
	}
	out := bytes.TrimRight(msg, "\x00\n\r ")
	out = bytes.Map(func(c rune) rune {
		if c < 0x20 || c == 0x7f {
			return ' '
		}
		return c
	}, out)
	return pri, out
}

// cutPRI reads "<N>" with N at most 191 (facility 23, severity 7).
func cutPRI(msg []byte) (int, []byte, bool) {
	if len(msg) < 3 || msg[0] != '<' {
		return 0, msg, false
	}
	end := bytes.IndexByte(msg[:min(len(msg), 5)], '>')
	if end < 2 {
		return 0, msg, false
	}
	n, err := strconv.Atoi(string(msg[1:end]))
	if err != nil || n < 0 || n > 191 {
		return 0, msg, false
	}
	return n, msg[end+1:], true
}

// cutTimestamp drops a leading "Mmm dd hh:mm:ss " (RFC 3164) and the
// hostname a daemon may write after it (a word followed by another word
// ending in ':' or '[').
func cutTimestamp(msg []byte) []byte {
	const stamp = len("Jan _2 15:04:05 ")
	if len(msg) < stamp {
		return msg
	}
	if _, err := time.Parse(time.Stamp, string(msg[:stamp-1])); err != nil || msg[stamp-1] != ' ' {
		return msg
	}
	msg = msg[stamp:]
	host, rest, ok := bytes.Cut(msg, []byte(" "))
	if ok && len(host) > 0 && !bytes.ContainsAny(host, ":[") {
		if word, _, _ := bytes.Cut(rest, []byte(" ")); bytes.HasSuffix(word, []byte(":")) || bytes.ContainsRune(word, '[') {
			return rest
		}
	}
	return msg
}

// bucket is a token bucket: rate tokens a second, at most burst.
type bucket struct {
	rate, burst, tokens float64
	last                time.Time
}

// take spends a token if there is one.
func (b *bucket) take(now time.Time) bool {
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
