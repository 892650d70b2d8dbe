package apt

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Request is one package asked for: a name and, to pin it, a version.
type Request struct {
	Name, Version string
}

func (r Request) String() string {
	if r.Version == "" {
		return r.Name
	}
	return r.Name + "=" + r.Version
}

// ParseRequest reads a request in apt's syntax: "NAME" or "NAME=VERSION".
func ParseRequest(s string) (Request, error) {
	name, ver, pinned := strings.Cut(s, "=")
	if !validName(name) {
		return Request{}, fmt.Errorf("%q is not a Debian package name (lowercase letters, digits, + - ., from 2 characters)", name)
	}
	if pinned {
		if err := ValidVersion(ver); err != nil || strings.ContainsAny(ver, " \t\n") {
			return Request{}, fmt.Errorf("%q: %q is not a Debian version", s, ver)
		}
	}
	return Request{Name: name, Version: ver}, nil
}

// ErrUnsatisfiable is matched by a resolution that no choice of versions
// satisfies.
var ErrUnsatisfiable = errors.New("unsatisfiable")

// constraint is a version relation a package must meet, and who asks.
type constraint struct {
	op, version, from string
}

// maxPasses bounds the resolution: each pass starts again from the
// requests with the constraints the previous one found, until nothing
// changes (two or three passes in practice).
const maxPasses = 20

// Resolve returns the packages that reqs need for the archive's
// architecture, by name: each request and the closure of its Depends and
// Pre-Depends, one version of each package, the newest that every
// constraint on it allows. See the package documentation.
func (a *Archive) Resolve(reqs []Request) ([]*Package, error) {
	r := &resolver{a: a, reqs: reqs}
	var prev map[string]*Package
	for range maxPasses {
		cur, err := r.pass(prev)
		if err != nil {
			return nil, err
		}
		if maps.Equal(prev, cur) {
			return sorted(cur), nil
		}
		prev = cur
	}
	return nil, fmt.Errorf("resolving %v: no stable choice after %d passes: %w", reqs, maxPasses, ErrUnsatisfiable)
}

func sorted(m map[string]*Package) []*Package {
	out := make([]*Package, 0, len(m))
	for _, name := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[name])
	}
	return out
}

type resolver struct {
	a    *Archive
	reqs []Request
}

// pass chooses packages breadth-first from the requests: constraints on a
// name come from the requests' pins, from the dependencies of what the
// previous pass chose, and from those of what this pass chose so far.
func (r *resolver) pass(prev map[string]*Package) (map[string]*Package, error) {
	cons := map[string][]constraint{}
	var queue []string
	for _, req := range r.reqs {
		if req.Version != "" {
			cons[req.Name] = append(cons[req.Name], constraint{op: "=", version: req.Version, from: "the recipe's packages"})
		}
		queue = append(queue, req.Name)
	}
	for _, name := range slices.Sorted(maps.Keys(prev)) {
		if _, err := r.needs(prev[name], prev, nil, cons); err != nil {
			return nil, err
		}
	}
	cur := map[string]*Package{}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if cur[name] != nil {
			continue
		}
		p, err := r.choose(name, cons[name])
		if err != nil {
			return nil, err
		}
		cur[name] = p
		names, err := r.needs(p, cur, prev, cons)
		if err != nil {
			return nil, err
		}
		queue = append(queue, names...)
	}
	return cur, nil
}

// needs adds the constraints of p's Pre-Depends and Depends to cons and
// returns the names they need: for each relation, the first possibility
// already chosen (in chosen or, failing that, also) that meets it, else
// the first the archive can meet; a virtual name becomes its provider.
func (r *resolver) needs(p *Package, chosen, also map[string]*Package, cons map[string][]constraint) ([]string, error) {
	var names []string
	from := p.Name + " " + p.Version
	for _, field := range []string{p.PreDepends, p.Depends} {
		rels, err := parseDeps(field)
		if err != nil {
			return nil, fmt.Errorf("%s (%s): %w", from, p.Suite, err)
		}
		for _, alts := range rels {
			d, err := r.pick(alts, chosen, also)
			if err != nil {
				return nil, fmt.Errorf("%s depends on %s: %w", from, joinDeps(alts), err)
			}
			if d.op != "" {
				cons[d.name] = append(cons[d.name], constraint{op: d.op, version: d.version, from: from})
			}
			names = append(names, d.name)
		}
	}
	return names, nil
}

