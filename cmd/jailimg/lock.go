package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/jailimg/jailimg/pkg/apt"
	"github.com/jailimg/jailimg/pkg/lock"
	"github.com/jailimg/jailimg/pkg/recipe"
	"github.com/spf13/cobra"
)

// lockOptions are the flags of `jailimg lock`.
type lockOptions struct {
	update bool
}

func newCmdLock() *cobra.Command {
	o := &lockOptions{}
	cmd := &cobra.Command{
		Use:   "lock RECIPE",
		Short: "Pin a recipe's Debian packages in a lock file beside it",
		Long: `Resolve the packages: of a recipe (NAME, or NAME=VERSION as apt writes it) and
their Depends/Pre-Depends closure for this machine's architecture, over the
sources apt is configured with, and write the lock file beside the recipe
(RECIPE.lock.json): every package's name, version, architecture, the SHA256
and size of its .deb, and where apt found it. jailimg build then builds from
exactly those .deb files, on any machine.

Each suite's InRelease is checked against the keyring of its sources entry
(Signed-By, else apt's trusted keyrings) and each index against the signed
SHA256 before a package of it is read; run apt-get update first. Pinning a
package pins what its exact-version dependencies demand (nginx-light=V
brings nginx and nginx-common at V); everything else is the newest version
offered.

An existing lock that still matches the recipe is kept as it is; one that no
longer does is an error naming what changed. --update resolves again and
moves every package to the newest version the recipe allows. The lock file's
path is printed on stdout.`,
		Example: `  jailimg lock recipes/nginx-pkg.yaml
  apt-get update && jailimg lock --update recipes/nginx-pkg.yaml && jailimg build recipes/nginx-pkg.yaml`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			return runLock(cmd.Context(), o, a[0], cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVar(&o.update, "update", false, "resolve again and move the lock to the newest versions the recipe allows")
	return cmd
}

func runLock(ctx context.Context, o *lockOptions, recipePath string, stdout io.Writer) error {
	r, err := recipe.Load(recipePath)
	if err != nil {
		return err
	}
	if len(r.Packages) == 0 {
		return inputError{fmt.Errorf("%s: no packages: to lock (a recipe without them is built from the host's files)", recipePath)}
	}
	path := lock.Path(r.Path)
	old, err := lock.Read(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		old = nil
	case err != nil && !o.update:
		return err
	case err == nil && !o.update:
		if err := old.Check(path, r.Packages, apt.NativeArch()); err != nil {
			return err
		}
		logger().Info("lock is up to date", "lock", path, "packages", len(old.Packages))
		_, err = fmt.Fprintln(stdout, path)
		return err
	}
	l, err := resolveLock(ctx, r.Packages)
	if err != nil {
		return err
	}
	if err := l.Write(path); err != nil {
		return err
	}
	logChanges(old, l)
	_, err = fmt.Fprintln(stdout, path)
	return err
}

// resolveLock reads apt's verified indexes and resolves requests.
func resolveLock(ctx context.Context, requests []string) (*lock.Lock, error) {
	targets, err := apt.Targets(ctx)
	if err != nil {
		return nil, err
	}
	a, err := apt.Load(ctx, targets, apt.NativeArch())
	if err != nil {
		return nil, err
	}
	return a.Lock(requests)
}

// logChanges says on stderr which packages a new lock moved.
func logChanges(old, l *lock.Lock) {
	was := map[string]string{}
	if old != nil {
		for _, p := range old.Packages {
			was[p.Name] = p.Version
		}
	}
	changed := 0
	for _, p := range l.Packages {
		if v, ok := was[p.Name]; old != nil && v != p.Version {
			changed++
			if !ok {
				v = "(new)"
			}
			logger().Info("package", "name", p.Name, "from", v, "to", p.Version)
		}
	}
	logger().Info("locked", "packages", len(l.Packages), "changed", changed)
}
