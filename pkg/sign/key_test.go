package sign_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jailimg/jailimg/pkg/sign"
	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
)

// keyPair is a generated key in the encodings jailimg reads.
type keyPair struct {
	signer crypto.Signer
	pkcs8  []byte // PEM "PRIVATE KEY"
	public []byte // PEM "PUBLIC KEY"
}

func newKeyPair(t testing.TB, kind string) keyPair {
	t.Helper()
	var s crypto.Signer
	var err error
	switch kind {
	case "ecdsa":
		s, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "p384":
		s, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "ed25519":
		_, s, err = ed25519.GenerateKey(rand.Reader)
	case "rsa":
		s, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(s)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(s.Public())
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{
		signer: s,
		pkcs8:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		public: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}),
	}
}

// cosignKey seals the key's PKCS #8 as cosign generate-key-pair does, with
// the PEM type given (cosign's old or new one).
func (k keyPair) cosignKey(t testing.TB, pemType, password string) []byte {
	t.Helper()
	block, _ := pem.Decode(k.pkcs8)
	sealed, err := encrypted.EncryptWithCustomKDFParameters(block.Bytes, []byte(password), encrypted.Legacy)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: sealed})
}

func (k keyPair) private(t testing.TB) *sign.PrivateKey {
	t.Helper()
	p, err := sign.ParsePrivateKey("key.pem", k.pkcs8, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (k keyPair) verifier(t testing.TB, name string) *sign.PublicKey {
	t.Helper()
	p, err := sign.ParsePublicKey(name, k.public)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func password(pw string) sign.PasswordFunc { return func() ([]byte, error) { return []byte(pw), nil } }

// TestParsePrivateKey reads every private key encoding jailimg takes, and
// refuses the others, naming the file.
func TestParsePrivateKey(t *testing.T) {
	ec, ed := newKeyPair(t, "ecdsa"), newKeyPair(t, "ed25519")
	sec1, err := x509.MarshalECPrivateKey(ec.signer.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		data    []byte
		pw      sign.PasswordFunc
		pub     []byte // the public key it must match
		wantErr string
	}{
		{"cosign sigstore ecdsa", ec.cosignKey(t, "ENCRYPTED SIGSTORE PRIVATE KEY", "pw"), password("pw"), ec.public, ""},
		{"cosign old ed25519", ed.cosignKey(t, "ENCRYPTED COSIGN PRIVATE KEY", "pw"), password("pw"), ed.public, ""},
		{"cosign empty password", ec.cosignKey(t, "ENCRYPTED SIGSTORE PRIVATE KEY", ""), password(""), ec.public, ""},
		{"pkcs8 ecdsa", ec.pkcs8, nil, ec.public, ""},
		{"pkcs8 ed25519", ed.pkcs8, nil, ed.public, ""},
		{"sec1 ecdsa", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}), nil, ec.public, ""},
		{"wrong password", ec.cosignKey(t, "ENCRYPTED SIGSTORE PRIVATE KEY", "pw"), password("nope"), nil, "wrong password"},
		{"no password", ec.cosignKey(t, "ENCRYPTED SIGSTORE PRIVATE KEY", "pw"), nil, nil, "no password"},
		{"password error", ec.cosignKey(t, "ENCRYPTED SIGSTORE PRIVATE KEY", "pw"), func() ([]byte, error) { return nil, errors.New("no terminal") }, nil, "no terminal"},
		{"rsa", newKeyPair(t, "rsa").pkcs8, nil, nil, "ECDSA P-256 or Ed25519"},
		{"p384", newKeyPair(t, "p384").pkcs8, nil, nil, "P-384"},
		{"public key", ec.public, nil, nil, `"PUBLIC KEY" PEM block`},
		{"openssh", []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"), nil, nil, "OPENSSH"},
		{"not pem", []byte("hello"), nil, nil, "no PEM block"},
		{"bad der", []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), nil, nil, "key k:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := sign.ParsePrivateKey("k", tc.data, tc.pw)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "key k:") {
					t.Fatalf("err %v, want one naming the key and saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			pub, err := sign.ParsePublicKey("pub", tc.pub)
			if err != nil {
				t.Fatal(err)
			}
			if k.Public().Fingerprint() != pub.Fingerprint() {
				t.Error("the private key's public half is not the key pair's")
			}
		})
	}
}

func TestWrongPasswordIs(t *testing.T) {
	ec := newKeyPair(t, "ecdsa")
	_, err := sign.ParsePrivateKey("k", ec.cosignKey(t, "ENCRYPTED SIGSTORE PRIVATE KEY", "a"), password("b"))
	if !errors.Is(err, sign.ErrPassword) {
		t.Errorf("%v: want ErrPassword", err)
	}
}

// TestLoadKeyFiles reads keys from files, refusing what is not a small
// regular file.
func TestLoadKeyFiles(t *testing.T) {
	dir := t.TempDir()
	ec := newKeyPair(t, "ecdsa")
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	priv, pub := write("k.pem", ec.pkcs8), write("k.pub", ec.public)
	if _, err := sign.LoadPrivateKey(priv, nil); err != nil {
		t.Error(err)
	}
	keys, err := sign.LoadPublicKeys(pub, pub)
	if err != nil || len(keys) != 2 || keys[0].Name != pub {
		t.Errorf("LoadPublicKeys: %v %v", keys, err)
	}
	big := write("big.pub", append(ec.public, make([]byte, 64<<10)...))
	for _, f := range []string{filepath.Join(dir, "missing.pub"), dir, big} {
		if _, err := sign.LoadPublicKeys(f); err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("LoadPublicKeys(%s): %v, want an error naming it", f, err)
		}
	}
}

