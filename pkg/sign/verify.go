package sign

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/jailimg/jailimg/pkg/attach"
)

// ErrRefused is matched by a *RefusedError.
var ErrRefused = errors.New("image refused by the signature policy")

// RefusedError is an image that does not carry a signature by one of the
// keys over its digest.
type RefusedError struct {
	// Digest is the image's manifest digest.
	Digest v1.Hash
	// Reason says why: unsigned, signed by other keys, a signature over
	// another digest, a signature altered.
	Reason string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("image %s refused: %s", e.Digest, e.Reason)
}

// Is reports a RefusedError as ErrRefused.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// Verified is a signature that passed Verify.
type Verified struct {
	// Key is the key that made it.
	Key *PublicKey
	// Claim is what its payload says: the image's digest and the identity
	// its signer claimed.
	Claim Claim
}

// Verify checks that the image with manifest digest d carries, in s, a
// signature by one of keys of a payload naming d: one layer of the image
// tagged sha256-HEX.sig, of media type SimpleSigningMediaType, whose
// payload blob matches its descriptor, whose SignatureAnnotation verifies
// with one of keys over that payload, and whose payload is cosign's
// simple-signing JSON with docker-manifest-digest d. Any one such layer
// is enough (several keys accept an image while keys rotate); others are
// not looked at further. The identity the payload claims is returned, not
// checked, as cosign verify does not check it.
//
// An image that has no such signature is a *RefusedError saying why,
// giving the most telling reason when its signatures fail differently: a
// signature by one of keys over another digest (the tag now names an
// image the signature was not made for), an altered payload, a payload
// that is not an image signature, signatures by other keys only, none at
// all. Only the signature image's manifest and payloads are read: nothing
// of the image itself. A store that fails (a registry unreachable or
// refusing) fails Verify with its error.
func Verify(ctx context.Context, s attach.Store, d v1.Hash, keys []*PublicKey) (*Verified, error) {
	if len(keys) == 0 {
		return nil, errors.New("verifying signatures: no key given")
	}
	where := s.String() + ":" + attach.Tag(d, attach.Signatures)
	layers, err := attach.Read(ctx, s, d, attach.Signatures)
	switch {
	case errors.Is(err, attach.ErrNotFound):
		return nil, &RefusedError{Digest: d, Reason: fmt.Sprintf("unsigned: no signature image %s", where)}
	case errors.Is(err, attach.ErrInvalid):
		return nil, &RefusedError{Digest: d, Reason: fmt.Sprintf("signature image unusable: %v", err)}
	case err != nil:
		return nil, err
	}
	var c checks
	for i, l := range layers {
		if v := c.check(i, l, d, keys); v != nil {
			return v, nil
		}
	}
	return nil, &RefusedError{Digest: d, Reason: c.reason(where, keys)}
}

// checks collects why each signature layer failed.
type checks struct {
	signatures  int      // layers of the signature media type
	otherDigest []string // by one of the keys, over another digest
	altered     []string // payload not what its descriptor says
	badPayload  []string // by one of the keys, not an image signature
}

// check returns the Verified of layer i when it passes, else notes why not.
func (c *checks) check(i int, l attach.Layer, d v1.Hash, keys []*PublicKey) *Verified {
	if l.MediaType != SimpleSigningMediaType {
		return nil
	}
	c.signatures++
	if l.Err != nil {
		c.altered = append(c.altered, l.Err.Error())
		return nil
	}
	sig, err := base64.StdEncoding.DecodeString(l.Annotations[SignatureAnnotation])
	if err != nil {
		return nil // not a signature any key made
	}
	for _, k := range keys {
		if !k.Verify(l.Payload, sig) {
			continue
		}
		claim, err := ParsePayload(l.Payload)
		switch {
		case err != nil:
			c.badPayload = append(c.badPayload, fmt.Sprintf("layer %d, by %s: %v", i, k, err))
		case claim.Digest != d:
			c.otherDigest = append(c.otherDigest, fmt.Sprintf("layer %d, by %s, signs %s", i, k, claim.Digest))
		default:
			return &Verified{Key: k, Claim: claim}
		}
		return nil
	}
	return nil
}

// reason says why no layer passed, the most telling failure first.
func (c *checks) reason(where string, keys []*PublicKey) string {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.String()
	}
	switch {
	case len(c.otherDigest) > 0:
		return fmt.Sprintf("signature over another digest, not this image's (re-tagged after signing, or a signature copied from another image): %s", strings.Join(c.otherDigest, "; "))
	case len(c.altered) > 0:
		return fmt.Sprintf("signature altered: %s", strings.Join(c.altered, "; "))
	case len(c.badPayload) > 0:
		return fmt.Sprintf("signed payload is not a cosign image signature: %s", strings.Join(c.badPayload, "; "))
	case c.signatures == 1:
		return fmt.Sprintf("signed by another key: the one signature in %s is not by %s", where, strings.Join(names, " or "))
	case c.signatures > 1:
		return fmt.Sprintf("signed by other keys: none of the %d signatures in %s is by %s", c.signatures, where, strings.Join(names, " or "))
	}
	return fmt.Sprintf("unsigned: %s holds no cosign signature", where)
}
