package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/jailimg/jailimg/pkg/layout"
)

// gcOptions are the flags of `jailimg gc`.
type gcOptions struct {
	json bool
}

func newCmdGC() *cobra.Command {
	o := &gcOptions{}
	cmd := &cobra.Command{
		Use:   "gc LAYOUT",
		Short: "Remove from an OCI image layout the blobs no image of its index needs",
		Long: `Remove from the OCI image layout LAYOUT the blobs that no image of its
index needs, and the signatures, attestations and SBOMs of images no longer
there: a boot cache that jailimg pull --keep-previous refreshes then holds
the live image and the previous one, whatever the number of upgrades.

Every image the index names is kept (tagged, TAG.previous, or untagged),
with its manifest, config and layers (an index with its manifests), and so
is every document attached to a kept image: in cosign's tag scheme
(sha256-HEX.sig, .att, .sbom) or by the OCI 1.1 subject field of its
manifest. A document whose image is gone leaves the index. Files under
blobs/ that are not named as digests are left alone.

The layout is collected in a copy renamed into place under its lock
(LAYOUT.lock), as pull updates it: a failure leaves it as it was, and
pulls and collections of one layout wait for each other. What was removed
is logged on stderr (and printed with --json).`,
		Example: `  jailimg pull --keep-previous registry.example.com/jails/nginx:1.22 /var/lib/jailimg/cache/nginx
  jailimg gc /var/lib/jailimg/cache/nginx`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			return runGC(cmd.Context(), o, a[0], cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVar(&o.json, "json", false, "print what was removed as JSON")
	return cmd
}

func runGC(ctx context.Context, o *gcOptions, dir string, w io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	dir, _ = splitLayoutTag(dir)
	res, err := layout.GC(ctx, dir)
	if err != nil {
		return fmt.Errorf("gc %s: %w", dir, err)
	}
	logger().Info("collected", "layout", dir, "images", res.Images, "attached", res.Attached,
		"dropped", res.Dropped, "blobs_removed", res.Blobs, "bytes_removed", res.Bytes)
	if o.json {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	return nil
}
