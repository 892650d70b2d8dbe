package apt

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/jailimg/jailimg/internal/readfile"
	"github.com/jailimg/jailimg/pkg/dpkg"
)

// maxRelease is the largest InRelease file read.
const maxRelease = 32 << 20

// release is a suite's Release text, read from a verified InRelease.
type release struct {
	path   string
	signer string // the signing key's first identity
	fields map[string]string
	files  map[string]fileSum // SHA256 field: name -> size and digest
}

// fileSum is one line of a Release file's SHA256 field.
type fileSum struct {
	size int64
	hex  string
}

// readRelease reads the InRelease file at path, checks its signature
// against keyring and parses the signed text: only what the signature
// covers is returned.
func readRelease(path string, keyring openpgp.EntityList) (*release, error) {
	f, err := readfile.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := readfile.Regular(f, maxRelease)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	block, rest := clearsign.Decode(data)
	if block == nil {
		return nil, &SignatureError{File: path, Err: fmt.Errorf("not a clearsigned message")}
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, &SignatureError{File: path, Err: fmt.Errorf("text after the signature")}
	}
	signer, err := openpgp.CheckDetachedSignature(keyring, bytes.NewReader(block.Bytes), block.ArmoredSignature.Body, nil)
	if err != nil {
		return nil, &SignatureError{File: path, Err: err}
	}
	paras, err := dpkg.Paragraphs(path, block.Plaintext)
	if err != nil {
		return nil, err
	}
	if len(paras) != 1 {
		return nil, fmt.Errorf("%s: %d paragraphs in the signed text, want 1", path, len(paras))
	}
	r := &release{path: path, signer: identity(signer), fields: paras[0].Fields, files: map[string]fileSum{}}
	for _, line := range strings.Split(r.fields["SHA256"], "\n") {
		parts := strings.Fields(line)
		if len(parts) == 0 {
			continue
		}
		size, err := strconv.ParseInt(safeField(parts, 1), 10, 64)
		if len(parts) != 3 || len(parts[0]) != 64 || err != nil || size < 0 {
			return nil, fmt.Errorf("%s: SHA256 line %q is not \"HASH SIZE NAME\"", path, line)
		}
		r.files[parts[2]] = fileSum{size: size, hex: strings.ToLower(parts[0])}
	}
	return r, nil
}

func safeField(parts []string, i int) string {
	if i < len(parts) {
		return parts[i]
	}
	return ""
}

// identity names a key by its first identity in sort order, else its
// fingerprint.
func identity(e *openpgp.Entity) string {
	if e == nil {
		return ""
	}
	if names := slices.Sorted(maps.Keys(e.Identities)); len(names) > 0 {
		return names[0]
	}
	return fmt.Sprintf("%X", e.PrimaryKey.Fingerprint)
}

// SignatureError is an InRelease file whose signature does not check out
// against the keyring of its sources entry.
type SignatureError struct {
	File string
	Err  error
}

func (e *SignatureError) Error() string {
	return fmt.Sprintf("%s: signature: %v", e.File, e.Err)
}

func (e *SignatureError) Unwrap() error { return e.Err }

// readKeyring reads a keyring file, binary (.gpg) or armored (.asc).
func readKeyring(path string) (openpgp.EntityList, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseKeyring(path, data)
}

func parseKeyring(name string, data []byte) (openpgp.EntityList, error) {
	var el openpgp.EntityList
	var err error
	if bytes.Contains(data, []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----")) {
		el, err = openpgp.ReadArmoredKeyRing(bytes.NewReader(data))
	} else {
		el, err = openpgp.ReadKeyRing(bytes.NewReader(data))
	}
	if err != nil {
		return nil, fmt.Errorf("keyring %s: %w", name, err)
	}
	return el, nil
}