func joinDeps(alts []dep) string {
	var s []string
	for _, d := range alts {
		s = append(s, d.String())
	}
	return strings.Join(s, " | ")
}

// pick chooses the possibility of a relation to follow, as a real
// package name with the version relation it must meet.
func (r *resolver) pick(alts []dep, chosen, also map[string]*Package) (dep, error) {
	for _, m := range []map[string]*Package{chosen, also} {
		for _, d := range alts {
			if p := m[d.name]; p != nil && satisfies(p.Version, d.op, d.version) {
				return d, nil
			}
			if pr, ok := r.chosenProvider(d, m); ok {
				return dep{name: pr.pkg.Name}, nil
			}
		}
	}
	for _, d := range alts {
		for _, p := range r.a.byName[d.name] {
			if satisfies(p.Version, d.op, d.version) {
				return d, nil
			}
		}
		if pr, ok := r.bestProvider(d); ok {
			return dep{name: pr.pkg.Name}, nil
		}
	}
	return dep{}, fmt.Errorf("no package offered meets it: %w", ErrUnsatisfiable)
}

// providers returns the providers of a virtual name that meet d's version
// relation (an unversioned Provides meets only an unversioned dependency).
func (r *resolver) providers(d dep) []provider {
	var out []provider
	for _, pr := range r.a.provides[d.name] {
		if d.op == "" || pr.version != "" && satisfies(pr.version, d.op, d.version) {
			out = append(out, pr)
		}
	}
	return out
}

func (r *resolver) chosenProvider(d dep, m map[string]*Package) (provider, bool) {
	for _, pr := range r.providers(d) {
		if m[pr.pkg.Name] == pr.pkg {
			return pr, true
		}
	}
	return provider{}, false
}

// priorities ranks the Priority field: apt prefers required providers.
var priorities = map[string]int{"required": 5, "important": 4, "standard": 3, "optional": 2, "extra": 1}

// bestProvider picks a provider of a virtual name: a requested one, else
// the one of highest Priority, then first by name.
func (r *resolver) bestProvider(d dep) (provider, bool) {
	prs := r.providers(d)
	if len(prs) == 0 {
		return provider{}, false
	}
	for _, pr := range prs {
		for _, req := range r.reqs {
			if req.Name == pr.pkg.Name {
				return pr, true
			}
		}
	}
	best := prs[0]
	for _, pr := range prs[1:] {
		pb, pp := priorities[best.pkg.Priority], priorities[pr.pkg.Priority]
		if pp > pb || pp == pb && pr.pkg.Name < best.pkg.Name {
			best = pr
		}
	}
	return best, true
}

// choose returns the newest version of name that meets every constraint.
func (r *resolver) choose(name string, cons []constraint) (*Package, error) {
	vs := r.a.byName[name]
	for _, p := range vs {
		if meetsAll(p.Version, cons) {
			return p, nil
		}
	}
	var offered, wants []string
	for _, p := range vs {
		offered = append(offered, p.Version+" ("+p.Suite.String()+")")
	}
	for _, c := range cons {
		wants = append(wants, fmt.Sprintf("%s %s (%s)", c.op, c.version, c.from))
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("%s: not offered by apt's sources for %s: %w", name, r.a.arch, ErrUnsatisfiable)
	}
	return nil, fmt.Errorf("%s: no version offered is %s; offered: %s: %w",
		name, strings.Join(wants, " and "), strings.Join(offered, ", "), ErrUnsatisfiable)
}

func meetsAll(v string, cons []constraint) bool {
	for _, c := range cons {
		if !satisfies(v, c.op, c.version) {
			return false
		}
	}
	return true
}
