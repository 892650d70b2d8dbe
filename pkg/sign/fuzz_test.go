package sign_test

import (
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"testing"

	"github.com/jailimg/jailimg/pkg/sign"
)

// The parsers of what a registry, a layout or a key file hands jailimg:
// none may panic, and what they accept must be what they say.

func FuzzParsePayload(f *testing.F) {
	f.Add(sign.Payload(digestA, "registry.example/jails/nginx"))
	f.Add([]byte(`{"critical":{"image":{"docker-manifest-digest":"sha256:00"},"type":"cosign container image signature"},"optional":{"a":[1,{"b":null}]}}`))
	f.Add([]byte(`{"critical":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := sign.ParsePayload(b)
		if err != nil {
			return
		}
		if c.Digest.Algorithm != "sha256" || len(c.Digest.Hex) != 64 {
			t.Fatalf("accepted digest %q", c.Digest)
		}
		// What it accepts, it would sign again the same way.
		if again, err := sign.ParsePayload(sign.Payload(c.Digest, c.Identity)); err != nil || again != c {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, c)
		}
	})
}

func FuzzOpenEnvelope(f *testing.F) {
	kp := newKeyPair(f, "ecdsa")
	key, pub := kp.private(f), kp.verifier(f, "k.pub")
	env, err := sign.SignEnvelope(key, sign.InTotoPayloadType, []byte(`{"_type":"https://in-toto.io/Statement/v1"}`))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(env)
	f.Add([]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"keyid":"","sig":"AAAA"}]}`))
	f.Add([]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"","signatures":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		payload, k, err := sign.OpenEnvelope(b, sign.InTotoPayloadType, []*sign.PublicKey{pub})
		if err != nil {
			return
		}
		if k != pub {
			t.Fatal("opened by a key it was not given")
		}
		// What opens carries a signature by the key over PAE(type, payload).
		var e sign.Envelope
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatalf("opened an envelope that does not parse: %v", err)
		}
		for _, s := range e.Signatures {
			if sig, err := base64.StdEncoding.DecodeString(s.Sig); err == nil && pub.Verify(sign.PAE(e.PayloadType, payload), sig) {
				return
			}
		}
		t.Fatal("opened an envelope with no signature by the key over its payload")
	})
}

func FuzzParseKey(f *testing.F) {
	ec, ed := newKeyPair(f, "ecdsa"), newKeyPair(f, "ed25519")
	f.Add(ec.pkcs8)
	f.Add(ed.pkcs8)
	f.Add(ec.public)
	f.Add(ed.public)
	f.Add(ec.cosignKey(f, "ENCRYPTED SIGSTORE PRIVATE KEY", "pw"))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte{0x30, 0x03, 0x02, 0x01, 0x01}}))
	noPassword := errors.New("no password while fuzzing")
	f.Fuzz(func(t *testing.T, b []byte) {
		// No password: the fuzzer must not run scrypt on every input.
		if k, err := sign.ParsePrivateKey("k", b, func() ([]byte, error) { return nil, noPassword }); err == nil {
			sig, err := k.Sign([]byte("m"))
			if err != nil || !k.Public().Verify([]byte("m"), sig) {
				t.Fatalf("a key it accepted does not sign: %v", err)
			}
		}
		if k, err := sign.ParsePublicKey("p", b); err == nil && k.Verify([]byte("m"), nil) {
			t.Fatal("an empty signature verifies")
		}
	})
}
