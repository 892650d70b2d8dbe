package trace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
)

// ErrUnsupported is returned on platforms the tracer does not support
// (anything but linux/amd64).
var ErrUnsupported = errors.New("trace: only linux/amd64 is supported")

// Option configures Run.
type Option func(*options)

type options struct {
	root     string
	uid, gid *uint32
	dir      string
	env      []string
	stdin    *os.File
	stdout   *os.File
	stderr   *os.File
	logger   *slog.Logger
}

// WithRoot chroots the command into dir, a directory of the host (an
// unpacked jail's rootfs). Paths are then recorded as the command sees them.
// Default: no chroot.
func WithRoot(dir string) Option {
	return func(o *options) { o.root = dir }
}

// WithCredential runs the command as uid and gid with no supplementary
// groups. Default: jailimg's own credentials.
func WithCredential(uid, gid uint32) Option {
	return func(o *options) { o.uid, o.gid = &uid, &gid }
}

// WithDir sets the command's working directory (inside the root, if
// WithRoot is given). Default: jailimg's own, or "/" with WithRoot.
func WithDir(dir string) Option {
	return func(o *options) { o.dir = dir }
}

// WithEnv sets the command's environment. Default: os.Environ().
func WithEnv(env []string) Option {
	return func(o *options) { o.env = env }
}

// WithStdio sets the command's standard input, output and error; a nil file
// means /dev/null. Default: jailimg's own.
func WithStdio(stdin, stdout, stderr *os.File) Option {
	return func(o *options) { o.stdin, o.stdout, o.stderr = stdin, stdout, stderr }
}

// WithLogger sets the logger for debug messages. Default: discard.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// Run starts argv under ptrace, follows every process and thread it
// creates, and returns what they did once the last of them has exited. A
// command that fails is not an error: its status is in the Result. When ctx
// is done every tracee is killed.
//
// Run reaps any child of the calling process while it runs (it waits for
// pid -1), so it must not run beside other child processes of the caller.
func Run(ctx context.Context, argv []string, opts ...Option) (*Result, error) {
	if len(argv) == 0 {
		return nil, fmt.Errorf("trace: no command")
	}
	o := options{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	if o.env == nil {
		o.env = os.Environ()
	}
	return run(ctx, argv, &o)
}
