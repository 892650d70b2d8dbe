package sign_test

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/jailimg/jailimg/pkg/attach"
	"github.com/jailimg/jailimg/pkg/sign"
)

var (
	digestA = v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("a1", 32)}
	digestB = v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("b2", 32)}
)

// TestPayload pins the payload to cosign's bytes for the same digest and
// identity (written by cosign v2.6.5 sign).
func TestPayload(t *testing.T) {
	d := v1.Hash{Algorithm: "sha256", Hex: "f5cc37c45ecd1d83d5880b1a8b6066b880364c2d42dcf2b05dc873ac8fc63c1f"}
	const cosign = `{"critical":{"identity":{"docker-reference":"127.0.0.1:5917/test/img"},"image":{"docker-manifest-digest":"sha256:f5cc37c45ecd1d83d5880b1a8b6066b880364c2d42dcf2b05dc873ac8fc63c1f"},"type":"cosign container image signature"},"optional":null}`
	if got := string(sign.Payload(d, "127.0.0.1:5917/test/img")); got != cosign {
		t.Errorf("Payload:\n%s\nwant cosign's\n%s", got, cosign)
	}
	c, err := sign.ParsePayload([]byte(cosign))
	if err != nil || c.Digest != d || c.Identity != "127.0.0.1:5917/test/img" {
		t.Errorf("ParsePayload: %+v, %v", c, err)
	}
}

func TestParsePayloadRefuses(t *testing.T) {
	for _, tc := range []struct{ name, payload, want string }{
		{"other type", `{"critical":{"image":{"docker-manifest-digest":"sha256:` + digestA.Hex + `"},"type":"atomic container signature"}}`, "critical.type"},
		{"no digest", `{"critical":{"type":"cosign container image signature"}}`, "not a sha256 digest"},
		{"sha512", `{"critical":{"image":{"docker-manifest-digest":"sha512:` + strings.Repeat("a", 128) + `"},"type":"cosign container image signature"}}`, "not a sha256 digest"},
		{"two objects", string(sign.Payload(digestA, "x")) + `{}`, "data after"},
		{"not json", `critical`, "payload:"},
		{"huge", `{"optional":"` + strings.Repeat("x", 64<<10) + `"}`, "more than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := sign.ParsePayload([]byte(tc.payload)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want %q", err, tc.want)
			}
		})
	}
}

// TestPAE checks DSSE's pre-authentication encoding against the
// specification's example.
func TestPAE(t *testing.T) {
	got := string(sign.PAE("http://example.com/HelloWorld", []byte("hello world")))
	if want := "DSSEv1 29 http://example.com/HelloWorld 11 hello world"; got != want {
		t.Errorf("PAE = %q, want %q", got, want)
	}
}

// TestVerify signs images in a layout and checks what Verify accepts and
// why it refuses the rest.
func TestVerify(t *testing.T) {
	ctx := context.Background()
	kp, otherKP := newKeyPair(t, "ecdsa"), newKeyPair(t, "ed25519")
	key, other := kp.private(t), otherKP.private(t)
	pub, otherPub := kp.verifier(t, "release.pub"), otherKP.verifier(t, "old.pub")
	for _, tc := range []struct {
		name   string
		setup  func(t *testing.T, s attach.Store, dir string)
		keys   []*sign.PublicKey
		reason string // "" for accepted
	}{
		{"signed", func(t *testing.T, s attach.Store, _ string) { mustSign(t, s, digestA, key) }, []*sign.PublicKey{pub}, ""},
		{"rotation: either key", func(t *testing.T, s attach.Store, _ string) { mustSign(t, s, digestA, other) }, []*sign.PublicKey{pub, otherPub}, ""},
		{"both keys signed", func(t *testing.T, s attach.Store, _ string) {
			mustSign(t, s, digestA, other)
			mustSign(t, s, digestA, key)
		}, []*sign.PublicKey{pub}, ""},
		{"unsigned", func(*testing.T, attach.Store, string) {}, []*sign.PublicKey{pub}, "unsigned: no signature image oci:"},
		{"another key", func(t *testing.T, s attach.Store, _ string) { mustSign(t, s, digestA, other) }, []*sign.PublicKey{pub}, "signed by another key: the one signature in oci:"},
		{"another digest", func(t *testing.T, s attach.Store, _ string) {
			mustSign(t, s, digestB, key)
			copySignatures(t, s, digestB, digestA)
		}, []*sign.PublicKey{pub}, "signature over another digest, not this image's"},
		{"altered payload", func(t *testing.T, s attach.Store, dir string) {
			mustSign(t, s, digestA, key)
			alterPayload(t, s, dir)
		}, []*sign.PublicKey{pub}, "signature altered:"},
		{"altered signature", func(t *testing.T, s attach.Store, _ string) {
			mustSign(t, s, digestA, key)
			ls, _ := attach.Read(ctx, s, digestA, attach.Signatures)
			sig, _ := base64.StdEncoding.DecodeString(ls[0].Annotations[sign.SignatureAnnotation])
			sig[len(sig)-1] ^= 1
			ls[0].Annotations[sign.SignatureAnnotation] = base64.StdEncoding.EncodeToString(sig)
			putLayers(t, s, digestA, ls)
		}, []*sign.PublicKey{pub}, "signed by another key"},
		{"signed junk", func(t *testing.T, s attach.Store, _ string) {
			sig, _ := key.Sign([]byte("{}"))
			putLayers(t, s, digestA, []attach.Layer{{MediaType: sign.SimpleSigningMediaType, Payload: []byte("{}"),
				Annotations: map[string]string{sign.SignatureAnnotation: base64.StdEncoding.EncodeToString(sig)}}})
		}, []*sign.PublicKey{pub}, "signed payload is not a cosign image signature"},
		{"attestation only", func(t *testing.T, s attach.Store, _ string) {
			putLayers(t, s, digestA, []attach.Layer{{MediaType: sign.DSSEMediaType, Payload: []byte("{}")}})
		}, []*sign.PublicKey{pub}, "holds no cosign signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "l")
			s := attach.Layout(dir)
			tc.setup(t, s, dir)
			v, err := sign.Verify(ctx, s, digestA, tc.keys)
			if tc.reason == "" {
				if err != nil || v.Claim.Digest != digestA || v.Claim.Identity != "registry.example/jails/x" {
					t.Fatalf("Verify: %+v, %v; want accepted", v, err)
				}
				return
			}
			if !errors.Is(err, sign.ErrRefused) || !strings.Contains(err.Error(), tc.reason) || !strings.Contains(err.Error(), digestA.String()) {
				t.Fatalf("Verify: %v; want a refusal naming %s and saying %q", err, digestA, tc.reason)
			}
		})
	}
}

