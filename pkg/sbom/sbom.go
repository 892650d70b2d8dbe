// Package sbom writes the SPDX 2.3 SBOM of a jail built from Debian
// packages: every regular file of the image with its SHA1 and SHA256, the
// package that shipped it, and every locked package with its version, the
// SHA256 of its .deb, where it came from, a package URL (purl) and the
// license its copyright file declares when it is machine-readable (DEP-5).
//
// The document is a function of its inputs: the same image, lock and
// creation time give the same bytes (no random namespace, no clock; the
// namespace is derived from the image's digest), as the image itself is
// reproducible.
//
// Relationships: the document DESCRIBES the jail; the jail CONTAINS each
// package that shipped one of its files and DEPENDS_ON the locked packages
// that shipped none (resolved as dependencies, kept out of the jail by its
// closure); a package CONTAINS its files; the jail CONTAINS the files no
// package shipped (its generated /etc/passwd, the recipe's own files).
//
// MediaType and ArtifactType are what the SBOM is stored as beside the
// image: an OCI 1.1 artifact of type application/spdx+json.
package sbom

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	spdx "github.com/spdx/tools-golang/spdx/v2/v2_3"
)

// MediaType is the media type of an SPDX JSON document, and the artifact
// type of the OCI artifact that carries one.
const MediaType = "application/spdx+json"

// Package is one locked Debian package.
type Package struct {
	Name, Version, Architecture string
	// SHA256 is the .deb's, URL where it came from, Suite the apt suite
	// ("Debian bookworm-security/main").
	SHA256, URL, Suite string
	// License is an SPDX license expression, or "" when unknown.
	License string
}

// Input is what an SBOM is made of.
type Input struct {
	// Name and Version name the jail (the recipe's name, the image's tag).
	Name, Version string
	// Image is the jail image; its files are listed from its layers.
	Image v1.Image
	// Created is the document's creation time: the build's epoch.
	Created time.Time
	// Packages are the locked packages.
	Packages []Package
	// Owner names the package that shipped the jail file at path, or "".
	Owner func(path string) string
}

// file is one regular file of the image.
type file struct {
	path         string
	sha1, sha256 string
}

