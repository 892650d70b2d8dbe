package main

import (
	"errors"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// globalOptions are the flags every subcommand shares.
type globalOptions struct {
	verbose bool
	quiet   bool
}

var global globalOptions

// newRoot returns jailimg's command tree for the command line args
// (os.Args[1:]; see onlyCommand), the whole tree without them.
func newRoot(args ...string) *cobra.Command {
	root := &cobra.Command{
		Use:   "jailimg",
		Short: "Build, ship and run minimal chroot jails as OCI images",
		Long: `jailimg turns a declarative recipe into a minimal chroot jail, packed as a
reproducible OCI image: the binaries with exactly the libraries they load,
the files, devices and users the service needs, and nothing else.

  jailimg build recipes/nginx.yaml          # -> ./out/nginx, an OCI image layout
  jailimg inspect ./out/nginx               # what the jail holds
  jailimg resolve /usr/sbin/nginx           # the ELF closure of a binary

Digests and references go to stdout; progress and errors to stderr. With
--json, stdout holds one JSON document on success and nothing on failure:
the error is on stderr and in the exit code.
` + exitCodeHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			if global.verbose && global.quiet {
				return usageError{errors.New("--verbose and --quiet: choose one")}
			}
			return nil
		},
	}
	root.PersistentFlags().BoolVarP(&global.verbose, "verbose", "v", false, "log progress in detail")
	root.PersistentFlags().BoolVarP(&global.quiet, "quiet", "q", false, "log nothing but errors")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	if c := onlyCommand(args); c != nil {
		root.AddCommand(c())
		root.CompletionOptions.DisableDefaultCmd = true
		return root
	}
	for _, c := range commands {
		root.AddCommand(c.new())
	}
	return root
}

// commands are jailimg's subcommands, in the order help lists them.
var commands = []struct {
	name string
	new  func() *cobra.Command
}{
	{"build", newCmdBuild}, {"lock", newCmdLock}, {"outdated", newCmdOutdated},
	{"inspect", newCmdInspect},
	{"resolve", newCmdResolve},
	{"run", newCmdRun}, {"check", newCmdCheck},
	{"push", newCmdPush}, {"pull", newCmdPull},
	{"sign", newCmdSign}, {"verify-signature", newCmdVerifySignature},
	{"unpack", newCmdUnpack}, {"verify", newCmdVerify}, {"gc", newCmdGC},
	{"trace", newCmdTrace},
}

// onlyCommand returns the constructor of the subcommand args run when they
// need no other: its name is their first word after root's own flags. Help (a
// help flag anywhere: `jailimg --help unpack` lists every command),
// completion and a mistyped name (whose suggestions list the others) get
// nil: the whole tree. Building one command instead of all of them takes a
// millisecond off every run, which an unpack at boot pays for each jail.
func onlyCommand(args []string) func() *cobra.Command {
	if slices.ContainsFunc(args, func(a string) bool { return a == "-h" || a == "--help" || strings.HasPrefix(a, "--help=") }) {
		return nil
	}
	for _, a := range args {
		if rootFlag(a) {
			continue
		}
		for _, c := range commands {
			if c.name == a {
				return c.new
			}
		}
		return nil // "--", another flag (cobra may read the next word as its value), or a typo
	}
	return nil
}

// rootFlag reports whether a is one of root's flags, which take no value:
// --verbose, --quiet (each also as --name=value), -v, -q, or both as -vq.
func rootFlag(a string) bool {
	name, _, _ := strings.Cut(a, "=")
	if name == "--verbose" || name == "--quiet" {
		return true
	}
	return len(a) > 1 && a[0] == '-' && a[1] != '-' && strings.Trim(a[1:], "vq") == ""
}

// logger returns the stderr logger the global flags ask for.
func logger() *slog.Logger {
	level := slog.LevelInfo
	switch {
	case global.quiet:
		level = slog.LevelError
	case global.verbose:
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level, ReplaceAttr: dropTime}))
}

// dropTime leaves timestamps out of log lines: rc scripts' logs carry their own.
func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}
