package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/jailimg/jailimg/internal/printable"
	"github.com/jailimg/jailimg/pkg/unpack"
	"github.com/spf13/cobra"
)

func newCmdVerify() *cobra.Command {
	f := &unpackFlags{}
	cmd := &cobra.Command{
		Use:   "verify [flags] SOURCE TARGET",
		Short: "Check that a bundle holds exactly the image, path by path",
		Long: `Compare the live generation of the bundle TARGET with the image SOURCE names:
every file (content), directory, symlink, hardlink and device node, with its
owner, mode and mtime, and nothing extra. Each difference is printed on one
line as "PATH<TAB>WHAT<TAB>want X, got Y" (or a JSON array with --json).
Exits 1 when there is any difference, 3 when the image itself is refused.
The limit and device flags must match those used by unpack.

The live tree is walked from the rootfs directory of TARGET's live
generation (checked as run checks it), one name at a time, never following
a symlink and never blocking on a FIFO: a FIFO, device or symlink where the
image has a file or directory is reported as a type difference and is
never read or followed, even when a service swaps it in while verify runs.`,
		Example: `  jailimg verify out/nginx /srv/jails/nginx
  jailimg verify --json registry.example.com/jails/nginx:1.22 /srv/jails/nginx | jq length`,
		Args: args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, a []string) error {
			return runVerify(cmd.Context(), f, a[0], a[1], cmd.OutOrStdout())
		},
	}
	f.add(cmd)
	return cmd
}

func runVerify(ctx context.Context, f *unpackFlags, source, target string, w io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	opts, err := f.options(source)
	if err != nil {
		return err
	}
	img, err := f.registry.openSource(ctx, source, os.Stdin)
	if err != nil {
		return err
	}
	drifts, err := unpack.Verify(ctx, img, target, opts...)
	if unpack.IsBadImage(err) {
		return inputError{err}
	}
	if err != nil {
		return err
	}
	if f.json {
		if drifts == nil {
			drifts = []unpack.Drift{}
		}
		if err := json.NewEncoder(w).Encode(drifts); err != nil {
			return err
		}
	} else {
		for _, d := range drifts {
			fmt.Fprintf(w, "%s\t%s\twant %s, got %s\n", printable.Quote(d.Path), d.What, printable.Quote(d.Want), printable.Quote(d.Got))
		}
	}
	if len(drifts) > 0 {
		return fmt.Errorf("%s: %d %s: %w", target, len(drifts), plural(len(drifts), "difference"), unpack.ErrDrift)
	}
	return nil
}
