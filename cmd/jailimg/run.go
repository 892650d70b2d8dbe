package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/jailimg/jailimg/pkg/policy"
	"github.com/jailimg/jailimg/pkg/recipe"
	"github.com/jailimg/jailimg/pkg/run"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// runOptions are the flags of `jailimg run`.
type runOptions struct {
	user, entrypoint, workdir, pidfile string
	allowRoot, tty                     bool
	env                                []string
	confineFlags
}

// confineFlags are the flags that say how a jail is confined and what is
// mounted in it: `jailimg run`'s, which `jailimg trace --root` shares so
// that it confines a command exactly as run would.
type confineFlags struct {
	network, umask, profile, state, pid, ipc, tmpfsSize, syslogSocket string
	seccomp, landlock, noSeccomp, noLandlock, strict                  bool
	syslogRate                                                        int
	writable, rlimits, tmpfs                                          []string
}

const runExitHelp = `
Exit status: the service's own (128+N when signal N ended it), or
  125  jailimg failed: bad flags, unreadable bundle, unknown user, uid 0
       refused, a kernel refusal, a missing feature with --strict
  126  the command was found in the jail but could not be executed
  127  the command was not found in the jail
`

func newCmdRun() *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run [flags] TARGET [--] [CMD ARGS...]",
		Short: "Run a service in an unpacked jail: private namespaces, read-only root, seccomp, Landlock, privilege drop",
		Long: `Run the service of TARGET, a bundle written by jailimg pull/unpack or a plain
jail directory, without a container runtime. Defaults come from the image
config (entrypoint, cmd, user, workdir, env) and its run policy; flags
override them. CMD ARGS replace the config's cmd (required for a plain
directory). Flags go before TARGET.

jailimg re-executes itself as the jail's init, PID 1 of new pid and IPC
namespaces and of a private mount namespace, in a session of its own. The
init binds the jail's root over itself read-only, nosuid and nodev (whether
or not the partition is read-only; the safe devices null, zero, full,
random, urandom and tty keep working), mounts what the run policy asks
for, and starts the service child, which chroots, looks the user up in the
jail's own /etc/passwd and /etc/group, sets groups, gid and uid, empties
every capability set, sets no_new_privs, closes inherited file
descriptors, applies Landlock and seccomp, and execs the service with the
config's environment only, umask 077 unless told otherwise. The init stays:
it forwards TERM, INT, HUP, USR1, USR2, QUIT and WINCH to the service,
reaps every process of the jail, and when the service ends jailimg exits
with its status; whatever is left in the jail is killed with the pid
namespace. None of the jail's mounts appears in the host's mount table,
and none is left when it stops. It refuses uid 0 unless --allow-root: root
escapes a chroot.

What the run policy mounts (each on a directory of the image, with the
image directory's owner and mode; all nosuid, nodev, noexec):
  runtime   a fresh tmpfs at each start (--tmpfs-size, default 64M)
  state, cache, logs
            a bind of STATE/<path in the jail>, created on first start and
            kept across restarts and upgrades; STATE is --state, default
            /var/lib/jailimg/NAME (NAME: the image's name)
  tmp       a private tmpfs on /tmp
  hostfiles /etc/resolv.conf, /etc/hosts, /etc/localtime of the host, read-only
  syslog    /dev/log: a socket jailimg relays to the host's syslog
            (--syslog-socket, default /dev/log), tagged jailimg/NAME and
            limited to --syslog-rate messages a second

The confined settings are the defaults; each opt-out is explicit, and
"jailimg check" reports an image whose policy takes one (jailimg run warns
of it, unless a flag below decides):
  seccomp   denies the system calls that reshape or leave a jail, reach
            other processes or the kernel's exposed interfaces (mount,
            chroot, ptrace, unshare, bpf, io_uring, module loading, ...),
            fexecve (execveat AT_EMPTY_PATH: a program written into a memfd,
            which noexec does not cover) and ioctl TIOCSTI and TIOCLINUX
            (matched on the 32 bits the kernel reads); --seccomp-profile FILE replaces the list but not those
            two ioctls (format: "go doc github.com/jailimg/jailimg/pkg/run
            Profile"); --no-seccomp turns it off
  Landlock  makes the jail read-only but the directories above and
            --writable, the outside unreachable, and scopes signals and
            abstract unix sockets to the jail; --no-landlock turns it off
  --pid host, --ipc host
            keep the host's pid or IPC namespace: the service then sees
            every host process, and the host's System V IPC
--network none gives the service a network namespace with loopback only.
A feature the kernel lacks is skipped with a warning, or refused with --strict.

The service never gets the operator's terminal as its controlling
terminal (it is no session leader, and cannot acquire one): it cannot push
keystrokes into the operator's shell (TIOCSTI), and Ctrl-C at the terminal
reaches it through jailimg's forwarding. Nor does it get a terminal or a
host file as a standard stream, as "docker run" without -i and -t: a
terminal on stdin is replaced by /dev/null, and a terminal or file on
stdout or stderr (a log opened with >>) is relayed through a pipe that
jailimg copies from, so the service can write to it but neither change the
terminal nor rewrite the file (it sees a pipe: its output may be block
buffered). A write the stream refuses (a full disk) is warned about once,
and the service writes on. -t (--tty), like "docker run -t", gives the
service a pseudo-terminal of its own instead, as sudo's use_pty does:
jailimg puts its terminal in raw mode, relays both ways and the window
size, and restores the terminal when the service ends; stdin must be a
terminal.

--pidfile FILE holds the init's pid (signal it to signal the service).
` + runExitHelp,
		Example: `  jailimg run --pidfile /run/nginx-jail.pid /srv/jails/nginx
  jailimg run --state /var/lib/jails/web --network none /srv/jails/unbound
  jailimg run -u jail --entrypoint "" /srv/jails/bash -- /usr/bin/ls -la /
  jailimg run -t -u jail --entrypoint "" /srv/jails/bash -- /bin/bash -i`,
		Args:         args(cobra.MinimumNArgs(1)),
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, a []string) error {
			opts, err := o.options(cmd)
			if err != nil {
				return usageError{err}
			}
			command := a[1:]
			if len(command) > 0 && command[0] == "--" {
				command = command[1:]
			}
			if len(command) > 0 {
				opts = append(opts, run.WithCommand(command))
			}
			// Signals are forwarded to the service, not used to cancel it.
			return run.Run(context.WithoutCancel(cmd.Context()), a[0], opts...)
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.StringVarP(&o.user, "user", "u", "", "run as NAME|UID[:GROUP|GID] of the jail (default: the config's user)")
	f.BoolVar(&o.allowRoot, "allow-root", false, "allow the service to run as uid 0")
	f.StringVar(&o.entrypoint, "entrypoint", "", `replace the config's entrypoint (space-separated; "" clears it)`)
	f.StringArrayVarP(&o.env, "env", "e", nil, "add KEY=VALUE to the service's environment")
	f.StringVarP(&o.workdir, "workdir", "w", "", "jail directory to start in (default: the config's, else /)")
	o.confineFlags.bind(cmd)
	f.StringVar(&o.pidfile, "pidfile", "", "write the pid of the jail's init (which forwards signals to the service) to FILE")
	f.BoolVarP(&o.tty, "tty", "t", false, "give the service a pseudo-terminal of its own, relayed to this one (stdin must be a terminal)")
	return cmd
}

