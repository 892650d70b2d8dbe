package apt

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz"

	"github.com/jailimg/jailimg/pkg/dpkg"
)

// maxIndex is the largest decompressed index read: Debian's largest
// Packages file is about 50 MB.
const maxIndex = 1 << 30

// Package is one package an index offers.
type Package struct {
	// Name, Version, Architecture, MultiArch, Priority and Source are
	// the index's fields.
	Name, Version, Architecture, MultiArch, Priority, Source string
	// Depends, PreDepends and Provides are the raw fields.
	Depends, PreDepends, Provides string
	// Filename is the .deb's path in the archive, Size and SHA256 what
	// the signed index says of it.
	Filename string
	Size     int64
	SHA256   string
	// Suite is where apt found it.
	Suite *Suite
}

// URL is where the archive serves the .deb.
func (p *Package) URL() string {
	return strings.TrimSuffix(p.Suite.RepoURI, "/") + "/" + p.Filename
}

// Suite is one verified suite index of one component: the Release fields
// that name it and who signed it.
type Suite struct {
	Origin, Label, Suite, Codename, Component string
	// RepoURI is the archive's URI.
	RepoURI string
	// Security is set for a security suite (Debian-Security, *-security).
	Security bool
	// Signer names the key that signed its InRelease.
	Signer string
}

// String names the suite as apt-cache policy does: "Debian bookworm-security/main".
func (s *Suite) String() string {
	return fmt.Sprintf("%s %s/%s", s.Origin, s.Codename, s.Component)
}

// loadTarget checks an index along the signature chain (its suite's
// release, already verified, gives its size and SHA256) and reads it.
func loadTarget(ctx context.Context, t Target, rel *release) ([]*Package, error) {
	want, ok := rel.files[t.MetaKey]
	if !ok {
		return nil, fmt.Errorf("%s: the signed Release text lists no %s", rel.path, t.MetaKey)
	}
	data, err := readIndex(t.Filename, want.size)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); int64(len(data)) != want.size || got != want.hex {
		return nil, fmt.Errorf("%s: decompressed, %d bytes with SHA256 %s; the signed %s says %d bytes, %s (run apt-get update)",
			t.Filename, len(data), got, rel.path, want.size, want.hex)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	suite := &Suite{Origin: rel.fields["Origin"], Label: rel.fields["Label"], Suite: rel.fields["Suite"], Codename: rel.fields["Codename"],
		Component: t.Component, RepoURI: t.RepoURI, Security: t.security(), Signer: rel.signer}
	return parseIndex(t.Filename, data, suite)
}

// readIndex reads an index file apt keeps, decompressing it as its suffix
// says, up to maxIndex bytes; size is what the Release file says it holds.
func readIndex(path string, size int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader
	switch filepath.Ext(path) {
	case ".lz4":
		r = lz4.NewReader(f)
	case ".gz":
		if r, err = gzip.NewReader(f); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	case ".xz":
		if r, err = xz.NewReader(f); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	case ".zst":
		zr, err := zstd.NewReader(f, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	default:
		r = f
	}
	var buf bytes.Buffer
	buf.Grow(int(min(size, maxIndex)) + bytes.MinRead)
	if _, err := io.Copy(&buf, io.LimitReader(r, maxIndex+1)); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if buf.Len() > maxIndex {
		return nil, fmt.Errorf("%s: more than %d bytes decompressed", path, maxIndex)
	}
	return buf.Bytes(), nil
}

// parseIndex reads a Packages file: each paragraph must name a package,
// version, architecture, file, size and SHA256.
func parseIndex(name string, data []byte, suite *Suite) ([]*Package, error) {
	paras, err := dpkg.Paragraphs(name, data)
	if err != nil {
		return nil, err
	}
	out := make([]*Package, 0, len(paras))
	for _, p := range paras {
		f := p.Fields
		pkg := &Package{
			Name: f["Package"], Version: f["Version"], Architecture: f["Architecture"], MultiArch: f["Multi-Arch"],
			Priority: f["Priority"], Source: f["Source"], Depends: f["Depends"], PreDepends: f["Pre-Depends"],
			Provides: f["Provides"], Filename: f["Filename"], SHA256: strings.ToLower(f["SHA256"]), Suite: suite,
		}
		pkg.Size, err = strconv.ParseInt(f["Size"], 10, 64)
		if err != nil || pkg.Size <= 0 || !validName(pkg.Name) || pkg.Version == "" || pkg.Architecture == "" ||
			len(pkg.SHA256) != 64 || pkg.Filename == "" || strings.Contains(pkg.Filename, "..") {
			return nil, fmt.Errorf("%s:%d: package %q lacks a valid Version, Architecture, Filename, Size or SHA256", name, p.Line, pkg.Name)
		}
		out = append(out, pkg)
	}
	return out, nil
}

// validName reports whether s is a Debian package name (policy 5.6.1):
// lowercase letters, digits, + - ., at least two characters, starting with
// a letter or digit.
func validName(s string) bool {
	if len(s) < 2 || len(s) > 128 {
		return false
	}
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case i > 0 && (c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}
