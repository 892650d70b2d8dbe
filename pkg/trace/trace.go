package trace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/jailimg/jailimg/pkg/run"
)

// ErrUnsupported is returned on platforms the tracer does not support
// (anything but linux/amd64).
var ErrUnsupported = errors.New("trace: only linux/amd64 is supported")

// Option configures Run.
type Option func(*options)

type options struct {
	root      string
	user      string
	allowRoot bool
	stdin     *os.File
	stdout    *os.File
	stderr    *os.File
	logger    *slog.Logger
	run       []run.Option
}

// WithRoot traces the command in a jail, target (a bundle, or a jail
// directory such as an unpacked rootfs), started exactly as `jailimg run`
// starts a service: through package run's init, which chroots, looks the
// user up in the jail, sets its groups, rlimits, umask, Landlock and
// seccomp as the bundle's policy asks (in the jail's own mount, pid and
// IPC namespaces, with its runtime and state directories mounted), drops
// every capability, sets no_new_privs and closes inherited descriptors;
// the tracer attaches to it (PTRACE_SEIZE) right before it loads seccomp
// and execs, so the trace begins at the command's exec. The
// command is argv alone (a bundle's entrypoint is not put before it), its
// environment the image config's. Paths are recorded as the command sees
// them. Default: the command runs on the host, without a chroot.
func WithRoot(target string) Option {
	return func(o *options) { o.root = target }
}

// WithRunOptions passes further options to package run for WithRoot (the
// state directory, an opt-out of a confinement): the command is confined
// as `jailimg run` with the same flags would confine a service.
func WithRunOptions(opts ...run.Option) Option {
	return func(o *options) { o.run = append(o.run, opts...) }
}

// WithUser runs the command as spec, "NAME|UID[:GROUP|GID]", looked up as
// package run looks it up: in the jail's /etc/passwd and /etc/group with
// WithRoot, else in the host's; the command gets the user's supplementary
// groups. uid 0 is refused unless WithAllowRoot. Default: with WithRoot, the
// image config's user (run's rule); on the host, jailimg's own credentials.
func WithUser(spec string) Option {
	return func(o *options) { o.user = spec }
}

// WithAllowRoot permits WithUser, or a jail's configured user, to be uid 0.
// Default: refused (run.ErrRoot).
func WithAllowRoot() Option {
	return func(o *options) { o.allowRoot = true }
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

// StopTimeout is how long Run waits, once its context is done, between the
// SIGTERM it sends every traced process and the SIGKILL to those left.
const StopTimeout = 5 * time.Second

// Run starts argv under ptrace, follows every process and thread it
// creates, and returns what they did once the last of them has exited. A
// command that fails is not an error: its status is in the Result.
//
// A daemon does not exit on its own: when ctx is done (an interrupt, a
// deadline), Run stops the command as a service manager would, SIGTERM to
// every traced process and SIGKILL to those left StopTimeout later, and
// returns what they did until then, with Result.Stopped set and no error.
//
// The command runs in a new session, without a controlling terminal.
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
	return trace(ctx, argv, &o)
}
