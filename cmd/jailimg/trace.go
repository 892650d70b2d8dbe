package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/jailimg/jailimg/internal/printable"
	"github.com/jailimg/jailimg/pkg/bundle"
	"github.com/jailimg/jailimg/pkg/passwd"
	"github.com/jailimg/jailimg/pkg/run"
	"github.com/jailimg/jailimg/pkg/trace"
)

// traceOptions are the flags of `jailimg trace`.
type traceOptions struct {
	output    string
	json      bool
	root      string
	user      string
	allowRoot bool
	state     string
	duration  time.Duration
}

func newCmdTrace() *cobra.Command {
	o := &traceOptions{}
	cmd := &cobra.Command{
		Use:   "trace [-o FRAGMENT.yaml] [--json] [--root TARGET [--state DIR]] [--user NAME] [--allow-root] -- CMD [ARG...]",
		Short: "Run a command under ptrace and write the recipe fragment it needs, or diagnose a jail",
		Long: `Run CMD under ptrace, following every process and thread it starts, and record
each path it opens, executes, stats, reads as a link, creates as a directory
or enters: successes, and opens that fail with ENOENT. The result is a recipe
fragment (to stdout, or -o FILE) for a recipe to include (include: [FILE],
relative to the recipe; the recipe's own entry for a path wins):

  binaries:   the programs executed (a script's interpreter, the script in files:)
  libraries:  shared objects opened that the ELF closure of binaries: does not
              explain (dlopen()ed plugins, NSS modules)
  files:      regular files read, by real path ({src: P, dst: P})
  symlinks:   symlinks met on the way, that the closure does not carry
  dirs:       directories opened or entered that no entry below implies, and
              every directory the command wrote or created something in
              (commented "written:": give it an owner, and a run: kind,
              runtime, state, cache or logs, for jailimg run to mount)
  devices:    safe-table nodes opened under /dev (others listed in a comment)

Filtering rule: /proc, /sys and /dev are dropped (device nodes opened under
/dev are reported as devices); so is the host loader's state (/etc/ld.so.cache,
/etc/ld.so.preload, /etc/ld.so.conf*, glibc-hwcaps paths); so is every file and
link of the ELF closure of the programs executed (pkg/resolve over the host
root); files the command wrote are never copied (their directory becomes a
writable dirs: entry); /etc/passwd, group, shadow, gshadow, nsswitch.conf,
localtime and timezone are written by the build from users:, groups:, nss: and
timezone:, so they are listed in a comment, not copied. Locale files are kept
when opened: trace with the environment the jail will have (e.g. LANG=C).
Files read outside the system directories (/usr but /usr/local, /etc, /bin,
/sbin, /lib*, /var/lib): the config named on the command line, files under
/home, /root, /srv, /opt, /tmp or /usr/local, are not copied: a comment lists
them, for you to map each one (files: {src: HOST-PATH, dst: JAIL-PATH}).
ENOENT misses, without search-path probing, are listed in a closing comment;
a shared object found nowhere is named once, with the object that needed it.

A daemon never exits on its own: trace it serving (in the foreground), then
press Ctrl-C, or give --duration. jailimg stops it as a service manager does,
SIGTERM to every traced process and SIGKILL to those left 5 s later, and
still writes the fragment or the diagnosis; it then exits 130 (143 for
SIGTERM), or 0 when --duration ran out.

--json prints the raw records (accessed, missing, failed, exit status) to
stdout instead of the fragment; with -o the fragment still goes to the file.

--root TARGET diagnoses a jail instead: TARGET is a bundle or a jail directory
(an unpacked rootfs), and CMD runs in it confined exactly as "jailimg run"
runs a service, by the same code: its own pid, IPC and mount namespaces
with the mounts of its run policy (state, cache and logs dirs from --state
DIR, default /var/lib/jailimg/NAME, as jailimg run), chroot, the user from the jail's own
/etc/passwd and /etc/group (--user, else the image config's) with its groups,
the policy's rlimits, umask, Landlock and seccomp, every capability dropped,
no_new_privs, inherited descriptors closed, a new session, the config's
environment; CMD is the whole command (a bundle's entrypoint is not put
before it). uid 0 is refused unless --allow-root. Each path CMD tried and did
not find is printed as "missing: PATH (open by PROGRAM)"; each shared object
the loader or dlopen found nowhere as "missing library: NAME (needed by
OBJECT, loaded by PROGRAM; searched DIRS)", which names an interpreter's
extension module that links a library the jail lacks; then each refused
path as "denied: ...".

Without --root, CMD runs on the host, as jailimg's own user or as --user (a
user of the host's /etc/passwd, with its groups), in a new session.

The command's own stdout and stderr go to jailimg's stderr. When it fails,
jailimg trace still writes the fragment or the diagnosis, then exits with the
command's status (as strace does); when it cannot be started in the jail, with
run's 125, 126 or 127. Needs ptrace (root, or ptrace_scope 0); linux/amd64
only.`,
		Example: `  jailimg trace -o recipes/nginx/trace.yaml -- /usr/sbin/nginx -t -c /etc/nginx/nginx.conf
  jailimg trace --duration 30s -o serve.yaml -- /usr/sbin/nginx -g 'daemon off;'
  jailimg trace --root /srv/jails/app --user app -- /usr/bin/python3.11 -c 'import sqlite3' 
  # then in recipes/nginx.yaml:  include: [nginx/trace.yaml]
  jailimg trace --root /srv/jails/httpd --user www-data -- /usr/sbin/httpd -t`,
		Args:         args(cobra.MinimumNArgs(1)),
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, a []string) error {
			return runTrace(cmd.Context(), o, a, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "", "write the fragment to FILE (atomically) instead of stdout")
	f.BoolVar(&o.json, "json", false, "print the raw records as JSON")
	f.StringVar(&o.root, "root", "", "diagnose: run CMD in this jail (bundle or rootfs) as jailimg run would, and print what it missed")
	f.StringVar(&o.user, "user", "", "run as NAME|UID[:GROUP|GID] (of the jail with --root, else of the host)")
	f.BoolVar(&o.allowRoot, "allow-root", false, "allow CMD to run as uid 0 in the jail, or as --user root")
	f.StringVar(&o.state, "state", "", "with --root: host DIR holding the jail's state, cache and logs dirs (default: /var/lib/jailimg/NAME)")
	cmd.MarkFlagDirname("state")
	f.DurationVar(&o.duration, "duration", 0, "stop CMD after this long (e.g. 30s) and write what it did; for daemons")
	return cmd
}

// runTrace traces args and writes the fragment, the records or the diagnosis.
func runTrace(ctx context.Context, o *traceOptions, args []string, w io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	opts, err := o.traceOpts()
	if err != nil {
		return err
	}
	tctx := ctx
	if o.duration > 0 {
		var cancel context.CancelFunc
		tctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	res, err := trace.Run(tctx, args, opts...)
	if err != nil {
		return err
	}
	// An interrupt stops the command; what it did is written all the same.
	if err := writeTrace(context.WithoutCancel(ctx), o, res, w); err != nil {
		return err
	}
	switch {
	case res.Stopped && ctx.Err() != nil:
		return fmt.Errorf("stopped the traced command, its record written: %w", ctx.Err())
	case res.Stopped:
		return nil // --duration ran out: the expected end of a daemon's trace
	case res.Status != 0:
		return tracedStatus(res.Status)
	}
	return nil
}

// traceOpts checks the flags and turns them into trace options.
func (o *traceOptions) traceOpts() ([]trace.Option, error) {
	if o.root != "" && o.output != "" {
		return nil, usageError{fmt.Errorf("-o makes a fragment from a host run; --root diagnoses a jail")}
	}
	if o.state != "" && o.root == "" {
		return nil, usageError{fmt.Errorf("--state names a jail's state directory: give --root too")}
	}
	opts := []trace.Option{trace.WithStdio(os.Stdin, os.Stderr, os.Stderr), trace.WithLogger(logger())}
	if o.root != "" {
		opts = append(opts, trace.WithRoot(o.root))
	}
	if o.state != "" {
		opts = append(opts, trace.WithRunOptions(run.WithState(o.state)))
	}
	if o.user != "" {
		// Checked here for a clear error naming the flag; the traced
		// program's own launcher looks the user up again, as run does.
		if err := checkUser(o.root, o.user); err != nil {
			return nil, inputError{fmt.Errorf("--user: %w", err)}
		}
		opts = append(opts, trace.WithUser(o.user))
	}
	if o.allowRoot {
		opts = append(opts, trace.WithAllowRoot())
	}
	return opts, nil
}

// tracedStatus is the traced command's non-zero exit status: jailimg trace
// exits with it, as strace does, once the fragment or diagnosis is written.
type tracedStatus int

func (s tracedStatus) Error() string {
	return fmt.Sprintf("the traced command exited with status %d", int(s))
}

// writeTrace writes what the trace found: the raw records, the diagnosis, or
// the fragment.
func writeTrace(ctx context.Context, o *traceOptions, res *trace.Result, w io.Writer) error {
	if o.json {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	}
	if o.root != "" {
		if o.json {
			return nil
		}
		return writeDiagnosis(ctx, o.root, res, w)
	}
	frag, err := trace.NewFragment(ctx, os.DirFS("/"), res)
	if err != nil {
		return err
	}
	if o.output == "" {
		if o.json {
			return nil
		}
		return frag.WriteYAML(w)
	}
	return writeAtomic(o.output, frag.WriteYAML)
}

// writeDiagnosis prints what the command missed in the jail target: one
// line per missing file or program, per missing shared object (with the
// object that needed it) and per refusal.
func writeDiagnosis(ctx context.Context, target string, res *trace.Result, w io.Writer) error {
	root, err := jailRoot(target)
	if err != nil {
		return err
	}
	d, err := res.Diagnose(ctx, os.DirFS(root))
	if err != nil {
		return err
	}
	var lines []string
	for _, r := range d.Missing {
		lines = append(lines, fmt.Sprintf("missing: %s (%s by %s)", printable.Quote(r.Path), r.Kind, printable.Quote(r.Exe)))
	}
	for _, l := range d.Libraries {
		by := "dlopen()ed by " + printable.Quote(l.Exe)
		if l.NeededBy != "" {
			by = "needed by " + printable.Quote(l.NeededBy) + ", loaded by " + printable.Quote(l.Exe)
		}
		dirs := make([]string, len(l.Searched))
		for i, d := range l.Searched {
			dirs[i] = printable.Quote(d)
		}
		lines = append(lines, fmt.Sprintf("missing library: %s (%s; searched %s)", printable.Quote(l.Soname), by, strings.Join(dirs, ", ")))
	}
	for _, r := range d.Denied {
		lines = append(lines, fmt.Sprintf("denied: %s (%s by %s)", printable.Quote(r.Path), r.Kind, printable.Quote(r.Exe)))
	}
	for _, l := range lines {
		if _, err := fmt.Fprintln(w, l); err != nil {
			return err
		}
	}
	return nil
}

// writeAtomic writes a file through a temporary file renamed into place.
func writeAtomic(name string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp-")
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return os.Rename(tmp.Name(), name)
}

// jailRoot is the root directory of TARGET, a bundle or a jail directory;
// the host's, "/", for "".
func jailRoot(target string) (string, error) {
	if target == "" {
		return "/", nil
	}
	b, err := bundle.Open(target)
	switch {
	case err == nil:
		return b.Root()
	case errors.Is(err, bundle.ErrNotBundle):
		return target, nil
	}
	return "", err
}

// checkUser resolves NAME|UID[:GROUP|GID] in the /etc/passwd and /etc/group
// of TARGET (a bundle's rootfs or a jail directory; the host's for ""),
// found as the jail finds them: the jail's symlinks resolve inside it, as
// under chroot, and cannot point the read outside.
func checkUser(target, spec string) error {
	root, err := jailRoot(target)
	if err != nil {
		return err
	}
	r, err := passwd.OpenRoot(root)
	if err != nil {
		return err
	}
	defer r.Close()
	_, err = passwd.Lookup(r.Open, spec)
	return err
}