func mustSign(t *testing.T, s attach.Store, d v1.Hash, k *sign.PrivateKey) {
	t.Helper()
	if _, err := sign.Sign(context.Background(), s, d, "registry.example/jails/x", k); err != nil {
		t.Fatal(err)
	}
}

// copySignatures attaches the signatures of from to to as they are: what
// an attacker who re-tags an image does with the signature tag.
func copySignatures(t *testing.T, s attach.Store, from, to v1.Hash) {
	t.Helper()
	img, err := s.Get(context.Background(), attach.Tag(from, attach.Signatures))
	if err == nil {
		err = s.Put(context.Background(), attach.Tag(to, attach.Signatures), img)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func putLayers(t *testing.T, s attach.Store, d v1.Hash, ls []attach.Layer) {
	t.Helper()
	img, err := attach.Image(ls)
	if err == nil {
		err = s.Put(context.Background(), attach.Tag(d, attach.Signatures), img)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// alterPayload changes one byte of the first signature payload of digestA
// in the layout at dir.
func alterPayload(t *testing.T, s attach.Store, dir string) {
	t.Helper()
	ls, err := attach.Read(context.Background(), s, digestA, attach.Signatures)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "blobs", "sha256", ls[0].Digest.Hex)
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSignTwice checks that signing again with the same key adds nothing,
// and with another key adds a second signature.
func TestSignTwice(t *testing.T) {
	ctx := context.Background()
	s := attach.Layout(filepath.Join(t.TempDir(), "l"))
	key, other := newKeyPair(t, "ecdsa").private(t), newKeyPair(t, "ecdsa").private(t)
	for i, tc := range []struct {
		k    *sign.PrivateKey
		want bool
	}{{key, true}, {key, false}, {other, true}} {
		if added, err := sign.Sign(ctx, s, digestA, "x", tc.k); err != nil || added != tc.want {
			t.Errorf("sign %d: added %v, %v; want %v", i, added, err, tc.want)
		}
	}
	if ls, err := attach.Read(ctx, s, digestA, attach.Signatures); err != nil || len(ls) != 2 {
		t.Errorf("%d signatures (%v), want 2", len(ls), err)
	}
}

// TestAttest attaches a statement signed, then unsigned, and opens the
// envelopes.
func TestAttest(t *testing.T) {
	ctx := context.Background()
	s := attach.Layout(filepath.Join(t.TempDir(), "l"))
	kp := newKeyPair(t, "ed25519")
	key, pub := kp.private(t), kp.verifier(t, "k.pub")
	st := []byte(`{"_type":"https://in-toto.io/Statement/v1"}`)
	for i, k := range []*sign.PrivateKey{key, key, nil} {
		added, err := sign.Attest(ctx, s, digestA, "https://slsa.dev/provenance/v1", st, k)
		if want := i != 1; err != nil || added != want {
			t.Fatalf("attest %d: added %v, %v; want %v", i, added, err, want)
		}
	}
	ls, err := attach.Read(ctx, s, digestA, attach.Attestations)
	if err != nil || len(ls) != 2 {
		t.Fatalf("%d attestations (%v), want 2", len(ls), err)
	}
	for i, l := range ls {
		if l.MediaType != sign.DSSEMediaType || l.Annotations[sign.PredicateTypeAnnotation] != "https://slsa.dev/provenance/v1" {
			t.Errorf("attestation %d: %s %v", i, l.MediaType, l.Annotations)
		}
	}
	if p, k, err := sign.OpenEnvelope(ls[0].Payload, sign.InTotoPayloadType, []*sign.PublicKey{pub}); err != nil || string(p) != string(st) || k != pub {
		t.Errorf("signed envelope: %q %v %v", p, k, err)
	}
	if _, _, err := sign.OpenEnvelope(ls[1].Payload, sign.InTotoPayloadType, []*sign.PublicKey{pub}); err == nil || !strings.Contains(err.Error(), "not signed") {
		t.Errorf("unsigned envelope: %v, want not signed", err)
	}
	if _, _, err := sign.OpenEnvelope(ls[0].Payload, "text/plain", []*sign.PublicKey{pub}); err == nil {
		t.Error("envelope of another payloadType opened")
	}
}
