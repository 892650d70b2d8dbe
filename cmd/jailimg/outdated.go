package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/jailimg/jailimg/pkg/apt"
	"github.com/jailimg/jailimg/pkg/bundle"
	"github.com/jailimg/jailimg/pkg/outdated"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"
)

// ErrOutdated is what `jailimg outdated` fails with when a package is behind.
var ErrOutdated = errors.New("behind apt's sources")

// outdatedOptions are the flags of `jailimg outdated`.
type outdatedOptions struct {
	json     bool
	registry registryFlags
}

func newCmdOutdated() *cobra.Command {
	o := &outdatedOptions{}
	cmd := &cobra.Command{
		Use:   "outdated SOURCE|TARGET",
		Short: "List the Debian packages of a jail that apt's sources have newer versions of",
		Long: `Compare the Debian packages a jail records (/var/lib/dpkg/status.d, written by
jailimg build with dpkg: true, from host files or from packages:) with the
newest versions apt's configured sources offer now, and list each package that
is behind, and whether a security suite offers the newer version.

SOURCE is an image (an OCI layout "DIR[:TAG]", "oci:DIR[:TAG]", or a registry
reference); TARGET an unpacked jail (a bundle directory, or a plain jail tree).
The indexes are read as jailimg lock reads them, each checked along its
signature chain; run apt-get update first.

Exit status 0 when every package is current, 1 when one is behind (cron or
the rc script can rebuild: jailimg lock --update, then jailimg build), 3 when
the jail records no packages.`,
		Example: `  jailimg outdated out/nginx
  jailimg outdated --json /srv/jails/nginx | jq -r '.outdated[].name'
  apt-get update -qq && jailimg outdated -q /srv/jails/nginx || (jailimg lock --update r.yaml && jailimg build r.yaml)`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			return runOutdated(cmd.Context(), o, a[0], cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVar(&o.json, "json", false, "print the result as JSON")
	o.registry.AddRegistryFlags(cmd.Flags())
	return cmd
}

// outdatedResult is what `jailimg outdated --json` prints.
type outdatedResult struct {
	Source   string             `json:"source"`
	Packages int                `json:"packages"` // recorded in the jail
	Outdated []outdated.Finding `json:"outdated"`
}

func runOutdated(ctx context.Context, o *outdatedOptions, arg string, stdin io.Reader, stdout io.Writer) error {
	recorded, err := recordedPackages(ctx, &o.registry, arg, stdin)
	if err != nil {
		return err
	}
	targets, err := apt.Targets(ctx)
	if err != nil {
		return err
	}
	a, err := apt.Load(ctx, targets, apt.NativeArch())
	if err != nil {
		return err
	}
	findings := outdated.Check(recorded, a)
	if err := printOutdated(stdout, arg, len(recorded), findings, o.json); err != nil {
		return err
	}
	if len(findings) > 0 {
		return fmt.Errorf("%s: %d of %d %s %w", arg, len(findings), len(recorded), plural(len(recorded), "package"), ErrOutdated)
	}
	logger().Info("current", "source", arg, "packages", len(recorded))
	return nil
}

// recordedPackages reads the packages a SOURCE or TARGET records: an
// unpacked jail's tree (a bundle's checked rootfs), else the image.
func recordedPackages(ctx context.Context, r *registryFlags, arg string, stdin io.Reader) ([]outdated.Package, error) {
	if fi, err := os.Stat(arg); err == nil && fi.IsDir() {
		if _, err := os.Stat(filepath.Join(arg, ocispec.ImageLayoutFile)); err != nil {
			root, err := jailTree(arg)
			if err != nil {
				return nil, err
			}
			pkgs, err := outdated.FromDir(root)
			return pkgs, asInput(err)
		}
	}
	img, err := r.openSource(ctx, arg, stdin)
	if err != nil {
		return nil, err
	}
	pkgs, err := outdated.FromImage(ctx, img)
	return pkgs, asInput(err)
}

// jailTree returns the tree of an unpacked jail: a bundle's checked
// rootfs, or the directory itself.
func jailTree(dir string) (string, error) {
	b, err := bundle.Open(dir)
	switch {
	case err == nil:
		root, err := b.Root()
		if err != nil {
			return "", inputError{err}
		}
		return root, nil
	case errors.Is(err, bundle.ErrNotBundle):
		return dir, nil
	}
	return "", inputError{err}
}

// asInput marks a jail's malformed or missing record as bad input.
func asInput(err error) error {
	if err != nil {
		return inputError{err}
	}
	return nil
}

// printOutdated prints the findings: one line each, or JSON.
func printOutdated(w io.Writer, source string, n int, findings []outdated.Finding, asJSON bool) error {
	if asJSON {
		if findings == nil {
			findings = []outdated.Finding{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(outdatedResult{Source: source, Packages: n, Outdated: findings})
	}
	for _, f := range findings {
		if _, err := fmt.Fprintln(w, f.String()); err != nil {
			return err
		}
	}
	return nil
}