func TestParsePublicKey(t *testing.T) {
	for _, tc := range []struct {
		name, wantErr string
		data          []byte
	}{
		{"ecdsa", "", newKeyPair(t, "ecdsa").public},
		{"ed25519", "", newKeyPair(t, "ed25519").public},
		{"rsa", "ECDSA P-256 or Ed25519", newKeyPair(t, "rsa").public},
		{"p384", "P-384", newKeyPair(t, "p384").public},
		{"private key", `"PRIVATE KEY" PEM block`, newKeyPair(t, "ecdsa").pkcs8},
		{"empty", "no PEM block", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sign.ParsePublicKey("p", tc.data)
			if (err == nil) != (tc.wantErr == "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// TestSignVerifyMessage signs and verifies with each key kind, and
// verifies the Ed25519ph signatures cosign sign makes with Ed25519 keys.
func TestSignVerifyMessage(t *testing.T) {
	msg := []byte("payload")
	for _, kind := range []string{"ecdsa", "ed25519"} {
		t.Run(kind, func(t *testing.T) {
			kp := newKeyPair(t, kind)
			k, other := kp.private(t), newKeyPair(t, kind).verifier(t, "other")
			sig, err := k.Sign(msg)
			if err != nil {
				t.Fatal(err)
			}
			if !k.Public().Verify(msg, sig) {
				t.Error("own signature does not verify")
			}
			if k.Public().Verify([]byte("payloaD"), sig) || other.Verify(msg, sig) {
				t.Error("signature verifies another message, or with another key")
			}
			if kind == "ed25519" {
				if !ed25519.Verify(kp.signer.Public().(ed25519.PublicKey), msg, sig) {
					t.Error("not a pure Ed25519 signature, which cosign verify checks")
				}
				ph := ed25519ph(t, kp.signer.(ed25519.PrivateKey), msg)
				if !k.Public().Verify(msg, ph) {
					t.Error("an Ed25519ph signature (cosign sign's) does not verify")
				}
			}
		})
	}
}

// ed25519ph signs msg as cosign sign does with an Ed25519 key.
func ed25519ph(t testing.TB, k ed25519.PrivateKey, msg []byte) []byte {
	t.Helper()
	h := crypto.SHA512.New()
	h.Write(msg)
	sig, err := k.Sign(rand.Reader, h.Sum(nil), &ed25519.Options{Hash: crypto.SHA512})
	if err != nil {
		t.Fatal(err)
	}
	return sig
}
