package sign

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Media types of cosign's attestation scheme.
const (
	// DSSEMediaType is the media type of an attestation layer, whose blob
	// is a DSSE envelope.
	DSSEMediaType = "application/vnd.dsse.envelope.v1+json"
	// InTotoPayloadType is the payloadType of an envelope holding an
	// in-toto statement.
	InTotoPayloadType = "application/vnd.in-toto+json"
	// PredicateTypeAnnotation is the attestation layer annotation naming
	// the statement's predicate type, as cosign attest writes it.
	PredicateTypeAnnotation = "predicateType"
)

// maxEnvelope is the largest envelope OpenEnvelope reads.
const maxEnvelope = 4 << 20

// Envelope is a DSSE envelope (secure-systems-lab/dsse): a payload, its
// type and signatures over both.
type Envelope struct {
	PayloadType string      `json:"payloadType"`
	Payload     string      `json:"payload"` // base64
	Signatures  []Signature `json:"signatures"`
}

// Signature is one signature of an Envelope.
type Signature struct {
	KeyID string `json:"keyid"`
	Sig   string `json:"sig"` // base64
}

// PAE is DSSE's pre-authentication encoding of a payload and its type,
// which is what is signed: "DSSEv1 LEN(type) type LEN(payload) payload".
func PAE(payloadType string, payload []byte) []byte {
	var b bytes.Buffer
	b.WriteString("DSSEv1 ")
	b.WriteString(strconv.Itoa(len(payloadType)))
	b.WriteByte(' ')
	b.WriteString(payloadType)
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(len(payload)))
	b.WriteByte(' ')
	b.Write(payload)
	return b.Bytes()
}

// SignEnvelope returns the DSSE envelope of payload, of type payloadType,
// signed by k over PAE as cosign attest signs one (no key id); with a nil
// k the envelope has no signature.
func SignEnvelope(k *PrivateKey, payloadType string, payload []byte) ([]byte, error) {
	env := Envelope{PayloadType: payloadType, Payload: base64.StdEncoding.EncodeToString(payload), Signatures: []Signature{}}
	if k != nil {
		sig, err := k.Sign(PAE(payloadType, payload))
		if err != nil {
			return nil, err
		}
		env.Signatures = append(env.Signatures, Signature{Sig: base64.StdEncoding.EncodeToString(sig)})
	}
	return json.Marshal(env)
}

// OpenEnvelope reads a DSSE envelope of at most 4 MiB, of type
// payloadType, and returns its payload and the first of keys that signed
// it. An envelope no key signed is an error; so is one that does not
// parse, or of another type.
func OpenEnvelope(b []byte, payloadType string, keys []*PublicKey) ([]byte, *PublicKey, error) {
	if len(b) > maxEnvelope {
		return nil, nil, fmt.Errorf("envelope of %d bytes, more than %d", len(b), maxEnvelope)
	}
	var env Envelope
	if err := json.Unmarshal(b, &env); err != nil {
		return nil, nil, fmt.Errorf("envelope: %w", err)
	}
	if env.PayloadType != payloadType {
		return nil, nil, fmt.Errorf("envelope: payloadType %q, want %q", env.PayloadType, payloadType)
	}
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return nil, nil, fmt.Errorf("envelope: payload: %w", err)
	}
	pae := PAE(env.PayloadType, payload)
	for _, s := range env.Signatures {
		sig, err := base64.StdEncoding.DecodeString(s.Sig)
		if err != nil {
			continue
		}
		for _, k := range keys {
			if k.Verify(pae, sig) {
				return payload, k, nil
			}
		}
	}
	if len(env.Signatures) == 0 {
		return nil, nil, errors.New("envelope: not signed")
	}
	return nil, nil, fmt.Errorf("envelope: none of its %d %s is by the given keys", len(env.Signatures), plural(len(env.Signatures), "signature"))
}

func plural(n int, noun string) string {
	if n == 1 {
		return noun
	}
	return noun + "s"
}
