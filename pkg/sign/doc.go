// Package sign signs jail images and verifies their signatures in
// cosign's formats, so that cosign verifies what jailimg signs and jailimg
// what cosign signs, with keys and no transparency log.
//
// Keys: LoadPrivateKey reads cosign's key files (generate-key-pair's
// "ENCRYPTED SIGSTORE PRIVATE KEY", or the older "ENCRYPTED COSIGN PRIVATE
// KEY": PKCS #8 sealed with scrypt and NaCl secretbox, opened with the
// password a PasswordFunc gives) and plain PEM keys (PKCS #8, SEC 1);
// LoadPublicKeys reads PEM PKIX public keys (cosign.pub). Only ECDSA P-256
// and Ed25519 keys are taken. Key files are read as hostile input: regular
// files of at most 64 KiB, and the scrypt parameters of an encrypted key
// are limited to the three go-securesystemslib knows.
//
// Signatures: Sign attaches to an image, through a Store of package
// attach (a registry repository, or an OCI layout for offline signing), a
// signature of cosign's simple-signing payload (Payload: the manifest
// digest and the claimed identity, byte for byte what cosign writes) in
// the image tagged sha256-HEX.sig. ECDSA signs the payload's SHA-256
// (ASN.1 DER), Ed25519 the payload itself, which is what cosign verify
// checks; verification also takes the Ed25519ph signatures cosign sign
// makes with Ed25519 keys.
//
// Verify checks that an image carries a signature by one of a set of keys
// over its digest, reading only the signature image's manifest and
// payloads, never the image's own layers, so that a caller can refuse an
// image before a byte of it is fetched. Its refusal, a *RefusedError,
// says why: unsigned, signed by other keys, a signature over another
// digest, an altered signature. Each payload is checked against its
// descriptor's digest before its signature is, and parsed only once a key
// has verified it. The identity a payload claims is returned, not
// checked, as cosign verify does.
//
// Attestations: Attest attaches an in-toto statement as cosign attest
// does: a DSSE envelope (PAE, payloadType application/vnd.in-toto+json)
// signed by the key, in the image tagged sha256-HEX.att, annotated with
// its predicate type, which cosign verify-attestation --type checks.
package sign
