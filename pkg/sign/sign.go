package sign

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/jailimg/jailimg/pkg/attach"
)

// Sign attaches to the image with manifest digest d, in s, a signature by
// k of the simple-signing payload claiming identity (see Payload), as
// cosign sign does: a layer of the image tagged sha256-HEX.sig whose blob
// is the payload and whose annotation SignatureAnnotation holds the
// signature. The signatures already there are kept. When one of them is
// by k over the same payload, none is added and Sign returns false.
func Sign(ctx context.Context, s attach.Store, d v1.Hash, identity string, k *PrivateKey) (bool, error) {
	payload := Payload(d, identity)
	have, err := attach.Read(ctx, s, d, attach.Signatures)
	if err != nil && !errors.Is(err, attach.ErrNotFound) {
		return false, err
	}
	for _, l := range have {
		if l.Err == nil && l.MediaType == SimpleSigningMediaType && bytes.Equal(l.Payload, payload) && signedBy(l, k.Public()) {
			return false, nil
		}
	}
	sig, err := k.Sign(payload)
	if err != nil {
		return false, err
	}
	l := attach.Layer{
		MediaType:   SimpleSigningMediaType,
		Annotations: map[string]string{SignatureAnnotation: base64.StdEncoding.EncodeToString(sig)},
		Payload:     payload,
	}
	return true, attach.Append(ctx, s, d, attach.Signatures, l)
}

// signedBy reports whether the signature layer l holds a signature by k
// of its payload.
func signedBy(l attach.Layer, k *PublicKey) bool {
	sig, err := base64.StdEncoding.DecodeString(l.Annotations[SignatureAnnotation])
	return err == nil && k.Verify(l.Payload, sig)
}

// Attest attaches statement, an in-toto statement of predicateType about
// the image with manifest digest d, to the image in s as cosign attest
// does: a layer of the image tagged sha256-HEX.att whose blob is the DSSE
// envelope of the statement (payloadType InTotoPayloadType) signed by k,
// or not signed when k is nil, annotated with the predicate type. The
// attestations already there are kept; when one of them holds the same
// statement signed by k, none is added and Attest returns false.
func Attest(ctx context.Context, s attach.Store, d v1.Hash, predicateType string, statement []byte, k *PrivateKey) (bool, error) {
	have, err := attach.Read(ctx, s, d, attach.Attestations)
	if err != nil && !errors.Is(err, attach.ErrNotFound) {
		return false, err
	}
	if k != nil {
		for _, l := range have {
			if l.Err != nil || l.MediaType != DSSEMediaType {
				continue
			}
			if p, _, err := OpenEnvelope(l.Payload, InTotoPayloadType, []*PublicKey{k.Public()}); err == nil && bytes.Equal(p, statement) {
				return false, nil
			}
		}
	}
	env, err := SignEnvelope(k, InTotoPayloadType, statement)
	if err != nil {
		return false, err
	}
	l := attach.Layer{
		MediaType: DSSEMediaType,
		// cosign writes an empty signature annotation on attestations too.
		Annotations: map[string]string{PredicateTypeAnnotation: predicateType, SignatureAnnotation: ""},
		Payload:     env,
	}
	return true, attach.Append(ctx, s, d, attach.Attestations, l)
}
