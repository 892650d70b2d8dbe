package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/jailimg/jailimg/pkg/attach"
	"github.com/jailimg/jailimg/pkg/sign"
	"github.com/jailimg/jailimg/pkg/source"
	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// passwordEnv is cosign's variable for the password of an encrypted key.
const passwordEnv = "COSIGN_PASSWORD"

// keyFlags are the flags of a command that signs: the private key, and
// where the password of an encrypted one comes from.
type keyFlags struct {
	key           string
	passwordStdin bool
}

// AddKeyFlags adds the flag naming the key (flag) and --key-password-stdin.
func (k *keyFlags) AddKeyFlags(fs *pflag.FlagSet, flag, usage string) {
	fs.StringVar(&k.key, flag, "", usage)
	fs.BoolVar(&k.passwordStdin, "key-password-stdin", false, "read the password of an encrypted key from stdin (default: $"+passwordEnv+", else a prompt on a terminal)")
}

// load reads the private key, or returns nil when none was named. An
// unusable key file or a wrong password is a usage error.
func (k *keyFlags) load(stdin io.Reader, r *registryFlags) (*sign.PrivateKey, error) {
	switch {
	case k.key == "" && k.passwordStdin:
		return nil, usageError{errors.New("--key-password-stdin: no key to open")}
	case k.key == "":
		return nil, nil
	case k.passwordStdin && r.passwordStdin:
		return nil, usageError{fmt.Errorf("--key-password-stdin and --password-stdin both read stdin: give the key's password in %s instead", passwordEnv)}
	}
	key, err := sign.LoadPrivateKey(k.key, k.password(stdin))
	if err != nil {
		return nil, usageError{err}
	}
	return key, nil
}

// password returns where the password of an encrypted key comes from:
// stdin with --key-password-stdin, else $COSIGN_PASSWORD when set (even
// empty, as cosign takes it), else a prompt when stdin is a terminal.
func (k *keyFlags) password(stdin io.Reader) sign.PasswordFunc {
	return func() ([]byte, error) {
		if k.passwordStdin {
			b, err := io.ReadAll(io.LimitReader(stdin, 1<<16))
			if err != nil {
				return nil, fmt.Errorf("reading the key's password from stdin: %w", err)
			}
			return []byte(strings.TrimRight(string(b), "\r\n")), nil
		}
		if pw, ok := os.LookupEnv(passwordEnv); ok {
			return []byte(pw), nil
		}
		if fd := int(os.Stdin.Fd()); stdin == os.Stdin && term.IsTerminal(fd) {
			fmt.Fprintf(os.Stderr, "Password of %s: ", k.key)
			pw, err := term.ReadPassword(fd)
			fmt.Fprintln(os.Stderr)
			return pw, err
		}
		return nil, fmt.Errorf("encrypted: give its password in %s or with --key-password-stdin", passwordEnv)
	}
}

// verifyFlags is --verify-key: the public keys an image must be signed
// by, one of them at least.
type verifyFlags struct {
	files []string
}

// AddVerifyFlags adds the flag naming the public keys.
func (v *verifyFlags) AddVerifyFlags(fs *pflag.FlagSet, flag, usage string) {
	fs.StringSliceVar(&v.files, flag, nil, usage)
}

// load reads the public keys; none when none was named. An unusable key
// file is a usage error.
func (v *verifyFlags) load() ([]*sign.PublicKey, error) {
	keys, err := sign.LoadPublicKeys(v.files...)
	if err != nil {
		return nil, usageError{err}
	}
	return keys, nil
}

// openVerified opens SOURCE as registryFlags.open does and, with keys,
// checks before returning it that the image carries a signature by one of
// them over its digest (see verifySource): nothing of the image but its
// manifest is read before that.
func openVerified(ctx context.Context, r *registryFlags, keys []*sign.PublicKey, arg string, stdin io.Reader) (v1.Image, error) {
	src, img, err := r.open(ctx, arg, stdin)
	if err != nil || len(keys) == 0 {
		return img, err
	}
	if _, err := verifySource(ctx, r, src, img, keys, stdin); err != nil {
		return nil, err
	}
	return img, nil
}

// verifySource checks that img, which src names, carries a signature by
// one of keys over its digest, where src keeps its signatures: its layout
// or its repository. A refused image is an inputError naming the source,
// the digest and why.
func verifySource(ctx context.Context, r *registryFlags, src source.Source, img v1.Image, keys []*sign.PublicKey, stdin io.Reader) (*sign.Verified, error) {
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	store, err := r.store(src, stdin)
	if err != nil {
		return nil, err
	}
	v, err := sign.Verify(ctx, store, d, keys)
	if errors.Is(err, sign.ErrRefused) {
		return nil, inputError{fmt.Errorf("%s: %w", src, err)}
	} else if err != nil {
		return nil, err
	}
	logger().Info("signature verified", "source", src.String(), "digest", d.String(), "key", v.Key.String())
	return v, nil
}

// attached is what goes to a registry with an image: the images attached
// to it where it comes from (its layout's signatures and attestations, in
// cosign's tag scheme), a new signature, and the OCI 1.1 artifacts that
// refer to it (an SBOM, from its layout).
type attached struct {
	from      attach.Store     // nil: none
	key       *sign.PrivateKey // nil: no new signature
	referrers []v1.Image       // OCI 1.1 artifacts (an SBOM), pushed after the image
}

// push sends a to ref's repository for the image with digest d: what
// a.from attaches to it, merged with what the registry has, then a's
// signature. The caller pushes the image after it, so that a host that
// checks signatures never finds the tag naming an image whose signatures
// are not there yet.
func (a attached) push(ctx context.Context, r *registryFlags, ref name.Reference, d v1.Hash, stdin io.Reader) error {
	if a.from == nil && a.key == nil {
		return nil
	}
	opts, err := r.options(stdin)
	if err != nil {
		return err
	}
	to := attach.Registry(ref.Context(), opts...)
	if a.from != nil {
		if err := attach.Copy(ctx, a.from, to, d, attach.Signatures, attach.Attestations); err != nil {
			return err
		}
	}
	if a.key != nil {
		if _, err := sign.Sign(ctx, to, d, ref.Context().Name(), a.key); err != nil {
			return err
		}
		logger().Info("signed", "ref", ref.Context().Name(), "digest", d.String(), "key", a.key.Public().String())
	}
	return nil
}
