package apt_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/pierrec/lz4/v4"

	"github.com/jailimg/jailimg/pkg/apt"
)

// pkg is one package of a generated index.
type pkg struct {
	name, version, arch, depends, provides, priority string
}

func (p pkg) paragraph() string {
	arch := p.arch
	if arch == "" {
		arch = "amd64"
	}
	sum := sha256.Sum256([]byte(p.name + p.version))
	s := fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: %s\nFilename: pool/main/%s_%s_%s.deb\nSize: 1000\nSHA256: %x\n",
		p.name, p.version, arch, p.name, p.version, arch, sum)
	if p.depends != "" {
		s += "Depends: " + p.depends + "\n"
	}
	if p.provides != "" {
		s += "Provides: " + p.provides + "\n"
	}
	if p.priority != "" {
		s += "Priority: " + p.priority + "\n"
	}
	return s + "Description: test\n multi-line\n"
}

// suite is one generated suite: its name and packages.
type suite struct {
	name, label string
	pkgs        []pkg
}

// archive is a generated apt setup: a lists directory with one signed
// InRelease and one lz4 Packages index per suite, a sources file naming
// the keyring, and the targets apt-get indextargets would list.
type archive struct {
	dir     string
	key     *openpgp.Entity
	targets []apt.Target
}

func newKey(t *testing.T, name string) *openpgp.Entity {
	t.Helper()
	e, err := openpgp.NewEntity(name, "", name+"@example.org", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func writeKeyring(t *testing.T, path string, keys ...*openpgp.Entity) {
	t.Helper()
	var buf bytes.Buffer
	for _, k := range keys {
		if err := k.Serialize(&buf); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func lz4Bytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := lz4.NewWriter(&buf)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func clearsigned(t *testing.T, key *openpgp.Entity, text string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := clearsign.Encode(&buf, key.PrivateKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(text))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// newArchive writes the suites, signed by a new key that the sources
// entry's Signed-By names.
func newArchive(t *testing.T, suites ...suite) *archive {
	t.Helper()
	a := &archive{dir: t.TempDir(), key: newKey(t, "Test Archive")}
	lists := filepath.Join(a.dir, "lists")
	os.Mkdir(lists, 0o755)
	keyring := filepath.Join(a.dir, "archive.gpg")
	writeKeyring(t, keyring, a.key)
	var sources strings.Builder
	for i, s := range suites {
		fmt.Fprintf(&sources, "Types: deb\nURIs: http://archive.example/debian\nSuites: %s\nComponents: main\nSigned-By: %s\n\n", s.name, keyring)
		var idx strings.Builder
		for _, p := range s.pkgs {
			idx.WriteString(p.paragraph() + "\n")
		}
		sum := sha256.Sum256([]byte(idx.String()))
		prefix := "archive.example_debian_dists_" + s.name + "_"
		os.WriteFile(filepath.Join(lists, prefix+"main_binary-amd64_Packages.lz4"), lz4Bytes(t, []byte(idx.String())), 0o644)
		release := fmt.Sprintf("Origin: Test\nLabel: %s\nSuite: %s\nCodename: %s\nSHA256:\n %s %d main/binary-amd64/Packages\n",
			s.label, s.name, s.name, hex.EncodeToString(sum[:]), idx.Len())
		os.WriteFile(filepath.Join(lists, prefix+"InRelease"), clearsigned(t, a.key, release), 0o644)
		a.targets = append(a.targets, apt.Target{
			Filename: filepath.Join(lists, prefix+"main_binary-amd64_Packages.lz4"), MetaKey: "main/binary-amd64/Packages",
			BaseURI: "http://archive.example/debian/dists/" + s.name + "/", RepoURI: "http://archive.example/debian/",
			Suite: s.name, Codename: s.name, Label: s.label, Component: "main", Architecture: "amd64",
			SourcesEntry: filepath.Join(a.dir, "test.sources") + fmt.Sprintf(":%d", i+1),
		})
	}
	os.WriteFile(filepath.Join(a.dir, "test.sources"), []byte(sources.String()), 0o644)
	return a
}

func (a *archive) load(t *testing.T) (*apt.Archive, error) {
	t.Helper()
	return apt.Load(context.Background(), a.targets, "amd64", apt.WithAptEtc(filepath.Join(a.dir, "etc")))
}

// nginxSuites is the situation of Debian 12 in miniature: a point release
// and a security update of nginx, whose packages depend on each other at
// exactly the same version, a virtual dependency, and an alternative.
var nginxSuites = []suite{
	{name: "bookworm", label: "Debian", pkgs: []pkg{
		{name: "nginx-light", version: "1.22.1-9+deb12u9", arch: "all", depends: "nginx (>= 1.22.1-9+deb12u9), nginx (<< 1.22.1-9+deb12u9.1~)"},
		{name: "nginx", version: "1.22.1-9+deb12u9", depends: "libc6 (>= 2.34), nginx-common (>= 1.22.1-9+deb12u9), nginx-common (<< 1.22.1-9+deb12u9.1~)"},
		{name: "nginx-common", version: "1.22.1-9+deb12u9", arch: "all", depends: "debconf (>= 0.5) | debconf-2.0"},
		{name: "debconf", version: "1.5.82", arch: "all", provides: "debconf-2.0"},
		{name: "libc6", version: "2.36-9+deb12u9", depends: "libgcc-s1"},
		{name: "libgcc-s1", version: "12.2.0-14"},
		{name: "base-files", version: "12.4+deb12u9", depends: "awk"},
		{name: "mawk", version: "1.3.4", provides: "awk", priority: "required"},
		{name: "gawk", version: "5.2.1", provides: "awk", priority: "optional"},
		{name: "other-arch", version: "1", arch: "arm64"},
	}},
	{name: "bookworm-security", label: "Debian-Security", pkgs: []pkg{
		{name: "nginx-light", version: "1.22.1-9+deb12u11", arch: "all", depends: "nginx (>= 1.22.1-9+deb12u11), nginx (<< 1.22.1-9+deb12u11.1~)"},
		{name: "nginx", version: "1.22.1-9+deb12u11", depends: "libc6 (>= 2.34), nginx-common (>= 1.22.1-9+deb12u11), nginx-common (<< 1.22.1-9+deb12u11.1~)"},
		{name: "nginx-common", version: "1.22.1-9+deb12u11", arch: "all", depends: "debconf (>= 0.5) | debconf-2.0"},
		{name: "libc6", version: "2.36-9+deb12u13", depends: "libgcc-s1"},
	}},
}

func names(pkgs []*apt.Package) string {
	var s []string
	for _, p := range pkgs {
		s = append(s, p.Name+"="+p.Version)
	}
	return strings.Join(s, " ")
}

// TestResolve: the closure of a request is the newest of everything; a pin
// on nginx-light pins nginx and nginx-common through their exact-version
// dependencies while libc6 stays the newest; a virtual dependency goes to
// the required provider; a pin nothing offers, or a conflict, is an error
// naming the package and the versions.
func TestResolve(t *testing.T) {
	a, err := newArchive(t, nginxSuites...).load(t)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		reqs []string
		want string // the closure, or the error's text
		err  bool
	}{
		{"newest", []string{"nginx-light"},
			"debconf=1.5.82 libc6=2.36-9+deb12u13 libgcc-s1=12.2.0-14 nginx=1.22.1-9+deb12u11 nginx-common=1.22.1-9+deb12u11 nginx-light=1.22.1-9+deb12u11", false},
		{"pinned", []string{"nginx-light=1.22.1-9+deb12u9"},
			"debconf=1.5.82 libc6=2.36-9+deb12u13 libgcc-s1=12.2.0-14 nginx=1.22.1-9+deb12u9 nginx-common=1.22.1-9+deb12u9 nginx-light=1.22.1-9+deb12u9", false},
		{"virtual", []string{"base-files"}, "base-files=12.4+deb12u9 mawk=1.3.4", false},
		{"virtual requested", []string{"base-files", "gawk"}, "base-files=12.4+deb12u9 gawk=5.2.1", false},
		{"no such version", []string{"nginx-light=1.0"}, "nginx-light: no version offered is = 1.0 (the recipe's packages); offered: 1.22.1-9+deb12u11 (Test bookworm-security/main), 1.22.1-9+deb12u9 (Test bookworm/main)", true},
		{"conflict", []string{"nginx-light=1.22.1-9+deb12u9", "nginx=1.22.1-9+deb12u11"}, "nginx: no version offered is", true},
		{"other arch", []string{"other-arch"}, "other-arch: not offered by apt's sources for amd64", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var reqs []apt.Request
			for _, s := range tc.reqs {
				r, err := apt.ParseRequest(s)
				if err != nil {
					t.Fatal(err)
				}
				reqs = append(reqs, r)
			}
			got, err := a.Resolve(reqs)
			if tc.err {
				if !errors.Is(err, apt.ErrUnsatisfiable) || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("Resolve: %v, want ErrUnsatisfiable saying %q", err, tc.want)
				}
				return
			}
			if err != nil || names(got) != tc.want {
				t.Errorf("Resolve: %s, %v\nwant %s", names(got), err, tc.want)
			}
		})
	}
}

// TestNewest: the newest version offered, and whether a security suite
// offers it.
func TestNewest(t *testing.T) {
	a, err := newArchive(t, nginxSuites...).load(t)
	if err != nil {
		t.Fatal(err)
	}
	p, sec := a.Newest("nginx", "amd64")
	if p == nil || p.Version != "1.22.1-9+deb12u11" || len(sec) != 1 || sec[0].Label != "Debian-Security" {
		t.Errorf("Newest(nginx) = %+v, %v", p, sec)
	}
	if p.URL() != "http://archive.example/debian/pool/main/nginx_1.22.1-9+deb12u11_amd64.deb" {
		t.Errorf("URL %s", p.URL())
	}
	p, sec = a.Newest("mawk", "")
	if p == nil || p.Version != "1.3.4" || len(sec) != 0 {
		t.Errorf("Newest(mawk) = %+v, %v", p, sec)
	}
	if p, _ := a.Newest("nothing", ""); p != nil {
		t.Errorf("Newest(nothing) = %+v", p)
	}
}

// TestSignatureChain: an index is read only through a good signature by
// the sources entry's key and a matching SHA256: a changed index, a
// Release changed after signing, a Release signed by another key, a
// keyring without the key are all refused naming the file.
func TestSignatureChain(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(t *testing.T, a *archive)
		want   string
	}{
		{"index changed", func(t *testing.T, a *archive) {
			f := a.targets[0].Filename
			data := []byte(strings.Replace(nginxSuites[0].pkgs[0].paragraph(), "deb12u9", "deb12u8", -1))
			os.WriteFile(f, lz4Bytes(t, data), 0o644)
		}, "the signed"},
		{"release changed", func(t *testing.T, a *archive) {
			f := filepath.Join(filepath.Dir(a.targets[0].Filename), "archive.example_debian_dists_bookworm_InRelease")
			b, _ := os.ReadFile(f)
			os.WriteFile(f, bytes.Replace(b, []byte("Origin: Test"), []byte("Origin: Tess"), 1), 0o644)
		}, "signature"},
		{"other key", func(t *testing.T, a *archive) {
			f := filepath.Join(filepath.Dir(a.targets[0].Filename), "archive.example_debian_dists_bookworm_InRelease")
			b, _ := os.ReadFile(f)
			block, _ := clearsign.Decode(b)
			os.WriteFile(f, clearsigned(t, newKey(t, "Mallory"), string(block.Plaintext)), 0o644)
		}, "signature"},
		{"not signed", func(t *testing.T, a *archive) {
			f := filepath.Join(filepath.Dir(a.targets[0].Filename), "archive.example_debian_dists_bookworm_InRelease")
			b, _ := os.ReadFile(f)
			block, _ := clearsign.Decode(b)
			os.WriteFile(f, block.Plaintext, 0o644)
		}, "not a clearsigned message"},
		{"keyring without the key", func(t *testing.T, a *archive) {
			writeKeyring(t, filepath.Join(a.dir, "archive.gpg"), newKey(t, "Someone else"))
		}, "signature"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := newArchive(t, nginxSuites...)
			if _, err := a.load(t); err != nil {
				t.Fatalf("before tampering: %v", err)
			}
			tc.tamper(t, a)
			_, err := a.load(t)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), a.dir) {
				t.Errorf("Load: %v, want an error naming the file and saying %q", err, tc.want)
			}
		})
	}
}

// TestParseRequest: apt's syntax, checked.
func TestParseRequest(t *testing.T) {
	for in, want := range map[string]string{
		"nginx-light":                  "nginx-light",
		"nginx-light=1.22.1-9+deb12u9": "nginx-light=1.22.1-9+deb12u9",
		"libc6=2.36-9":                 "libc6=2.36-9",
		"Nginx":                        "error",
		"x":                            "error",
		"nginx=":                       "error",
		"nginx=1 2":                    "error",
		"../etc":                       "error",
	} {
		r, err := apt.ParseRequest(in)
		got := r.String()
		if err != nil {
			got = "error"
		}
		if got != want {
			t.Errorf("ParseRequest(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
