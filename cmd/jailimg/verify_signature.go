package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// verifySignatureOptions are the flags of `jailimg verify-signature`.
type verifySignatureOptions struct {
	registry registryFlags
	keys     verifyFlags
	json     bool
}

// newCmdVerifySignature is its own command, not a flag of verify: verify
// compares a bundle with an image (SOURCE TARGET) and exits 1 on a drift,
// while this needs no bundle and its refusal is bad input (exit 3), as
// unpack --verify-key's is.
func newCmdVerifySignature() *cobra.Command {
	o := &verifySignatureOptions{}
	cmd := &cobra.Command{
		Use:   "verify-signature --key PUB[,PUB...] [flags] SOURCE",
		Short: "Check that an image is signed by one of the keys, as unpack --verify-key does",
		Long: `Check that the image SOURCE names carries a signature by one of the public
keys over its manifest digest, in cosign's scheme (the sha256-HEX.sig image
in its repository, or beside it in an OCI layout), exactly as unpack and
pull --verify-key check it, for scripts and CI. Only the manifest and the
signatures are read, never the image's layers.

Exit 0 and the digest on stdout when one signature verifies; exit 3, with
the digest and why on stderr, when the image is unsigned, signed by other
keys only, signed over another digest (re-tagged after signing, or a
signature copied from another image) or its signature altered; exit 4 when
the registry fails. Several keys are accepted at once while keys rotate.
Signatures made by cosign sign --key are accepted, Ed25519 ones included.`,
		Example: `  jailimg verify-signature --key cosign.pub registry.example.com/jails/nginx:1.22
  jailimg verify-signature --key old.pub,new.pub --json out/nginx`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			return runVerifySignature(cmd.Context(), o, a[0], cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
	o.keys.AddVerifyFlags(cmd.Flags(), "key", "the public `KEY` files, one of which must have signed the image (PEM, comma-separated or repeated)")
	cmd.Flags().BoolVar(&o.json, "json", false, "print the result as JSON")
	o.registry.AddRegistryFlags(cmd.Flags())
	return cmd
}

// verifySignatureResult is what `jailimg verify-signature --json` prints.
type verifySignatureResult struct {
	Source      string `json:"source"`
	Digest      string `json:"digest"`
	Key         string `json:"key"`         // the file of the key that verified
	Fingerprint string `json:"fingerprint"` // its SHA-256 fingerprint
	Identity    string `json:"identity"`    // the repository the signature claims
}

func runVerifySignature(ctx context.Context, o *verifySignatureOptions, arg string, stdin io.Reader, stdout io.Writer) error {
	keys, err := o.keys.load()
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return usageError{errors.New("--key: give the public keys to verify with")}
	}
	src, img, err := o.registry.open(ctx, arg, stdin)
	if err != nil {
		return err
	}
	v, err := verifySource(ctx, &o.registry, src, img, keys, stdin)
	if err != nil {
		return err
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(verifySignatureResult{Source: src.String(), Digest: v.Claim.Digest.String(), Key: v.Key.Name, Fingerprint: v.Key.Fingerprint(), Identity: v.Claim.Identity})
	}
	_, err = fmt.Fprintln(stdout, v.Claim.Digest)
	return err
}
