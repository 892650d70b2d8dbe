package apt

import (
	"fmt"
	"strings"

	"pault.ag/go/debian/dependency"
)

// dep is one possibility of a dependency: a package name, and the version
// relation it must meet (op "" for any version).
type dep struct {
	name, op, version string
}

func (d dep) String() string {
	if d.op == "" {
		return d.name
	}
	return fmt.Sprintf("%s (%s %s)", d.name, d.op, d.version)
}

// parseDeps parses a Depends-style field into relations that must all
// hold, each met by any of its possibilities. Architecture qualifiers
// (:any, :native) are dropped: the closure is of one architecture.
func parseDeps(field string) (rels [][]dep, err error) {
	if strings.TrimSpace(field) == "" {
		return nil, nil
	}
	defer func() {
		if r := recover(); r != nil {
			rels, err = nil, fmt.Errorf("malformed dependency %q", field)
		}
	}()
	d, err := dependency.Parse(field)
	if err != nil {
		return nil, fmt.Errorf("dependency %q: %w", field, err)
	}
	for _, r := range d.Relations {
		var alts []dep
		for _, p := range r.Possibilities {
			x := dep{name: p.Name}
			if p.Version != nil {
				x.op, x.version = p.Version.Operator, p.Version.Number
			}
			alts = append(alts, x)
		}
		if len(alts) > 0 {
			rels = append(rels, alts)
		}
	}
	return rels, nil
}

// satisfies reports whether version v meets the relation op ref.
func satisfies(v, op, ref string) bool {
	c := compare(v, ref)
	switch op {
	case "":
		return true
	case "<<":
		return c < 0
	case "<=", "<":
		return c <= 0
	case "=":
		return c == 0
	case ">=", ">":
		return c >= 0
	case ">>":
		return c > 0
	}
	return false
}
