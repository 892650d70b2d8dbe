package registry

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Attach uploads art, an artifact whose manifest has a subject (package
// referrer makes them), to the repository repo by its digest, as an OCI
// 1.1 referrer of that subject: a registry with the referrers API indexes
// it itself; for one without it (Debian's docker-registry, distribution
// 2.x) the index of the referrers tag schema (the subject's digest as a
// tag, sha256-HEX) is updated to list it, as the distribution spec says,
// so that go-containerregistry's remote.Referrers, oras discover and
// cosign find it either way. Faults are retried and reported as Push
// does; the artifact's digest is returned.
func Attach(ctx context.Context, repo name.Repository, art v1.Image, opts ...Option) (v1.Hash, error) {
	m, err := art.Manifest()
	if err != nil {
		return v1.Hash{}, err
	}
	if m.Subject == nil {
		return v1.Hash{}, fmt.Errorf("attaching to %s: the artifact's manifest has no subject", repo)
	}
	digest, err := art.Digest()
	if err != nil {
		return v1.Hash{}, err
	}
	res, err := Push(ctx, repo.Digest(digest.String()), art, opts...)
	return res.Digest, err
}
