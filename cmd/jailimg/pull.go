package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/jailimg/jailimg/pkg/attach"
	"github.com/jailimg/jailimg/pkg/registry"
	"github.com/jailimg/jailimg/pkg/sign"
	"github.com/jailimg/jailimg/pkg/source"
	"github.com/spf13/cobra"
)

// pullOptions are the flags of `jailimg pull`.
type pullOptions struct {
	registry     registryFlags
	verify       verifyFlags
	json         bool
	keepPrevious bool
}

func newCmdPull() *cobra.Command {
	o := &pullOptions{}
	cmd := &cobra.Command{
		Use:   "pull REF LAYOUT[:TAG]",
		Short: "Download a jail image from an OCI registry into an OCI image layout",
		Long: `Download the image REF names into the OCI image layout LAYOUT, tagged TAG
(default: REF's tag, or "latest" for a digest reference). An existing layout
keeps its other images; a missing or empty directory becomes a new layout.

Every blob is checked against its digest and size before it is committed,
and the layout is updated in a copy renamed into place at the end: a failed
pull leaves LAYOUT exactly as it was; pulls into one LAYOUT wait for each
other (LAYOUT.lock, beside it, is their lock file). An index or manifest
that is ambiguous, whose config is not an image config, or with a layer
that is not a tar, tar+gzip or tar+zstd held by the registry, is refused
(exit 3). Credentials, HTTPS and retries are as for push (plain HTTP only
to loopback registries, or with --insecure). The manifest digest is
printed on stdout.

With --verify-key PUB[,PUB...], the image must carry a signature by one of
the keys over its digest (cosign's scheme; see docs/signing.md), checked
before any blob of the image is fetched: else nothing is written and
jailimg exits 3, naming the digest and why. Its signatures and attestations
are then stored beside it in LAYOUT, so that unpack --verify-key LAYOUT
checks them again offline, and the image is pulled by the digest that was
verified, whatever REF's tag names by then.

With --keep-previous, the image TAG named before (when it is another) stays
in LAYOUT as TAG.previous, one generation deep: a boot cache then holds the
live image and the one before it, for a rollback (jailimg unpack
LAYOUT:TAG.previous TARGET). jailimg gc LAYOUT removes the blobs of the
images that left the index.`,
		Example: `  jailimg pull registry.example.com/jails/bash:5.2 /var/lib/jails/bash
  jailimg pull 127.0.0.1:5000/nginx@sha256:... out/nginx:stable
  jailimg pull --verify-key /etc/jailimg/keys/release.pub registry.example.com/jails/nginx:1.22 /var/lib/jailimg/cache/nginx`,
		Args: args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, a []string) error {
			return runPull(cmd.Context(), o, a[0], a[1], cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
	o.registry.AddRegistryFlags(cmd.Flags())
	o.verify.AddVerifyFlags(cmd.Flags(), "verify-key", "refuse an image not signed by one of these public `KEY` files (PEM, comma-separated or repeated)")
	cmd.Flags().BoolVar(&o.json, "json", false, "print the result as JSON")
	cmd.Flags().BoolVar(&o.keepPrevious, "keep-previous", false, "keep the image TAG named before as TAG.previous (see jailimg gc)")
	return cmd
}

// pullResult is what `jailimg pull --json` prints.
type pullResult struct {
	Ref    string `json:"ref"`
	Digest string `json:"digest"`
	Layout string `json:"layout"`
	Tag    string `json:"tag"`
}

func runPull(ctx context.Context, o *pullOptions, source, target string, stdin io.Reader, stdout io.Writer) error {
	ref, err := o.registry.parseRef(source)
	if err != nil {
		return err
	}
	dir, tag := splitLayoutTag(target)
	if dir == "" {
		return usageError{fmt.Errorf("layout %q: empty directory name", target)}
	}
	if tag == "" {
		tag = "latest"
		if t, ok := ref.(name.Tag); ok {
			tag = t.TagStr()
		}
	}
	keys, err := o.verify.load()
	if err != nil {
		return err
	}
	if len(keys) > 0 {
		if ref, err = pullVerified(ctx, &o.registry, ref, dir, keys, stdin); err != nil {
			return err
		}
	}
	opts, done, err := o.registry.imageOptions(stdin, "pulling")
	if err != nil {
		return err
	}
	if o.keepPrevious {
		opts = append(opts, registry.WithKeepPrevious())
	}
	digest, err := registry.Pull(ctx, ref, dir, tag, opts...)
	done()
	if err != nil {
		return err
	}
	logger().Info("pulled", "ref", ref.String(), "layout", dir, "tag", tag)
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(pullResult{Ref: ref.String(), Digest: digest.String(), Layout: dir, Tag: tag})
	}
	_, err = fmt.Fprintln(stdout, digest)
	return err
}

// pullVerified checks that the image ref names carries a signature by one
// of keys over its digest, reading its manifest and signatures only, and
// copies its signatures and attestations into the layout dir (where
// unpack --verify-key finds them). It returns the reference by digest of
// the image it verified, for the pull.
func pullVerified(ctx context.Context, r *registryFlags, ref name.Reference, dir string, keys []*sign.PublicKey, stdin io.Reader) (name.Reference, error) {
	opts, err := r.options(stdin)
	if err != nil {
		return nil, err
	}
	img, err := registry.Image(ctx, ref, opts...)
	if err != nil {
		return nil, err
	}
	src := source.Source{Ref: ref}
	if _, err := verifySource(ctx, r, src, img, keys, stdin); err != nil {
		return nil, err
	}
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	if err := attach.Copy(ctx, attach.Registry(ref.Context(), opts...), attach.Layout(dir), d, attach.Signatures, attach.Attestations); err != nil {
		return nil, err
	}
	return ref.Context().Digest(d.String()), nil
}

// splitLayoutTag reads LAYOUT[:TAG]: "oci:" is dropped, an existing
// directory is taken whole, else a last ":" followed by no "/" starts the tag.
func splitLayoutTag(s string) (dir, tag string) {
	s = strings.TrimPrefix(s, "oci:")
	if fi, err := os.Stat(s); err == nil && fi.IsDir() || errors.Is(err, os.ErrNotExist) && !strings.Contains(s, ":") {
		return s, ""
	}
	if i := strings.LastIndex(s, ":"); i >= 0 && !strings.Contains(s[i+1:], "/") {
		return s[:i], s[i+1:]
	}
	return s, ""
}
