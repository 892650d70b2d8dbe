package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/jailimg/jailimg/pkg/recipe"
	"github.com/jailimg/jailimg/pkg/run"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// runOptions are the flags of `jailimg run`.
type runOptions struct {
	user, entrypoint, workdir, network, umask, pidfile, profile string
	allowRoot, seccomp, landlock, strict, tty                   bool
	env, writable, rlimits                                      []string
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
		Short: "Run a service in an unpacked jail: chroot, privilege drop, optional seccomp, Landlock, no network",
		Long: `Run the service of TARGET, a bundle written by jailimg pull/unpack or a plain
jail directory, without a container runtime. Defaults come from the image
config (entrypoint, cmd, user, workdir, env) and its run policy; flags
override them. CMD ARGS replace the config's cmd (required for a plain
directory). Flags go before TARGET.

jailimg chroots into the jail before reading anything of it, looks the user
up in the jail's own /etc/passwd and /etc/group, sets groups, gid and uid,
empties every capability set, sets no_new_privs, closes inherited file
descriptors, starts the service with the config's environment only, umask
077 unless told otherwise, and forwards TERM, INT, HUP, USR1 and USR2.
It refuses uid 0 unless --allow-root: root escapes a chroot.

The service runs in a session of its own and never gets the operator's
terminal as its controlling terminal: it cannot push keystrokes into the
operator's shell (TIOCSTI), and Ctrl-C at the terminal reaches it through
jailimg's forwarding. A terminal on stdin, stdout or stderr is still passed
as is, for the service to read and write. -t (--tty), like "docker run -t",
gives the service a pseudo-terminal of its own instead, as sudo's use_pty
does: jailimg puts its terminal in raw mode, relays both ways and the window
size, and restores the terminal when the service ends; stdin must be a
terminal.

--seccomp denies the system calls that reshape or leave a jail (mount,
chroot, ptrace, unshare, bpf, module loading, block-device mknod, ...) and
ioctl TIOCSTI and TIOCLINUX (matched on the 32 bits the kernel reads, so
high bits set in the command do not get past it); --seccomp-profile FILE
replaces the list but not those two ioctls (format: see "go doc
github.com/jailimg/jailimg/pkg/run Profile"). --landlock makes the jail
read-only but the --writable directories, and the outside unreachable.
--network none gives the service a network namespace with loopback only.
A feature the kernel lacks is skipped with a warning, or refused with --strict.
` + runExitHelp,
		Example: `  jailimg run --pidfile /run/nginx-jail.pid /srv/jails/nginx
  jailimg run --seccomp --landlock --network none /srv/jails/unbound
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
	f.BoolVar(&o.seccomp, "seccomp", false, "deny escape-prone system calls (default: the policy's)")
	f.StringVar(&o.profile, "seccomp-profile", "", "seccomp deny list FILE (implies --seccomp)")
	f.BoolVar(&o.landlock, "landlock", false, "read-only jail but --writable dirs, nothing outside (default: the policy's)")
	f.StringArrayVar(&o.writable, "writable", nil, "jail DIR the service may write under --landlock (replaces the policy's)")
	f.StringVar(&o.network, "network", "", `"host" or "none" (default: the policy's, else host)`)
	cmd.RegisterFlagCompletionFunc("network", cobra.FixedCompletions([]string{"host", "none"}, cobra.ShellCompDirectiveNoFileComp))
	f.StringVar(&o.umask, "umask", "", "octal umask (default: the policy's, else 077)")
	f.StringArrayVar(&o.rlimits, "rlimit", nil, "NAME=VALUE resource limit: cpu, nofile, nproc, fsize, as, core, data, stack, memlock")
	f.StringVar(&o.pidfile, "pidfile", "", "write the service's pid to FILE")
	f.BoolVar(&o.strict, "strict", false, "fail when the kernel lacks a requested feature instead of warning")
	f.BoolVarP(&o.tty, "tty", "t", false, "give the service a pseudo-terminal of its own, relayed to this one (stdin must be a terminal)")
	return cmd
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
	if o.strict {
		opts = append(opts, run.WithStrict())
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
func (o *runOptions) confinement(cmd *cobra.Command) ([]run.Option, error) {
	changed := cmd.Flags().Changed
	var opts []run.Option
	if changed("seccomp") {
		opts = append(opts, run.WithSeccomp(o.seccomp))
	}
	if o.profile != "" {
		p, err := run.LoadProfile(o.profile)
		if err != nil {
			return nil, fmt.Errorf("--seccomp-profile: %w", err)
		}
		opts = append(opts, run.WithSeccompProfile(p))
	}
	if changed("landlock") {
		opts = append(opts, run.WithLandlock(o.landlock))
	}
	if changed("writable") {
		opts = append(opts, run.WithWritable(o.writable...))
	}
	if changed("network") {
		if o.network != "host" && o.network != "none" {
			return nil, fmt.Errorf("--network %q: want host or none", o.network)
		}
		opts = append(opts, run.WithNetwork(o.network))
	}
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