// New returns the SBOM of in as SPDX 2.3 JSON.
func New(ctx context.Context, in Input) ([]byte, error) {
	files, err := imageFiles(ctx, in.Image)
	if err != nil {
		return nil, err
	}
	digest, err := in.Image.Digest()
	if err != nil {
		return nil, err
	}
	doc := &spdx.Document{
		SPDXVersion: spdx.Version, DataLicense: spdx.DataLicense, SPDXIdentifier: "DOCUMENT",
		DocumentName:      in.Name,
		DocumentNamespace: fmt.Sprintf("https://jailimg.invalid/spdx/%s/%s", in.Name, digest.Hex),
		CreationInfo: &spdx.CreationInfo{
			Creators: []common.Creator{{CreatorType: "Tool", Creator: "jailimg"}},
			Created:  in.Created.UTC().Format(time.RFC3339),
		},
	}
	b := &builder{doc: doc, ids: map[string]common.ElementID{}}
	b.jail(in, digest)
	b.packages(in.Packages)
	b.files(files, in.Owner)
	b.relatePackages(in.Packages)
	var out bytes.Buffer
	if err := spdxjson.Write(doc, &out, spdxjson.Indent("  ")); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// builder fills one document.
type builder struct {
	doc      *spdx.Document
	ids      map[string]common.ElementID // package name -> SPDX id
	contains map[string]bool             // packages that shipped a jail file
	codes    map[string][]string         // package name -> its files' SHA1s
}

const jailID = common.ElementID("Package-jail")

func (b *builder) jail(in Input, digest v1.Hash) {
	b.doc.Packages = append(b.doc.Packages, &spdx.Package{
		PackageName: in.Name, PackageSPDXIdentifier: jailID, PackageVersion: in.Version,
		PackageDownloadLocation: "NOASSERTION", PackageLicenseConcluded: "NOASSERTION", PackageLicenseDeclared: "NOASSERTION",
		PackageCopyrightText: "NOASSERTION", PrimaryPackagePurpose: "CONTAINER",
		PackageComment: "The jail image " + digest.String() + ", built by jailimg from the packages below.",
	})
	b.relate("DOCUMENT", jailID, common.TypeRelationshipDescribe)
}

// packages adds the locked packages, their files yet unknown.
func (b *builder) packages(pkgs []Package) {
	for i, p := range pkgs {
		id := common.ElementID(fmt.Sprintf("Package-deb-%d-%s", i+1, idSafe(p.Name)))
		b.ids[p.Name] = id
		license := p.License
		if license == "" {
			license = "NOASSERTION"
		}
		b.doc.Packages = append(b.doc.Packages, &spdx.Package{
			PackageName: p.Name, PackageSPDXIdentifier: id, PackageVersion: p.Version,
			PackageFileName:         path.Base(p.URL),
			PackageDownloadLocation: p.URL,
			PackageChecksums:        []common.Checksum{{Algorithm: common.SHA256, Value: p.SHA256}},
			PackageLicenseConcluded: "NOASSERTION", PackageLicenseDeclared: license, PackageCopyrightText: "NOASSERTION",
			PackageSourceInfo: "from apt suite " + p.Suite,
			PackageExternalReferences: []*spdx.PackageExternalReference{{
				Category: common.CategoryPackageManager, RefType: common.TypePackageManagerPURL, Locator: PURL(p),
			}},
		})
	}
}

// files adds the image's files, each contained by its package or the jail.
func (b *builder) files(files []file, owner func(string) string) {
	b.contains, b.codes = map[string]bool{}, map[string][]string{}
	for i, f := range files {
		id := common.ElementID(fmt.Sprintf("File-%d", i+1))
		b.doc.Files = append(b.doc.Files, &spdx.File{
			FileName: "." + f.path, FileSPDXIdentifier: id,
			Checksums:        []common.Checksum{{Algorithm: common.SHA1, Value: f.sha1}, {Algorithm: common.SHA256, Value: f.sha256}},
			LicenseConcluded: "NOASSERTION", FileCopyrightText: "NOASSERTION",
		})
		container := jailID
		if name := ownerOf(owner, f.path); name != "" && b.ids[name] != "" {
			container = b.ids[name]
			b.contains[name] = true
			b.codes[name] = append(b.codes[name], f.sha1)
		}
		b.relate(container, id, common.TypeRelationshipContains)
	}
}

func ownerOf(owner func(string) string, p string) string {
	if owner == nil {
		return ""
	}
	return owner(p)
}

// relatePackages ties the jail to its packages, and gives the packages
// whose files were listed their verification code.
func (b *builder) relatePackages(pkgs []Package) {
	for _, dp := range b.doc.Packages[1:] {
		name := dp.PackageName
		if !b.contains[name] {
			dp.PackageComment = "Locked and resolved as a dependency; none of its files is in the jail."
			b.relate(jailID, b.ids[name], common.TypeRelationshipDependsOn)
			continue
		}
		dp.FilesAnalyzed = true
		dp.PackageVerificationCode = &common.PackageVerificationCode{Value: verificationCode(b.codes[name])}
		dp.PackageComment = "Only the files of it that the jail holds are listed."
		b.relate(jailID, b.ids[name], common.TypeRelationshipContains)
	}
}

func (b *builder) relate(a, c common.ElementID, kind string) {
	b.doc.Relationships = append(b.doc.Relationships, &spdx.Relationship{
		RefA: common.MakeDocElementID("", string(a)), RefB: common.MakeDocElementID("", string(c)), Relationship: kind,
	})
}

// verificationCode is SPDX's package verification code: the SHA1 of the
// sorted SHA1s of the package's files.
func verificationCode(sha1s []string) string {
	s := append([]string(nil), sha1s...)
	sort.Strings(s)
	sum := sha1.Sum([]byte(strings.Join(s, "")))
	return hex.EncodeToString(sum[:])
}

// idSafe keeps the characters an SPDX id may hold (letters, digits, "."
// and "-"), replacing the others (the "+" of libstdc++6) with "-".
func idSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
			return r
		}
		return '-'
	}, s)
}

// PURL returns the package URL of a Debian package:
// pkg:deb/debian/NAME@VERSION?arch=ARCH&distro=CODENAME, the version
// percent-encoded (an epoch's ":" as %3A, "+" as %2B).
func PURL(p Package) string {
	origin, codename := "debian", ""
	if fields := strings.Fields(p.Suite); len(fields) == 2 {
		origin = strings.ToLower(fields[0])
		codename, _, _ = strings.Cut(fields[1], "/")
		codename, _, _ = strings.Cut(codename, "-") // bookworm-security is bookworm
	}
	u := fmt.Sprintf("pkg:deb/%s/%s@%s?arch=%s", escape(origin), escape(p.Name), escape(p.Version), escape(p.Architecture))
	if codename != "" {
		u += "&distro=" + escape(codename)
	}
	return u
}

func escape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(".-_~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// imageFiles lists the regular files of a one-layer image's layer (a jail
// image has exactly one) with their digests, sorted by path.
func imageFiles(ctx context.Context, img v1.Image) ([]file, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	if len(layers) != 1 {
		return nil, fmt.Errorf("sbom: %d layers, want the one of a jail image", len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var out []file
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		s1, s256 := sha1.New(), sha256.New()
		if _, err := io.Copy(io.MultiWriter(s1, s256), tr); err != nil {
			return nil, err
		}
		out = append(out, file{path: path.Clean("/" + h.Name), sha1: hex.EncodeToString(s1.Sum(nil)), sha256: hex.EncodeToString(s256.Sum(nil))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, nil
}
