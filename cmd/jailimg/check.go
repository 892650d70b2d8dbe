package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/jailimg/jailimg/pkg/bundle"
	"github.com/jailimg/jailimg/pkg/check"
	"github.com/spf13/cobra"
)

// checkOptions are the flags of `jailimg check`.
type checkOptions struct {
	json     bool
	user     string
	writable []string
}

func newCmdCheck() *cobra.Command {
	o := &checkOptions{}
	cmd := &cobra.Command{
		Use:   "check [--json] [--user U] [--writable DIR]... TARGET",
		Short: "Audit a jail: setuid files, capabilities, writable paths, devices, shells, accounts",
		Long: `Audit TARGET, a bundle or a plain jail directory, and print one finding per
line as "KIND<TAB>PATH<TAB>DETAIL" (or a JSON array with --json). Kinds:
setuid, setgid, capability, world-writable, device (outside null, zero,
full, random, urandom, tty), interpreter (shells, interpreters, compilers),
user-writable (by the service user, outside the writable dirs), passwd
(login shells and passwords in /etc/passwd and /etc/shadow), hardlink (shared
with a file outside the jail), mount. For a bundle the user and writable
dirs come from its image config and policy; the flags add to them.
Exits 1 when there is any finding.`,
		Args:         args(cobra.ExactArgs(1)),
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, a []string) error {
			return runCheck(cmd.Context(), o, a[0], cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.json, "json", false, "print findings as a JSON array")
	f.StringVarP(&o.user, "user", "u", "", "service user NAME|UID[:GROUP|GID] (default: the bundle config's)")
	f.StringArrayVar(&o.writable, "writable", nil, "jail DIR the service is meant to write")
	return cmd
}

// runCheck audits target and prints its findings to w.
func runCheck(ctx context.Context, o *checkOptions, target string, w io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	root := target
	var opts []check.Option
	b, err := bundle.Open(target)
	switch {
	case err == nil:
		root = b.RootFS()
		if opts, err = check.ForBundle(b); err != nil {
			return inputError{err}
		}
	case !errors.Is(err, bundle.ErrNotBundle):
		return err
	}
	if o.user != "" {
		opts = append(opts, check.WithUser(o.user))
	}
	opts = append(opts, check.WithWritable(o.writable...))
	findings, err := check.Run(ctx, root, opts...)
	if err != nil {
		return err
	}
	if o.json {
		if findings == nil {
			findings = []check.Finding{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(findings); err != nil {
			return err
		}
	} else {
		for _, f := range findings {
			fmt.Fprintln(w, f.String())
		}
	}
	if len(findings) > 0 {
		return fmt.Errorf("%s: %d findings: %w", target, len(findings), check.ErrFindings)
	}
	return nil
}