// bind registers the confinement flags on cmd.
func (o *confineFlags) bind(cmd *cobra.Command) {
	f := cmd.Flags()
	f.BoolVar(&o.seccomp, "seccomp", true, "deny escape-prone system calls (default: on, unless the policy opts out)")
	f.BoolVar(&o.noSeccomp, "no-seccomp", false, "opt out of the seccomp filter")
	f.StringVar(&o.profile, "seccomp-profile", "", "seccomp deny list FILE (implies --seccomp)")
	f.BoolVar(&o.landlock, "landlock", true, "read-only jail but the mounted and --writable dirs, nothing outside (default: on, unless the policy opts out)")
	f.BoolVar(&o.noLandlock, "no-landlock", false, "opt out of Landlock")
	f.StringArrayVar(&o.writable, "writable", nil, "further jail DIR the service may write under Landlock (replaces the policy's)")
	f.StringVar(&o.network, "network", "", `"host" or "none" (default: the policy's, else host)`)
	cmd.RegisterFlagCompletionFunc("network", cobra.FixedCompletions([]string{"host", "none"}, cobra.ShellCompDirectiveNoFileComp))
	f.StringVar(&o.pid, "pid", "", `"private" or "host" pid namespace (default: the policy's, else private)`)
	f.StringVar(&o.ipc, "ipc", "", `"private" or "host" IPC namespace (default: the policy's, else private)`)
	for _, name := range []string{"pid", "ipc"} {
		cmd.RegisterFlagCompletionFunc(name, cobra.FixedCompletions([]string{"private", "host"}, cobra.ShellCompDirectiveNoFileComp))
	}
	f.StringVar(&o.state, "state", "", "host DIR holding the jail's state, cache and logs dirs (default: /var/lib/jailimg/NAME)")
	cmd.MarkFlagDirname("state")
	f.StringArrayVar(&o.tmpfs, "tmpfs", nil, "jail DIR to mount a fresh tmpfs on, with its owner and mode (adds to the policy's runtime dirs)")
	f.StringVar(&o.tmpfsSize, "tmpfs-size", "", "cap of each tmpfs: bytes, or a number with K, M or G; it also allows one file per 4K (default: the policy's, else 64M, refused if the jail's tmpfs mounts could then hold over half of the host's memory)")
	f.IntVar(&o.syslogRate, "syslog-rate", 0, "messages per second relayed from the jail's /dev/log (default: 200, bursts of 5 seconds' worth)")
	f.StringVar(&o.syslogSocket, "syslog-socket", "", "the host's syslog socket the jail's /dev/log is relayed to (default: /dev/log)")
	f.StringVar(&o.umask, "umask", "", "octal umask (default: the policy's, else 077)")
	f.StringArrayVar(&o.rlimits, "rlimit", nil, "NAME=VALUE resource limit, soft and hard: cpu, nofile, nproc, fsize, as, core, data, stack, memlock (core is 0 and nproc 4096 unless set)")
	f.BoolVar(&o.strict, "strict", false, "fail when the kernel lacks a requested feature instead of warning")
}

