package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/jailimg/jailimg/pkg/registry"
	"github.com/jailimg/jailimg/pkg/sign"
	"github.com/spf13/cobra"
)

// signOptions are the flags of `jailimg sign`.
type signOptions struct {
	registry registryFlags
	key      keyFlags
	identity string
	json     bool
}

func newCmdSign() *cobra.Command {
	o := &signOptions{}
	cmd := &cobra.Command{
		Use:   "sign --key KEY [flags] SOURCE",
		Short: "Sign an image as cosign does, in its registry or its layout",
		Long: `Sign the image SOURCE names: a signature by KEY over its manifest digest, in
cosign's format (the simple-signing payload, its signature in the layer
annotation dev.cosignproject.cosign/signature), stored where cosign looks
for it: the image tagged sha256-HEX.sig in the image's repository, or,
for an OCI layout, beside the image in the layout, which jailimg push then
sends with it. So an image can be signed offline and pushed later;
` + "`cosign verify --key cosign.pub --insecure-ignore-tlog REF`" + ` accepts it.
Signatures already there are kept (one per key while keys rotate); signing
again with the same key adds nothing. No transparency log is written.

KEY is a cosign key (cosign generate-key-pair; its password from
--key-password-stdin, else $COSIGN_PASSWORD, else a prompt on a terminal)
or a plain PEM ECDSA P-256 or Ed25519 private key.

The signature claims an identity, the repository the image is published
in: a registry SOURCE's, else --identity (none for a layout without it).
cosign and jailimg do not check it; podman's and skopeo's sigstoreSigned
policies do.

The signed manifest digest is printed on stdout. See docs/signing.md.`,
		Example: `  COSIGN_PASSWORD=... jailimg sign --key cosign.key registry.example.com/jails/nginx:1.22
  jailimg sign --key release.pem --identity registry.example.com/jails/nginx out/nginx`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			return runSign(cmd.Context(), o, a[0], cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
	o.key.AddKeyFlags(cmd.Flags(), "key", "the private `KEY` file to sign with (cosign's, or PEM ECDSA P-256 or Ed25519)")
	cmd.Flags().StringVar(&o.identity, "identity", "", "the `REPOSITORY` the signature claims (default: a registry SOURCE's)")
	cmd.Flags().BoolVar(&o.json, "json", false, "print the result as JSON")
	o.registry.AddRegistryFlags(cmd.Flags())
	return cmd
}

// signResult is what `jailimg sign --json` prints.
type signResult struct {
	Source   string `json:"source"`
	Digest   string `json:"digest"`
	Key      string `json:"key"` // the public key's SHA-256 fingerprint
	Identity string `json:"identity"`
	Added    bool   `json:"added"` // false: the key had signed it already
}

func runSign(ctx context.Context, o *signOptions, arg string, stdin io.Reader, stdout io.Writer) error {
	key, err := o.key.load(stdin, &o.registry)
	if err != nil {
		return err
	}
	if key == nil {
		return usageError{errors.New("--key: give the private key to sign with")}
	}
	src, img, err := o.registry.open(ctx, arg, stdin)
	var regErr *registry.Error
	if err != nil && !errors.As(err, &regErr) {
		return inputError{err}
	} else if err != nil {
		return err
	}
	d, err := img.Digest()
	if err != nil {
		return err
	}
	store, err := o.registry.store(src, stdin)
	if err != nil {
		return err
	}
	res := signResult{Source: src.String(), Digest: d.String(), Key: key.Public().Fingerprint(), Identity: o.identity}
	if res.Identity == "" && src.Ref != nil {
		res.Identity = src.Ref.Context().Name()
	}
	if res.Added, err = sign.Sign(ctx, store, d, res.Identity, key); err != nil {
		return err
	}
	logger().Info("signed", "source", res.Source, "digest", res.Digest, "key", key.Public().String(), "new", res.Added, "in", store.String())
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	_, err = fmt.Fprintln(stdout, d)
	return err
}
