package apt

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/jailimg/jailimg/pkg/dpkg"
)

// Target is one package index apt keeps, as apt-get indextargets
// describes it.
type Target struct {
	// Filename is the index file in apt's lists directory.
	Filename string
	// MetaKey is its name in the suite's Release file
	// ("main/binary-amd64/Packages").
	MetaKey string
	// BaseURI is the suite's URI ("http://deb.debian.org/debian/dists/bookworm/"),
	// RepoURI the archive's, which the indexes' Filename fields are
	// relative to.
	BaseURI, RepoURI string
	// Origin, Label, Suite and Codename are the suite's Release fields,
	// Component and Architecture the index's.
	Origin, Label, Suite, Codename, Component, Architecture string
	// SourcesEntry is "FILE:LINE" of the sources entry the index comes from.
	SourcesEntry string
}

// Targets runs apt-get indextargets and returns the Packages indexes apt
// keeps, in apt's order.
func Targets(ctx context.Context) ([]Target, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "apt-get", "indextargets", "Identifier: Packages")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("apt-get indextargets: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return ParseTargets(stdout.Bytes())
}

// ParseTargets reads the output of apt-get indextargets: the Packages
// indexes it lists, each with its file, Release key and sources entry.
func ParseTargets(out []byte) ([]Target, error) {
	paras, err := dpkg.Paragraphs("apt-get indextargets", out)
	if err != nil {
		return nil, err
	}
	var ts []Target
	for _, p := range paras {
		f := p.Fields
		if f["Identifier"] != "Packages" {
			continue
		}
		t := Target{
			Filename: f["Filename"], MetaKey: f["MetaKey"], BaseURI: f["Base-URI"], RepoURI: f["Repo-URI"],
			Origin: f["Origin"], Label: f["Label"], Suite: f["Suite"], Codename: f["Codename"],
			Component: f["Component"], Architecture: f["Architecture"], SourcesEntry: f["Sourcesentry"],
		}
		if !filepath.IsAbs(t.Filename) || t.MetaKey == "" || t.BaseURI == "" || t.RepoURI == "" {
			return nil, fmt.Errorf("apt-get indextargets: index at line %d lacks Filename, MetaKey, Base-URI or Repo-URI", p.Line)
		}
		ts = append(ts, t)
	}
	return ts, nil
}

// inRelease returns the path of the InRelease file of t's suite: in the
// index's directory, named after the suite's URI as apt names it.
func (t Target) inRelease() string {
	return filepath.Join(filepath.Dir(t.Filename), uriToFileName(t.BaseURI+"InRelease"))
}

// uriToFileName names a URI's file in apt's lists directory as apt does
// (URItoFileName): no scheme or credentials, some characters quoted, "/"
// made "_".
func uriToFileName(uri string) string {
	if u, err := url.Parse(uri); err == nil && u.Host != "" {
		uri = u.Host + u.EscapedPath()
	}
	var b strings.Builder
	for _, c := range []byte(uri) {
		switch {
		case c == '/':
			b.WriteByte('_')
		case strings.IndexByte("\\|{}[]<>\"^~_=!@#$%^&*", c) >= 0 || c <= 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, "%%%02x", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// security reports whether t's suite is a security suite: its Label or
// Suite says so (Debian-Security, bookworm-security), as Debian's and
// Ubuntu's are named.
func (t Target) security() bool {
	for _, s := range []string{t.Label, t.Suite, t.Codename} {
		if strings.Contains(strings.ToLower(s), "security") {
			return true
		}
	}
	return false
}

// debianArch maps Go's architecture names to Debian's.
var debianArch = map[string]string{
	"amd64": "amd64", "arm64": "arm64", "386": "i386", "arm": "armhf", "ppc64le": "ppc64el",
	"s390x": "s390x", "riscv64": "riscv64", "mips64le": "mips64el", "loong64": "loong64",
}

// NativeArch returns the Debian name of the architecture jailimg runs on
// (amd64, arm64, i386, armhf...), the one a lock is made for.
func NativeArch() string {
	if a, ok := debianArch[runtime.GOARCH]; ok {
		return a
	}
	return runtime.GOARCH
}
