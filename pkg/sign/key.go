package sign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/jailimg/jailimg/internal/readfile"
	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
)

// PEM block types of the key files jailimg reads.
const (
	sigstoreEncrypted = "ENCRYPTED SIGSTORE PRIVATE KEY" // cosign generate-key-pair
	cosignEncrypted   = "ENCRYPTED COSIGN PRIVATE KEY"   // older cosign
	pkcs8Private      = "PRIVATE KEY"
	sec1Private       = "EC PRIVATE KEY"
	pkixPublic        = "PUBLIC KEY"
)

// maxKeyFile is the largest key file read.
const maxKeyFile = 64 << 10

// KeyError is a key file jailimg cannot use.
type KeyError struct {
	File string
	Err  error
}

func (e *KeyError) Error() string { return fmt.Sprintf("key %s: %v", e.File, e.Err) }

// Unwrap returns the cause.
func (e *KeyError) Unwrap() error { return e.Err }

// ErrPassword is matched when an encrypted private key does not open with
// the password given.
var ErrPassword = errors.New("wrong password, or the key file is damaged")

// PasswordFunc returns the password of an encrypted private key. It is
// called only for an encrypted key.
type PasswordFunc func() ([]byte, error)

// PublicKey is a key signatures are verified with: ECDSA P-256 or
// Ed25519.
type PublicKey struct {
	// Name says where the key came from, for messages: its file.
	Name string
	key  crypto.PublicKey
}

// PrivateKey is a key that signs: ECDSA P-256 or Ed25519.
type PrivateKey struct {
	signer crypto.Signer
	public *PublicKey
}

// Public returns the key's public half, named as the private key.
func (k *PrivateKey) Public() *PublicKey { return k.public }

// Sign signs msg as cosign does and its verifiers expect: ECDSA over the
// SHA-256 of msg, ASN.1 DER encoded; Ed25519 over msg itself (pure
// Ed25519, which cosign verify checks).
func (k *PrivateKey) Sign(msg []byte) ([]byte, error) {
	if _, ok := k.signer.(ed25519.PrivateKey); ok {
		return k.signer.Sign(rand.Reader, msg, crypto.Hash(0))
	}
	sum := sha256.Sum256(msg)
	return k.signer.Sign(rand.Reader, sum[:], crypto.SHA256)
}

// Verify reports whether sig is a signature of msg by k: ECDSA over the
// SHA-256 of msg (ASN.1 DER); Ed25519 over msg, or over its SHA-512
// (Ed25519ph, which cosign sign makes with Ed25519 keys).
func (k *PublicKey) Verify(msg, sig []byte) bool {
	switch pub := k.key.(type) {
	case *ecdsa.PublicKey:
		sum := sha256.Sum256(msg)
		return ecdsa.VerifyASN1(pub, sum[:], sig)
	case ed25519.PublicKey:
		if ed25519.Verify(pub, msg, sig) {
			return true
		}
		sum := sha512.Sum512(msg)
		return ed25519.VerifyWithOptions(pub, sum[:], sig, &ed25519.Options{Hash: crypto.SHA512}) == nil
	}
	return false
}

