// Package outdated tells which Debian packages a jail carries are behind
// what apt's sources offer now: the jail's own record of its packages (the
// status.d paragraphs that jailimg build writes with dpkg: true, as
// distroless images do), read from an image or an unpacked jail, against
// the newest version of each package the verified indexes offer (package
// apt), and whether a security suite offers it.
//
// Reading a jail's record is reading hostile input: at most MaxPackages
// files of at most 1 MiB each, read inside the jail's root (an os.Root:
// no symlink leads out of it) or from the image's layers, malformed
// paragraphs named by file.
package outdated

import (
	"fmt"
	"sort"
	"strings"

	"github.com/jailimg/jailimg/pkg/apt"
	"github.com/jailimg/jailimg/pkg/dpkg"
)

// MaxPackages bounds the status.d files read from one jail.
const MaxPackages = 10000

// maxParagraph bounds one status.d file.
const maxParagraph = 1 << 20

// Package is one package a jail records.
type Package struct {
	Name         string `json:"name"`
	Architecture string `json:"architecture"`
	Version      string `json:"version"`
}

// Finding is a recorded package with a newer version offered.
type Finding struct {
	Package
	// Newest is the newest version apt's sources offer.
	Newest string `json:"newest"`
	// Security is set when a security suite offers it, listed in Suites.
	Security bool     `json:"security"`
	Suites   []string `json:"suites,omitempty"`
}

func (f Finding) String() string {
	s := fmt.Sprintf("%s\t%s\t%s -> %s", f.Name, f.Architecture, f.Version, f.Newest)
	if f.Security {
		s += "\tsecurity (" + strings.Join(f.Suites, ", ") + ")"
	}
	return s
}

// parse reads one status.d file: the paragraph of one package.
func parse(name string, data []byte) (Package, error) {
	paras, err := dpkg.Paragraphs(name, data)
	if err != nil {
		return Package{}, err
	}
	if len(paras) != 1 {
		return Package{}, fmt.Errorf("/%s: %d paragraphs, want 1", name, len(paras))
	}
	f := paras[0].Fields
	p := Package{Name: f["Package"], Architecture: f["Architecture"], Version: f["Version"]}
	if p.Name == "" || p.Version == "" || p.Architecture == "" || apt.ValidVersion(p.Version) != nil {
		return Package{}, fmt.Errorf("/%s: want Package, Version and Architecture fields", name)
	}
	return p, nil
}

// Check returns the recorded packages that a has a newer version of,
// sorted by name. A package a does not offer at all is not a finding.
func Check(recorded []Package, a *apt.Archive) []Finding {
	var out []Finding
	for _, p := range recorded {
		arch := p.Architecture
		newest, sec := a.Newest(p.Name, arch)
		if newest == nil || apt.Compare(newest.Version, p.Version) <= 0 {
			continue
		}
		f := Finding{Package: p, Newest: newest.Version, Security: len(sec) > 0}
		for _, s := range sec {
			f.Suites = append(f.Suites, s.String())
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