// changedConfinement names a confinement flag given on cmd's command
// line, "" when none is.
func changedConfinement(cmd *cobra.Command) string {
	probe := &cobra.Command{}
	new(confineFlags).bind(probe) // the names only: o keeps its values
	name := ""
	probe.Flags().VisitAll(func(f *pflag.Flag) {
		if name == "" && cmd.Flags().Changed(f.Name) {
			name = f.Name
		}
	})
	return name
}

// options turns the flags into run options; unset flags leave the policy's value.
func (o *runOptions) options(cmd *cobra.Command) ([]run.Option, error) {
	changed := cmd.Flags().Changed
	opts := []run.Option{run.WithLogger(logger())}
	if o.user != "" {
		opts = append(opts, run.WithUser(o.user))
	}
	if o.allowRoot {
		opts = append(opts, run.WithAllowRoot())
	}
	if changed("entrypoint") {
		opts = append(opts, run.WithEntrypoint(strings.Fields(o.entrypoint)))
	}
	if len(o.env) > 0 {
		for _, kv := range o.env {
			if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
				return nil, fmt.Errorf("--env %q: want KEY=VALUE", kv)
			}
		}
		opts = append(opts, run.WithEnv(o.env...))
	}
	if o.workdir != "" {
		opts = append(opts, run.WithWorkdir(o.workdir))
	}
	conf, err := o.confinement(cmd)
	if err != nil {
		return nil, err
	}
	opts = append(opts, conf...)
	if o.pidfile != "" {
		opts = append(opts, run.WithPidfile(o.pidfile))
	}
	if o.tty {
		if !term.IsTerminal(int(os.Stdin.Fd())) {
			return nil, fmt.Errorf("-t: stdin is not a terminal")
		}
		opts = append(opts, run.WithTTY(os.Stdin))
	}
	return opts, nil
}

// confinement turns the confinement flags into run options; unset flags
// leave the policy's value.
func (o *confineFlags) confinement(cmd *cobra.Command) ([]run.Option, error) {
	changed := cmd.Flags().Changed
	opts, err := o.filters(changed)
	if err != nil {
		return nil, err
	}
	if changed("writable") {
		opts = append(opts, run.WithWritable(o.writable...))
	}
	ns, err := o.namespaces(changed)
	if err != nil {
		return nil, err
	}
	opts = append(opts, ns...)
	mounts, err := o.mounts()
	if err != nil {
		return nil, err
	}
	opts = append(opts, mounts...)
	limits, err := o.limits()
	if err != nil {
		return nil, err
	}
	if o.strict {
		opts = append(opts, run.WithStrict())
	}
	return append(opts, limits...), nil
}

