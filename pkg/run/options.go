package run

import (
	"io"
	"log/slog"
	"os"
)

// Option configures Run and Prepare.
type Option func(*options)

type options struct {
	user       string
	allowRoot  bool
	entrypoint []string
	hasEntry   bool
	cmd        []string
	env        []string
	workdir    string
	seccomp    *bool
	profile    *Profile
	landlock   *bool
	writable   []string
	network    *string
	umask      *uint32
	rlimits    map[string]uint64
	pidfile    string
	strict     bool
	state      string
	pid        *string
	ipc        *string
	tmpfs      []string
	tmpfsSize  uint64
	syslogRate int
	syslogDest string
	initPath   string
	stdin      io.Reader
	stdout     io.Writer
	stderr     io.Writer
	tty        *os.File
	logger     *slog.Logger
}

func makeOptions(opts []Option) *options {
	o := &options{
		initPath: "/proc/self/exe",
		stdin:    os.Stdin,
		stdout:   os.Stdout,
		stderr:   os.Stderr,
		logger:   slog.New(slog.DiscardHandler),
	}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// WithUser runs the service as spec, "NAME|UID[:GROUP|GID]", looked up in the
// jail's /etc/passwd and /etc/group. Default: the image config's User.
func WithUser(spec string) Option { return func(o *options) { o.user = spec } }

// WithAllowRoot permits running the service as uid 0. Default: refused (ErrRoot).
func WithAllowRoot() Option { return func(o *options) { o.allowRoot = true } }

// WithEntrypoint replaces the image config's Entrypoint (nil clears it).
func WithEntrypoint(argv []string) Option {
	return func(o *options) { o.entrypoint, o.hasEntry = argv, true }
}

// WithCommand replaces the image config's Cmd; the command run is
// Entrypoint followed by Cmd. It is required for a plain jail directory.
func WithCommand(argv []string) Option { return func(o *options) { o.cmd = argv } }

// WithEnv adds KEY=VALUE entries to the config's Env, replacing equal keys.
func WithEnv(env ...string) Option { return func(o *options) { o.env = append(o.env, env...) } }

// WithWorkdir sets the jail directory the service starts in. Default: the
// config's WorkingDir, else "/".
func WithWorkdir(dir string) Option { return func(o *options) { o.workdir = dir } }

// WithSeccomp turns the seccomp filter on or off. Default: Policy.Seccomp,
// on unless the image's policy opts out.
func WithSeccomp(on bool) Option { return func(o *options) { o.seccomp = &on } }

// WithSeccompProfile sets the filter used when seccomp is on, and turns it on.
// Default: the deny list of --seccomp (the calls that let a process leave or
// reshape its jail, inspect other processes, or reach the kernel's most
// exposed interfaces).
func WithSeccompProfile(p *Profile) Option {
	return func(o *options) { on := true; o.seccomp, o.profile = &on, p }
}

// WithLandlock turns Landlock on or off. Default: Policy.Landlock, on
// unless the image's policy opts out.
func WithLandlock(on bool) Option { return func(o *options) { o.landlock = &on } }

// WithWritable replaces Policy.Writable: the further jail directories the
// service may write under Landlock (it may always write those jailimg
// mounts for it: runtime, state, cache and logs directories, /tmp).
func WithWritable(dirs ...string) Option {
	return func(o *options) { o.writable = append([]string{}, dirs...) }
}

// WithNetwork sets the network mode: "host" (or "") or "none". Default: Policy.Network.
func WithNetwork(mode string) Option { return func(o *options) { o.network = &mode } }

// WithUmask sets the umask. Default: Policy.Umask, else 077.
func WithUmask(mask uint32) Option { return func(o *options) { o.umask = &mask } }

// WithRlimit sets one resource limit (a Policy.Rlimits name), soft and hard,
// overriding the Policy's value for that name.
func WithRlimit(name string, value uint64) Option {
	return func(o *options) {
		if o.rlimits == nil {
			o.rlimits = map[string]uint64{}
		}
		o.rlimits[name] = value
	}
}

// WithPidfile writes the host pid of the jail's init (the service's
// parent, PID 1 of the jail's pid namespace, which forwards signals to the
// service) to path before the service runs, and removes it when the
// service ends. Default: none.
func WithPidfile(path string) Option { return func(o *options) { o.pidfile = path } }

// WithStrict makes a requested feature the kernel lacks (seccomp, Landlock
// or its scopes, network namespaces) an error. Default: run without it and log a warning.
func WithStrict() Option { return func(o *options) { o.strict = true } }

// WithState sets STATE, the host directory below which the persistent
// directories of the policy (state, cache, logs) live, each at
// STATE/<path in the jail>. Default: /var/lib/jailimg/NAME, NAME the
// image's name (its title annotation, else TARGET's base name).
func WithState(dir string) Option { return func(o *options) { o.state = dir } }

// WithPID sets the pid namespace: "private" (a namespace of the jail's
// own, with jailimg's init as PID 1) or "host". Default: Policy.PID, else
// private.
func WithPID(mode string) Option { return func(o *options) { o.pid = &mode } }

// WithIPC sets the IPC namespace (System V IPC, POSIX message queues):
// "private" or "host". Default: Policy.IPC, else private.
func WithIPC(mode string) Option { return func(o *options) { o.ipc = &mode } }

// WithTmpfs adds jail directories that get a fresh tmpfs at each start,
// with their owner and mode in the image, as Policy.Runtime does.
func WithTmpfs(dirs ...string) Option {
	return func(o *options) { o.tmpfs = append(o.tmpfs, dirs...) }
}

// WithTmpfsSize caps each tmpfs, in bytes. Default: Policy.TmpfsSize, else 64 MiB.
func WithTmpfsSize(bytes uint64) Option { return func(o *options) { o.tmpfsSize = bytes } }

// WithSyslogRate sets how many messages per second the relay of
// Policy.Syslog forwards from the jail's /dev/log (bursts of five
// seconds' worth). Default: 200.
func WithSyslogRate(perSecond int) Option { return func(o *options) { o.syslogRate = perSecond } }

// WithSyslogSocket sets the host's syslog socket the relay forwards to.
// Default: /dev/log.
func WithSyslogSocket(path string) Option { return func(o *options) { o.syslogDest = path } }

// withInit sets the jailimg binary re-executed as the jail's init, whose
// main calls Main first. Default: /proc/self/exe. Tests set it.
func withInit(path string) Option { return func(o *options) { o.initPath = path } }

// WithStdio sets the service's standard streams. Default: the process's
// own. A terminal given as in is not passed (the service reads /dev/null;
// see WithTTY), and an out or errw that is a file other than a pipe, a
// socket or /dev/null is relayed through a pipe (see the package doc).
func WithStdio(in io.Reader, out, errw io.Writer) Option {
	return func(o *options) { o.stdin, o.stdout, o.stderr = in, out, errw }
}

// WithTTY gives the service a pseudo-terminal of its own, relayed to term
// (the operator's terminal, normally os.Stdin), as `docker run -t` and
// sudo's use_pty do: the service gets the pty's slave as stdin, stdout,
// stderr and controlling terminal; term is put in raw mode while the
// service runs, its input goes to the pty, the pty's output goes to the
// stdout of WithStdio, and the window size follows term's. Run fails when
// term is not a terminal. Default: no pty; the service gets the streams of
// WithStdio, in a session of its own without a controlling terminal.
func WithTTY(term *os.File) Option { return func(o *options) { o.tty = term } }

// WithLogger receives warnings (a feature the kernel lacks) and progress.
// Default: discard.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }
