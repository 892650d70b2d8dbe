package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/jailimg/jailimg/pkg/layout"
	"github.com/jailimg/jailimg/pkg/registry"
	"github.com/jailimg/jailimg/pkg/source"
	"github.com/spf13/cobra"
)

// pushOptions are the flags of `jailimg push`.
type pushOptions struct {
	registry registryFlags
	key      keyFlags
	json     bool
}

func newCmdPush() *cobra.Command {
	o := &pushOptions{}
	cmd := &cobra.Command{
		Use:   "push SOURCE REF",
		Short: "Upload a jail image to an OCI registry",
		Long: `Upload the image SOURCE names to the registry reference REF.

SOURCE is an OCI image layout ("DIR", "DIR:TAG" or "oci:DIR[:TAG]"), or
another registry reference. Only the blobs the registry lacks are sent, so
pushing the same image again uploads no layer bytes. Credentials come from
the docker config ($DOCKER_CONFIG or ~/.docker/config.json, with its
credential helpers) unless --username and --password-stdin are given.

Registries are spoken to in HTTPS (--ca-file adds a CA to trust). Only a
loopback registry (127.0.0.0/8, ::1, localhost) may answer in plain HTTP;
any other that does is refused, unless --insecure allows plain HTTP to it.

Connection failures, 429 and 5xx answers are retried, waiting 1, 2, 4 and
8 s; 401, 403, 404 and digest mismatches fail at once. The manifest digest
is printed on stdout.

The signatures and attestations SOURCE holds for the image (jailimg sign,
build --attest: the sha256-HEX.sig and .att images beside it) are sent
too, merged with those REF's repository already has; --sign-key KEY adds a
signature by KEY, as jailimg sign does. They are sent before the image, so
that a host verifying signatures never finds REF naming an image whose
signatures are not there yet. See docs/signing.md.

The OCI 1.1 artifacts stored beside the image in SOURCE's layout (the SPDX
SBOM of a jailimg build from packages:) are attached after the image as
referrers of its digest: through the registry's referrers API, or where it
has none, in the index its referrers tag (sha256-HEX) names.`,
		Example: `  jailimg push out/bash registry.example.com/jails/bash:5.2
  jailimg push out/bash:5.2 127.0.0.1:5000/bash:5.2
  COSIGN_PASSWORD=... jailimg push --sign-key cosign.key out/nginx registry.example.com/jails/nginx:1.22
  echo "$TOKEN" | jailimg push --username ci --password-stdin out/nginx registry.example.com/nginx:1`,
		Args: args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, a []string) error {
			return runPush(cmd.Context(), o, a[0], a[1], cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
	o.registry.AddRegistryFlags(cmd.Flags())
	o.key.AddKeyFlags(cmd.Flags(), "sign-key", "sign the image with this private `KEY` file (cosign's, or PEM ECDSA P-256 or Ed25519)")
	cmd.Flags().BoolVar(&o.json, "json", false, "print the result as JSON")
	return cmd
}

// pushResult is what `jailimg push --json` prints.
type pushResult struct {
	Ref           string `json:"ref"`
	Digest        string `json:"digest"`
	UploadedBytes int64  `json:"uploadedBytes"` // layer bytes sent; 0 when the registry had them all
}

func runPush(ctx context.Context, o *pushOptions, source, target string, stdin io.Reader, stdout io.Writer) error {
	ref, err := o.registry.parseRef(target)
	if err != nil {
		return err
	}
	key, err := o.key.load(stdin, &o.registry)
	if err != nil {
		return err
	}
	src, img, err := o.registry.open(ctx, source, stdin)
	var regErr *registry.Error
	if err != nil && !errors.As(err, &regErr) { // a registry SOURCE's registry errors exit 4, as pull's do
		return inputError{err}
	} else if err != nil {
		return err
	}
	from, err := o.registry.store(src, stdin)
	if err != nil {
		return err
	}
	arts, err := layoutReferrers(src, img)
	if err != nil {
		return inputError{err}
	}
	return pushImage(ctx, &o.registry, img, ref, attached{from: from, key: key, referrers: arts}, o.json, stdin, stdout)
}

// pushImage pushes what a attaches to img in cosign's tag scheme, then
// img, to ref, then a's OCI 1.1 referrers (its SBOM), and reports it: the
// digest on stdout (or JSON), the bytes uploaded on stderr. build --push
// shares it.
func pushImage(ctx context.Context, r *registryFlags, img v1.Image, ref name.Reference, a attached, asJSON bool, stdin io.Reader, stdout io.Writer) error {
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	if err := a.push(ctx, r, ref, digest, stdin); err != nil {
		return err
	}
	opts, done, err := r.imageOptions(stdin, "pushing")
	if err != nil {
		return err
	}
	res, err := registry.Push(ctx, ref, img, opts...)
	done()
	if err != nil {
		return err
	}
	logger().Info(fmt.Sprintf("uploaded %s of layers", humanBytes(res.UploadedBytes)), "ref", ref.String(), "digest", res.Digest.String())
	for _, art := range a.referrers {
		d, err := registry.Attach(ctx, ref.Context(), art, opts...)
		if err != nil {
			return err
		}
		m, _ := art.Manifest()
		logger().Info("attached", "artifactType", m.ArtifactType, "digest", d.String(), "subject", res.Digest.String())
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(pushResult{Ref: ref.String(), Digest: res.Digest.String(), UploadedBytes: res.UploadedBytes})
	}
	_, err = fmt.Fprintln(stdout, res.Digest)
	return err
}

// layoutReferrers returns the artifacts stored beside img when src is an
// OCI layout (an SBOM jailimg build wrote), for push to attach.
func layoutReferrers(src source.Source, img v1.Image) ([]v1.Image, error) {
	if src.Layout == "" {
		return nil, nil
	}
	digest, err := img.Digest()
	if err != nil {
		return nil, err
	}
	descs, err := layout.Referrers(src.Layout, digest)
	if err != nil {
		return nil, err
	}
	var arts []v1.Image
	for _, d := range descs {
		art, err := layout.Referrer(src.Layout, d)
		if err != nil {
			return nil, err
		}
		arts = append(arts, art)
	}
	return arts, nil
}

// artifacts lists the non-nil images among arts.
func artifacts(arts ...v1.Image) []v1.Image {
	var out []v1.Image
	for _, a := range arts {
		if a != nil {
			out = append(out, a)
		}
	}
	return out
}
