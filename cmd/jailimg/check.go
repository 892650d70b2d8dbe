package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/jailimg/jailimg/pkg/bundle"
	"github.com/jailimg/jailimg/pkg/check"
	"github.com/spf13/cobra"
)

// checkOptions are the flags of `jailimg check`.
type checkOptions struct {
	json     bool
	user     string
	writable []string
	accept   []string
}

func newCmdCheck() *cobra.Command {
	o := &checkOptions{}
	cmd := &cobra.Command{
		Use:   "check [--json] [--user U] [--writable DIR]... [--accept KIND]... TARGET",
		Short: "Audit a jail: setuid files, capabilities, writable paths, devices, shells, accounts, policy opt-outs",
		Long: `Audit TARGET, a bundle or a plain jail directory, and print one finding per
line as "KIND<TAB>PATH<TAB>DETAIL" (or a JSON array with --json). Kinds:
setuid, setgid, capability, world-writable, device (outside null, zero,
full, random, urandom, tty), interpreter (shells, interpreters, compilers),
user-writable (by the service user, outside the writable dirs), passwd
(login shells and passwords in /etc/passwd and /etc/shadow), hardlink (shared
with a file outside the jail), mount, opt-out (the image's run policy turns
off a confinement jailimg run applies by default: seccomp, Landlock, the
private pid or IPC namespace). For a bundle the user, the writable dirs
(those jailimg run mounts for it, and run.writable) and the accepted kinds
come from its image config and policy (a recipe's run.accept, e.g.
[interpreter] for a debug jail with a shell); the flags add to them. The image being audited may accept only interpreter and
user-writable findings (any other kind in its policy is an error); --accept
is the auditor's own decision. Accepted findings are still printed, marked
"(accepted)". Exits 1 when there is any finding not accepted.`,
		Example: `  jailimg check /srv/jails/nginx
  jailimg check --json /srv/jails/nginx | jq -r '.[] | select(.accepted | not) | .path'
  jailimg check -u www-data --writable /var/log/nginx ./rootfs   # a plain directory`,
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
	f.StringArrayVar(&o.accept, "accept", nil, "KIND of finding the jail has on purpose: reported as accepted, not failing (default: the image policy's)")
	return cmd
}

// runCheck audits target and prints its findings to w.
func runCheck(ctx context.Context, o *checkOptions, target string, w io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	root, opts, err := checkTarget(target)
	if err != nil {
		return err
	}
	if o.user != "" {
		opts = append(opts, check.WithUser(o.user))
	}
	opts = append(opts, check.WithWritable(o.writable...))
	for _, k := range o.accept {
		if !slices.Contains(check.Kinds, check.Kind(k)) {
			return usageError{fmt.Errorf("--accept %q: not a kind of finding (%v)", k, check.Kinds)}
		}
		opts = append(opts, check.WithAccept(check.Kind(k)))
	}
	findings, err := check.Run(ctx, root, opts...)
	if err != nil {
		return err
	}
	if err := printFindings(w, findings, o.json); err != nil {
		return err
	}
	if failing := check.Failing(findings); len(failing) > 0 {
		return fmt.Errorf("%s: %d %s: %w", target, len(failing), plural(len(failing), "finding"), check.ErrFindings)
	}
	return nil
}

// checkTarget returns the tree to audit for target and the options its
// image implies: a bundle's checked rootfs with the options of its config
// and policy, or a plain jail directory with none.
func checkTarget(target string) (string, []check.Option, error) {
	b, err := bundle.Open(target)
	switch {
	case err == nil:
		root, err := b.Root()
		if err != nil {
			return "", nil, inputError{err}
		}
		opts, err := check.ForBundle(b)
		if err != nil {
			return "", nil, inputError{err}
		}
		return root, opts, nil
	case !errors.Is(err, bundle.ErrNotBundle):
		return "", nil, err
	}
	// A plain jail directory has no current link; one that has a link
	// Open refuses is a broken or tampered bundle, not a jail to audit.
	if _, lerr := os.Lstat(filepath.Join(target, bundle.Current)); lerr == nil {
		return "", nil, inputError{err}
	}
	return target, nil, nil
}

// printFindings prints findings to w, one per line or as a JSON array.
func printFindings(w io.Writer, findings []check.Finding, asJSON bool) error {
	if !asJSON {
		for _, f := range findings {
			fmt.Fprintln(w, f.String())
		}
		return nil
	}
	if findings == nil {
		findings = []check.Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(findings)
}
