package apt

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/jailimg/jailimg/internal/readfile"
	"github.com/jailimg/jailimg/pkg/dpkg"
)

// keyrings finds and caches the keyring of each sources entry.
type keyrings struct {
	trusted []string // apt's trusted keyring files, for entries without Signed-By
	cache   map[string]openpgp.EntityList
}

// defaultTrusted lists apt's own trusted keyrings: /etc/apt/trusted.gpg and
// the .gpg and .asc files of /etc/apt/trusted.gpg.d.
func defaultTrusted(etc string) []string {
	var out []string
	if _, err := os.Stat(filepath.Join(etc, "trusted.gpg")); err == nil {
		out = append(out, filepath.Join(etc, "trusted.gpg"))
	}
	for _, pat := range []string{"*.gpg", "*.asc"} {
		m, _ := filepath.Glob(filepath.Join(etc, "trusted.gpg.d", pat))
		out = append(out, m...)
	}
	return out
}

// forEntry returns the keyring that signs the suites of the sources entry
// "FILE:N" (N: the paragraph of a deb822 .sources file, the line of a
// .list file): its Signed-By (files, an inline key block, or fingerprints
// of keys in apt's trusted keyrings), else apt's trusted keyrings.
func (k *keyrings) forEntry(entry string) (openpgp.EntityList, error) {
	if el, ok := k.cache[entry]; ok {
		return el, nil
	}
	signedBy, err := signedBy(entry)
	if err != nil {
		return nil, fmt.Errorf("sources entry %s: %w", entry, err)
	}
	el, err := k.load(signedBy)
	if err != nil {
		return nil, fmt.Errorf("sources entry %s: %w", entry, err)
	}
	if len(el) == 0 {
		return nil, fmt.Errorf("sources entry %s: no key to check signatures with", entry)
	}
	k.cache[entry] = el
	return el, nil
}

// load reads a Signed-By value, or apt's trusted keyrings when it is empty.
func (k *keyrings) load(signedBy string) (openpgp.EntityList, error) {
	if strings.Contains(signedBy, "-----BEGIN PGP PUBLIC KEY BLOCK-----") {
		return parseKeyring("Signed-By", []byte(inlineKey(signedBy)))
	}
	var el, trusted openpgp.EntityList
	var fingerprints []string
	for _, item := range strings.FieldsFunc(signedBy, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
		if !filepath.IsAbs(item) {
			fingerprints = append(fingerprints, strings.ToUpper(strings.TrimSuffix(item, "!")))
			continue
		}
		kr, err := readKeyring(item)
		if err != nil {
			return nil, err
		}
		el = append(el, kr...)
	}
	if len(el) > 0 && len(fingerprints) == 0 {
		return el, nil
	}
	for _, p := range k.trusted {
		kr, err := readKeyring(p)
		if err != nil {
			return nil, err
		}
		trusted = append(trusted, kr...)
	}
	if len(fingerprints) == 0 {
		return trusted, nil
	}
	return append(el, byFingerprint(trusted, fingerprints)...), nil
}

// byFingerprint keeps the keys whose primary key or a subkey has one of
// the fingerprints.
func byFingerprint(el openpgp.EntityList, fps []string) openpgp.EntityList {
	var out openpgp.EntityList
	match := func(fp []byte) bool {
		s := fmt.Sprintf("%X", fp)
		for _, f := range fps {
			if f == s {
				return true
			}
		}
		return false
	}
	for _, e := range el {
		ok := match(e.PrimaryKey.Fingerprint)
		for _, sk := range e.Subkeys {
			ok = ok || match(sk.PublicKey.Fingerprint)
		}
		if ok {
			out = append(out, e)
		}
	}
	return out
}

// inlineKey turns a deb822 field's key block back into armor: a line "."
// stands for an empty line.
func inlineKey(v string) string {
	lines := strings.Split(v, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) == "." {
			lines[i] = ""
		} else {
			lines[i] = strings.TrimSpace(l)
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

// signedBy returns the Signed-By of a sources entry "FILE:N".
func signedBy(entry string) (string, error) {
	i := strings.LastIndexByte(entry, ':')
	n, err := strconv.Atoi(entry[i+1:])
	if i < 0 || err != nil || n < 1 {
		return "", errors.New("not FILE:NUMBER")
	}
	file := entry[:i]
	f, err := readfile.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	data, err := readfile.Regular(f, 1<<20)
	if err != nil {
		return "", err
	}
	if strings.HasSuffix(file, ".sources") {
		paras, err := dpkg.Paragraphs(file, data)
		if err != nil {
			return "", err
		}
		if n > len(paras) {
			return "", fs.ErrNotExist
		}
		return paras[n-1].Fields["Signed-By"], nil
	}
	lines := strings.Split(string(data), "\n")
	if n > len(lines) {
		return "", fs.ErrNotExist
	}
	return listSignedBy(lines[n-1]), nil
}

// listSignedBy reads the signed-by option of a one-line sources entry
// ("deb [arch=amd64 signed-by=/k.gpg] URI SUITE COMPONENT...").
func listSignedBy(line string) string {
	open, close := strings.IndexByte(line, '['), strings.IndexByte(line, ']')
	if open < 0 || close < open {
		return ""
	}
	for _, opt := range strings.Fields(line[open+1 : close]) {
		if v, ok := strings.CutPrefix(opt, "signed-by="); ok {
			return v
		}
	}
	return ""
}
