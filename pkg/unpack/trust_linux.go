package unpack

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/jailimg/jailimg/pkg/bundle"
)

// makeTarget creates the bundle directory target when it does not exist,
// mode 0755 whatever the umask, so that bundle.Open trusts it.
func makeTarget(target string) error {
	if _, err := os.Lstat(target); !errors.Is(err, os.ErrNotExist) {
		return nil // there already (checked once locked), or an error MkdirAll will repeat
	}
	if err := os.MkdirAll(target, 0o755); err != nil {
		return err
	}
	return os.Chmod(target, 0o755)
}

// checkTarget refuses a bundle directory, open as tfd, that bundle.Open
// would not trust: one that others may write (they could swap current once
// we are done) or that someone else owns.
func checkTarget(tfd int, abs string) error {
	if err := bundle.TrustedDir(tfd, abs); err != nil {
		return fmt.Errorf("%w (chmod go-w, owned by root, or choose another TARGET)", err)
	}
	return nil
}

// configDigest is the digest of the canonical JSON of an image config, the
// form in which a bundle's Meta.Config and an image's config are compared.
func configDigest(c *v1.ConfigFile) (string, error) {
	raw, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("encoding config: %w", err)
	}
	return fmt.Sprintf("sha256:%x", sha256.Sum256(raw)), nil
}

// isLive reports whether the opened bundle live holds the image with the
// manifest digest and the config cfg: both must match, since run takes its
// entrypoint, user and policy from the bundle's copy of the config.
func isLive(live *bundle.Bundle, digest v1.Hash, cfg *v1.ConfigFile) (bool, error) {
	if live == nil || live.Meta.ManifestDigest != digest.String() {
		return false, nil
	}
	want, err := configDigest(cfg)
	if err != nil {
		return false, err
	}
	got, err := configDigest(&live.Meta.Config)
	if err != nil {
		return false, err
	}
	return want == got, nil
}
