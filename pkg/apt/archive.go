package apt

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/ProtonMail/go-crypto/openpgp"
	"pault.ag/go/debian/version"
)

// Archive is what apt's sources offer, every index verified.
type Archive struct {
	arch     string
	byName   map[string][]*Package // native architecture and "all", newest first
	provides map[string][]provider
}

// provider is a package providing a virtual name, at a version if the
// Provides entry gives one.
type provider struct {
	pkg     *Package
	version string
}

// Option configures Load.
type Option func(*options)

type options struct {
	trustedDir string
}

// WithAptEtc sets apt's configuration directory, where the trusted
// keyrings of sources entries without Signed-By are (trusted.gpg,
// trusted.gpg.d/). Default: /etc/apt.
func WithAptEtc(dir string) Option { return func(o *options) { o.trustedDir = dir } }

// Load verifies and reads the indexes of targets for the architecture
// arch (and "all"). Every target's InRelease is checked against the
// keyring of its sources entry, and every index against its InRelease,
// before a package of it is read; any failure fails Load.
func Load(ctx context.Context, targets []Target, arch string, opts ...Option) (*Archive, error) {
	o := options{trustedDir: "/etc/apt"}
	for _, opt := range opts {
		opt(&o)
	}
	k := &keyrings{trusted: defaultTrusted(o.trustedDir), cache: map[string]openpgp.EntityList{}}
	releases := map[string]*release{}
	a := &Archive{arch: arch, byName: map[string][]*Package{}, provides: map[string][]provider{}}
	for _, t := range targets {
		if t.Architecture != arch && t.Architecture != "all" {
			continue
		}
		rel, err := verifiedRelease(t, k, releases)
		if err != nil {
			return nil, err
		}
		pkgs, err := loadTarget(ctx, t, rel)
		if err != nil {
			return nil, err
		}
		a.add(pkgs)
	}
	for _, vs := range a.byName {
		sort.SliceStable(vs, func(i, j int) bool { return compare(vs[i].Version, vs[j].Version) > 0 })
	}
	return a, nil
}

// verifiedRelease reads t's suite's InRelease once, checked against the
// keyring of t's sources entry.
func verifiedRelease(t Target, k *keyrings, seen map[string]*release) (*release, error) {
	path := t.inRelease()
	if rel, ok := seen[path]; ok {
		return rel, nil
	}
	keyring, err := k.forEntry(t.SourcesEntry)
	if err != nil {
		return nil, err
	}
	rel, err := readRelease(path, keyring)
	if err != nil {
		return nil, err
	}
	seen[path] = rel
	return rel, nil
}

// add indexes pkgs of the archive's architecture and "all".
func (a *Archive) add(pkgs []*Package) {
	for _, p := range pkgs {
		if p.Architecture != a.arch && p.Architecture != "all" {
			continue
		}
		a.byName[p.Name] = append(a.byName[p.Name], p)
		rel, err := parseDeps(p.Provides)
		if err != nil {
			continue // a malformed Provides provides nothing
		}
		for _, alt := range rel {
			for _, d := range alt {
				a.provides[d.name] = append(a.provides[d.name], provider{pkg: p, version: d.version})
			}
		}
	}
}

// Versions returns the versions of name the sources offer for the
// archive's architecture, newest first.
func (a *Archive) Versions(name string) []*Package {
	return slices.Clone(a.byName[name])
}

// Newest returns the newest version of name offered for arch ("" for
// any), and the security suites that offer it; nil when none is.
func (a *Archive) Newest(name, arch string) (*Package, []*Suite) {
	var newest *Package
	var suites []*Suite
	for _, p := range a.byName[name] {
		if arch != "" && p.Architecture != arch {
			continue
		}
		switch {
		case newest == nil:
			newest = p
		case compare(p.Version, newest.Version) != 0:
			return newest, suites
		}
		if p.Suite.Security {
			suites = append(suites, p.Suite)
		}
	}
	return newest, suites
}

// Arch is the architecture the archive was loaded for.
func (a *Archive) Arch() string { return a.arch }

// compare compares two Debian versions; an unparsable one sorts first.
func compare(x, y string) int {
	vx, errx := version.Parse(x)
	vy, erry := version.Parse(y)
	switch {
	case errx != nil && erry != nil:
		return 0
	case errx != nil:
		return -1
	case erry != nil:
		return 1
	}
	return version.Compare(vx, vy)
}

// Compare compares two Debian versions as dpkg does: negative when x is
// older than y, 0 when equal, positive when newer.
func Compare(x, y string) int { return compare(x, y) }

// ValidVersion reports whether s parses as a Debian version.
func ValidVersion(s string) error {
	if _, err := version.Parse(s); err != nil {
		return fmt.Errorf("%q is not a Debian version: %w", s, err)
	}
	return nil
}