// Fingerprint returns the SHA-256 of the key's PKIX encoding, in hex: how
// messages tell keys apart.
func (k *PublicKey) Fingerprint() string {
	der, err := x509.MarshalPKIXPublicKey(k.key)
	if err != nil {
		return "?"
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// String names the key: its file and the start of its fingerprint.
func (k *PublicKey) String() string {
	return fmt.Sprintf("%s (%.16s)", k.Name, k.Fingerprint())
}

// LoadPublicKeys reads PEM public keys ("PUBLIC KEY", PKIX: what cosign
// writes as cosign.pub and openssl pkey -pubout writes), each from its
// file, at most 64 KiB.
func LoadPublicKeys(files ...string) ([]*PublicKey, error) {
	keys := make([]*PublicKey, 0, len(files))
	for _, f := range files {
		data, err := readKeyFile(f)
		if err != nil {
			return nil, err
		}
		k, err := ParsePublicKey(f, data)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// ParsePublicKey reads the first PEM block of data, which must be a PKIX
// public key, ECDSA P-256 or Ed25519. name names the key in errors and
// in PublicKey.Name.
func ParsePublicKey(name string, data []byte) (*PublicKey, error) {
	block, _ := pem.Decode(data)
	switch {
	case block == nil:
		return nil, &KeyError{File: name, Err: errors.New("no PEM block in it")}
	case block.Type != pkixPublic:
		return nil, &KeyError{File: name, Err: fmt.Errorf("a %q PEM block, want a %q (cosign.pub, or openssl pkey -pubout)", block.Type, pkixPublic)}
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, &KeyError{File: name, Err: err}
	}
	if err := usable(pub); err != nil {
		return nil, &KeyError{File: name, Err: err}
	}
	return &PublicKey{Name: name, key: pub}, nil
}

// LoadPrivateKey reads a private key file, at most 64 KiB: see
// ParsePrivateKey.
func LoadPrivateKey(file string, password PasswordFunc) (*PrivateKey, error) {
	data, err := readKeyFile(file)
	if err != nil {
		return nil, err
	}
	return ParsePrivateKey(file, data, password)
}

// ParsePrivateKey reads the first PEM block of data: a cosign key
// ("ENCRYPTED SIGSTORE PRIVATE KEY" or "ENCRYPTED COSIGN PRIVATE KEY",
// PKCS #8 sealed with scrypt and NaCl secretbox), which password opens, or
// a plain PKCS #8 ("PRIVATE KEY") or SEC 1 ("EC PRIVATE KEY") key. The
// key must be ECDSA P-256 or Ed25519. A wrong password matches
// ErrPassword. name names the key in errors and in its public half.
func ParsePrivateKey(name string, data []byte, password PasswordFunc) (*PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, &KeyError{File: name, Err: errors.New("no PEM block in it")}
	}
	der := block.Bytes
	var priv any
	var err error
	switch block.Type {
	case sigstoreEncrypted, cosignEncrypted:
		if der, err = decrypt(der, password); err == nil {
			priv, err = x509.ParsePKCS8PrivateKey(der)
		}
	case pkcs8Private:
		priv, err = x509.ParsePKCS8PrivateKey(der)
	case sec1Private:
		priv, err = x509.ParseECPrivateKey(der)
	default:
		err = fmt.Errorf("a %q PEM block, want a cosign key (cosign generate-key-pair) or a plain %q or %q", block.Type, pkcs8Private, sec1Private)
	}
	if err != nil {
		return nil, &KeyError{File: name, Err: err}
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return nil, &KeyError{File: name, Err: fmt.Errorf("a %T, which cannot sign", priv)}
	}
	if err := usable(signer.Public()); err != nil {
		return nil, &KeyError{File: name, Err: err}
	}
	return &PrivateKey{signer: signer, public: &PublicKey{Name: name, key: signer.Public()}}, nil
}

// decrypt opens a cosign key's sealed PKCS #8 bytes with the password.
// go-securesystemslib refuses scrypt parameters other than the three it
// knows, so a key file cannot make the key derivation take forever.
func decrypt(sealed []byte, password PasswordFunc) ([]byte, error) {
	if password == nil {
		return nil, errors.New("encrypted, and no password was given")
	}
	pw, err := password()
	if err != nil {
		return nil, err
	}
	der, err := encrypted.Decrypt(sealed, pw)
	if err != nil {
		if err.Error() == "encrypted: decryption failed" {
			return nil, ErrPassword
		}
		return nil, fmt.Errorf("opening the encrypted key: %w", err)
	}
	return der, nil
}

// usable refuses every key but ECDSA P-256 and Ed25519.
func usable(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return fmt.Errorf("an ECDSA key on %s; jailimg takes ECDSA P-256 or Ed25519 keys", k.Curve.Params().Name)
		}
		return nil
	case ed25519.PublicKey:
		return nil
	}
	return fmt.Errorf("a %T key; jailimg takes ECDSA P-256 or Ed25519 keys", pub)
}

// readKeyFile reads a key file: a regular file of at most 64 KiB.
func readKeyFile(file string) ([]byte, error) {
	f, err := readfile.Open(file)
	if err != nil {
		return nil, &KeyError{File: file, Err: err}
	}
	defer f.Close()
	data, err := readfile.Regular(f, maxKeyFile)
	if err != nil {
		return nil, &KeyError{File: file, Err: err}
	}
	return data, nil
}