// filters turns --seccomp, --no-seccomp, --seccomp-profile, --landlock and
// --no-landlock into run options; unset, they leave the policy's value.
func (o *confineFlags) filters(changed func(string) bool) ([]run.Option, error) {
	var opts []run.Option
	for _, f := range []struct {
		on, off string
		value   bool
		with    func(bool) run.Option
	}{
		{"seccomp", "no-seccomp", o.seccomp && !o.noSeccomp, run.WithSeccomp},
		{"landlock", "no-landlock", o.landlock && !o.noLandlock, run.WithLandlock},
	} {
		if changed(f.on) && changed(f.off) {
			return nil, fmt.Errorf("--%s and --%s: give one", f.on, f.off)
		}
		if changed(f.on) || changed(f.off) {
			opts = append(opts, f.with(f.value))
		}
	}
	if o.profile != "" {
		if o.noSeccomp {
			return nil, fmt.Errorf("--seccomp-profile and --no-seccomp: give one")
		}
		p, err := run.LoadProfile(o.profile)
		if err != nil {
			return nil, fmt.Errorf("--seccomp-profile: %w", err)
		}
		opts = append(opts, run.WithSeccompProfile(p))
	}
	return opts, nil
}

// namespaces turns --network, --pid and --ipc into run options.
func (o *confineFlags) namespaces(changed func(string) bool) ([]run.Option, error) {
	var opts []run.Option
	if changed("network") {
		if o.network != "host" && o.network != "none" {
			return nil, fmt.Errorf("--network %q: want host or none", o.network)
		}
		opts = append(opts, run.WithNetwork(o.network))
	}
	for _, ns := range []struct {
		name, value string
		with        func(string) run.Option
	}{{"pid", o.pid, run.WithPID}, {"ipc", o.ipc, run.WithIPC}} {
		if !changed(ns.name) {
			continue
		}
		if ns.value != "private" && ns.value != "host" {
			return nil, fmt.Errorf("--%s %q: want private or host", ns.name, ns.value)
		}
		opts = append(opts, ns.with(ns.value))
	}
	return opts, nil
}

// mounts turns --state, --tmpfs, --tmpfs-size, --syslog-rate and
// --syslog-socket into run options.
func (o *confineFlags) mounts() ([]run.Option, error) {
	var opts []run.Option
	if o.state != "" {
		opts = append(opts, run.WithState(o.state))
	}
	if len(o.tmpfs) > 0 {
		opts = append(opts, run.WithTmpfs(o.tmpfs...))
	}
	if o.tmpfsSize != "" {
		size, err := policy.ParseSize(o.tmpfsSize)
		if err != nil || size == 0 {
			return nil, fmt.Errorf("--tmpfs-size %q: want a size above 0 such as 16M", o.tmpfsSize)
		}
		opts = append(opts, run.WithTmpfsSize(uint64(size)))
	}
	if o.syslogRate < 0 {
		return nil, fmt.Errorf("--syslog-rate %d: want messages per second, at least 1", o.syslogRate)
	}
	if o.syslogRate > 0 {
		opts = append(opts, run.WithSyslogRate(o.syslogRate))
	}
	if o.syslogSocket != "" {
		opts = append(opts, run.WithSyslogSocket(o.syslogSocket))
	}
	return opts, nil
}

// limits turns --umask and --rlimit into run options.
func (o *confineFlags) limits() ([]run.Option, error) {
	var opts []run.Option
	if o.umask != "" {
		v, err := strconv.ParseUint(strings.TrimPrefix(o.umask, "0o"), 8, 32)
		if err != nil || v > 0o777 {
			return nil, fmt.Errorf("--umask %q: want an octal mask up to 0777", o.umask)
		}
		opts = append(opts, run.WithUmask(uint32(v)))
	}
	for _, kv := range o.rlimits {
		k, v, ok := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 64)
		if !ok || err != nil || !slices.Contains(recipe.Rlimits, k) {
			return nil, fmt.Errorf("--rlimit %q: want NAME=NUMBER, NAME one of %s", kv, strings.Join(recipe.Rlimits, ", "))
		}
		opts = append(opts, run.WithRlimit(k, n))
	}
	return opts, nil
}

// runExitCode is the exit status for an error of `jailimg run`, and whether
// the error came from run at all.
func runExitCode(err error) (int, bool) {
	var ee *run.ExitError
	var le *run.LaunchError
	if errors.As(err, &ee) || errors.As(err, &le) {
		return run.ExitCode(err), true
	}
	return 0, false
}
