package sbom_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/jailimg/jailimg/pkg/sbom"
)

// jailImage is a one-layer image of files (path -> contents).
func jailImage(t *testing.T, files map[string]string) v1.Image {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "usr/", Typeflag: tar.TypeDir, Mode: 0o755})
	for _, p := range []string{"usr/sbin/nginx", "usr/lib/libssl.so.3", "etc/passwd"} {
		tw.WriteHeader(&tar.Header{Name: p, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(files[p]))})
		io.WriteString(tw, files[p])
	}
	tw.Close()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

var pkgs = []sbom.Package{
	{Name: "libssl3", Version: "3.0.22-1~deb12u2", Architecture: "amd64", SHA256: strings.Repeat("a", 64),
		URL:   "http://deb.debian.org/debian-security/pool/updates/main/o/openssl/libssl3_3.0.22-1~deb12u2_amd64.deb",
		Suite: "Debian bookworm-security/main", License: "Apache-2.0"},
	{Name: "nginx", Version: "1:1.22.1-9+deb12u9", Architecture: "amd64", SHA256: strings.Repeat("b", 64),
		URL: "http://deb.debian.org/debian/pool/main/n/nginx/nginx_1.22.1-9+deb12u9_amd64.deb", Suite: "Debian bookworm/main"},
	{Name: "debconf", Version: "1.5.82", Architecture: "all", SHA256: strings.Repeat("c", 64),
		URL: "http://deb.debian.org/debian/pool/main/d/debconf/debconf_1.5.82_all.deb", Suite: "Debian bookworm/main"},
}

type document struct {
	SPDXVersion string `json:"spdxVersion"`
	Namespace   string `json:"documentNamespace"`
	Creation    struct {
		Created string `json:"created"`
	} `json:"creationInfo"`
	Packages []struct {
		SPDXID          string `json:"SPDXID"`
		Name            string `json:"name"`
		Version         string `json:"versionInfo"`
		LicenseDeclared string `json:"licenseDeclared"`
		Checksums       []struct{ Algorithm, ChecksumValue string }
		ExternalRefs    []struct{ ReferenceType, ReferenceLocator string }
	} `json:"packages"`
	Files []struct {
		SPDXID    string `json:"SPDXID"`
		FileName  string `json:"fileName"`
		Checksums []struct{ Algorithm, ChecksumValue string }
	} `json:"files"`
	Relationships []struct {
		A    string `json:"spdxElementId"`
		B    string `json:"relatedSpdxElement"`
		Type string `json:"relationshipType"`
	} `json:"relationships"`
}

// TestNew: every file of the jail with its digests, contained by the
// package that shipped it; every locked package with its version, .deb
// digest, purl and license; the same inputs give the same bytes.
func TestNew(t *testing.T) {
	img := jailImage(t, map[string]string{"usr/sbin/nginx": "nginx", "usr/lib/libssl.so.3": "ssl", "etc/passwd": "root"})
	owners := map[string]string{"/usr/sbin/nginx": "nginx", "/usr/lib/libssl.so.3": "libssl3"}
	in := sbom.Input{Name: "nginx-pkg", Version: "1.22", Image: img, Created: time.Unix(0, 0), Packages: pkgs,
		Owner: func(p string) string { return owners[p] }}
	b, err := sbom.New(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := sbom.New(context.Background(), in)
	if !bytes.Equal(b, again) {
		t.Error("two SBOMs of the same inputs differ")
	}
	var doc document
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.SPDXVersion != "SPDX-2.3" || doc.Creation.Created != "1970-01-01T00:00:00Z" || !strings.HasPrefix(doc.Namespace, "https://jailimg.invalid/spdx/nginx-pkg/") {
		t.Errorf("document %+v", doc)
	}
	purls := map[string]string{}
	ids := map[string]string{}
	for _, p := range doc.Packages {
		ids[p.SPDXID] = p.Name
		for _, r := range p.ExternalRefs {
			purls[p.Name+"="+p.Version] = r.ReferenceLocator
		}
	}
	for want, purl := range map[string]string{
		"libssl3=3.0.22-1~deb12u2": "pkg:deb/debian/libssl3@3.0.22-1~deb12u2?arch=amd64&distro=bookworm",
		"nginx=1:1.22.1-9+deb12u9": "pkg:deb/debian/nginx@1%3A1.22.1-9%2Bdeb12u9?arch=amd64&distro=bookworm",
		"debconf=1.5.82":           "pkg:deb/debian/debconf@1.5.82?arch=all&distro=bookworm",
	} {
		if purls[want] != purl {
			t.Errorf("%s: purl %q, want %q", want, purls[want], purl)
		}
	}
	files := map[string]string{}
	for _, f := range doc.Files {
		files[f.SPDXID] = f.FileName
		if len(f.Checksums) != 2 {
			t.Errorf("%s: checksums %v", f.FileName, f.Checksums)
		}
	}
	rels := map[string]bool{}
	for _, r := range doc.Relationships {
		a, b := ids[r.A], ids[r.B]
		if f := files[r.B]; f != "" {
			b = f
		}
		rels[a+" "+r.Type+" "+b] = true
	}
	for _, want := range []string{
		"nginx CONTAINS ./usr/sbin/nginx", "libssl3 CONTAINS ./usr/lib/libssl.so.3", "nginx-pkg CONTAINS ./etc/passwd",
		"nginx-pkg CONTAINS nginx", "nginx-pkg CONTAINS libssl3", "nginx-pkg DEPENDS_ON debconf",
	} {
		if !rels[want] {
			t.Errorf("no relationship %q in %v", want, rels)
		}
	}
}

// TestLicense: DEP-5 copyright files give SPDX expressions; others none.
func TestLicense(t *testing.T) {
	const head = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: x\n\n"
	for _, tc := range []struct{ copyright, want string }{
		{head + "Files: *\nCopyright: someone\nLicense: BSD-2-clause\n", "BSD-2-Clause"},
		{head + "Files: debian/*\nLicense: GPL-2+\n\nFiles: *\nLicense: GPL-2+ or Artistic\n text\n", "GPL-2.0-or-later OR Artistic-1.0"},
		{head + "Files: *\nLicense: BSD-3-clause-Cambridge with exception\n", ""},
		{"This is the Debian prepackaged version of the GNU C Library.\n", ""},
		{head + "Files: *\nLicense: or\n", ""},
	} {
		if got := sbom.License([]byte(tc.copyright)); got != tc.want {
			t.Errorf("License(%q) = %q, want %q", tc.copyright, got, tc.want)
		}
	}
}
