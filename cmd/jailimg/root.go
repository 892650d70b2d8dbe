package main

import (
	"errors"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
)

// globalOptions are the flags every subcommand shares.
type globalOptions struct {
	verbose bool
	quiet   bool
}

var global globalOptions

func newRoot() *cobra.Command {
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
	root.AddCommand(
		newCmdBuild(), newCmdLock(), newCmdOutdated(),
		newCmdInspect(),
		newCmdResolve(),
		newCmdRun(), newCmdCheck(),
		newCmdPush(), newCmdPull(),
		newCmdSign(), newCmdVerifySignature(),
		newCmdUnpack(), newCmdVerify(), newCmdGC(),
		newCmdTrace(),
	)
	return root
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
