package apt

import (
	"fmt"

	"github.com/jailimg/jailimg/pkg/lock"
)

// Lock resolves requests (a recipe's packages: NAME or NAME=VERSION) and
// returns their lock: every package of the closure with its version,
// architecture, .deb SHA256 and size from the signed index, and where apt
// found it.
func (a *Archive) Lock(requests []string) (*lock.Lock, error) {
	var reqs []Request
	for _, s := range requests {
		r, err := ParseRequest(s)
		if err != nil {
			return nil, err
		}
		reqs = append(reqs, r)
	}
	pkgs, err := a.Resolve(reqs)
	if err != nil {
		return nil, fmt.Errorf("resolving %v for %s: %w", requests, a.arch, err)
	}
	l := &lock.Lock{Format: lock.Format, Architecture: a.arch, Requests: requests}
	for _, p := range pkgs {
		l.Packages = append(l.Packages, lock.Package{
			Name: p.Name, Version: p.Version, Architecture: p.Architecture, SHA256: p.SHA256, Size: p.Size,
			URL: p.URL(), Suite: p.Suite.String(),
		})
	}
	return l, nil
}
