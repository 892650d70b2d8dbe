package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/jailimg/jailimg/pkg/resolve"
	"github.com/spf13/cobra"
)

// resolveOptions are the flags of `jailimg resolve`.
type resolveOptions struct {
	root  string
	json  bool
	links bool
	libs  []string
}

func newCmdResolve() *cobra.Command {
	o := &resolveOptions{}
	cmd := &cobra.Command{
		Use:   "resolve [--json] [--root DIR] [--links] [--lib SONAME]... BINARY...",
		Short: "List the files (and symlinks) the dynamic loader needs to run binaries",
		Long: `Resolve the ELF dependency closure of BINARY... inside --root without running
anything: the binaries, their interpreter and every shared library, as real
paths inside the root, one per line. --links adds "PATH -> TARGET" lines for
the symlinks the loader follows. On a missing library the command still prints
what it found and then fails.`,
		Example: `  jailimg resolve /usr/sbin/nginx
  jailimg resolve --links --lib libnss_files.so.2 /usr/sbin/named
  jailimg resolve --root /srv/sysroot --json /usr/bin/bash | jq -r '.files[]'`,
		Args:         args(cobra.MinimumNArgs(1)),
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runResolve(cmd.Context(), o, args, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.root, "root", "/", "directory taken as the root of the file system")
	f.BoolVar(&o.json, "json", false, "print the closure as JSON")
	f.BoolVar(&o.links, "links", false, `also print symlinks as "PATH -> TARGET"`)
	f.StringArrayVar(&o.libs, "lib", nil, "extra library (soname or absolute path) loaded as if dlopen()ed by the first binary")
	return cmd
}

// runResolve resolves args inside o.root and prints the closure to w.
func runResolve(ctx context.Context, o *resolveOptions, args []string, w io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	for _, l := range o.libs {
		if strings.Contains(l, "/") && (!filepath.IsAbs(l) || filepath.Clean(l) != l) || l == "" || l == "." || l == ".." {
			return usageError{fmt.Errorf("--lib %q: want a soname (libz.so.1) or a clean absolute path, as in a recipe's libraries list", l)}
		}
	}
	bins := make([]string, len(args))
	for i, a := range args {
		if a == "" {
			return usageError{errors.New("binary \"\": want a path")}
		}
		if !filepath.IsAbs(a) {
			if o.root != "/" {
				return fmt.Errorf("binary %q: must be an absolute path inside --root", a)
			}
			abs, err := filepath.Abs(a)
			if err != nil {
				return fmt.Errorf("binary %q: %w", a, err)
			}
			a = abs
		}
		bins[i] = a
	}
	root, err := os.OpenRoot(o.root)
	if err != nil {
		return fmt.Errorf("--root: %w", err)
	}
	defer root.Close()
	r, err := resolve.New(root.FS(), resolve.WithLogger(logger()))
	if err != nil {
		return err
	}
	cl, rerr := r.Resolve(ctx, resolve.Request{Binaries: bins, Libraries: o.libs})
	if errors.Is(rerr, fs.ErrNotExist) {
		rerr = inputError{rerr} // a binary to resolve is missing
	}
	if cl != nil {
		if err := printClosure(w, cl, o); err != nil {
			return err
		}
	}
	return rerr
}

func printClosure(w io.Writer, cl *resolve.Closure, o *resolveOptions) error {
	if o.json {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(cl)
	}
	for _, f := range cl.Files {
		if _, err := fmt.Fprintln(w, f); err != nil {
			return err
		}
	}
	if o.links {
		for _, l := range cl.Links {
			if _, err := fmt.Fprintf(w, "%s -> %s\n", l.Path, l.Target); err != nil {
				return err
			}
		}
	}
	return nil
}
