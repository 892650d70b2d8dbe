package sign

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Media types and annotations of cosign's signature scheme.
const (
	// SimpleSigningMediaType is the media type of a signature layer, whose
	// blob is the signed payload.
	SimpleSigningMediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	// SignatureAnnotation holds a signature layer's signature, in base64.
	SignatureAnnotation = "dev.cosignproject.cosign/signature"
	// signatureType is critical.type of cosign's payloads.
	signatureType = "cosign container image signature"
)

// maxPayload is the largest signature payload parsed: cosign's are a few
// hundred bytes.
const maxPayload = 64 << 10

// simpleSigning is the "simple signing" payload of containers/image that
// cosign signs, its fields in cosign's order so that the same digest and
// identity give the same bytes as cosign's.
type simpleSigning struct {
	Critical struct {
		Identity struct {
			DockerReference string `json:"docker-reference"`
		} `json:"identity"`
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type string `json:"type"`
	} `json:"critical"`
	Optional map[string]any `json:"optional"`
}

// Payload returns the payload a signature of the image with manifest
// digest d signs: cosign's simple-signing JSON, claiming identity (the
// repository the image is published in, as cosign writes it) as its
// docker-reference.
func Payload(d v1.Hash, identity string) []byte {
	var p simpleSigning
	p.Critical.Identity.DockerReference = identity
	p.Critical.Image.DockerManifestDigest = d.String()
	p.Critical.Type = signatureType
	b, _ := json.Marshal(p) // strings and a nil map: cannot fail
	return b
}

// Claim is what a signature payload says of the image it signs.
type Claim struct {
	// Digest is the manifest digest signed (docker-manifest-digest).
	Digest v1.Hash
	// Identity is the claimed docker-reference, possibly empty.
	Identity string
}

// ParsePayload reads a simple-signing payload: one JSON object of at most
// 64 KiB whose critical.type is cosign's and whose
// critical.image.docker-manifest-digest is a sha256 digest. Other fields,
// the optional map among them, are ignored, as cosign ignores them.
func ParsePayload(b []byte) (Claim, error) {
	if len(b) > maxPayload {
		return Claim{}, fmt.Errorf("payload of %d bytes, more than %d", len(b), maxPayload)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var p simpleSigning
	if err := dec.Decode(&p); err != nil {
		return Claim{}, fmt.Errorf("payload: %w", err)
	}
	if dec.More() {
		return Claim{}, errors.New("payload: data after the JSON object")
	}
	if p.Critical.Type != signatureType {
		return Claim{}, fmt.Errorf("payload: critical.type %q, want %q", p.Critical.Type, signatureType)
	}
	d, err := v1.NewHash(p.Critical.Image.DockerManifestDigest)
	if err != nil || d.Algorithm != "sha256" {
		return Claim{}, fmt.Errorf("payload: critical.image.docker-manifest-digest %q is not a sha256 digest", p.Critical.Image.DockerManifestDigest)
	}
	return Claim{Digest: d, Identity: p.Critical.Identity.DockerReference}, nil
}
