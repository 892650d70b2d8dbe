package unpack

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"
)

// whiteout hides name and everything below it (see hide).
func (m *model) whiteout(name string) error {
	dir, base := split(name)
	return m.hide(dir, base)
}

// opaque hides the children of dir (see hide).
func (m *model) opaque(dir string) error { return m.hide(dir, "") }

// hide carries out the whiteout of base in dir, or the opaque whiteout of
// dir when base is "". The OCI image spec says that a whiteout hides what
// lower layers made and never what its own layer wrote, whatever the order
// of the layer's entries. So hide removes what is there and was not written
// by the layer, keeps what the layer wrote, and turns the lower directories
// the layer only wrote into (now hidden, they stand only as parents of new
// entries) into what a directory created implicitly is.
//
// The spec's dir is a path of the tree lower layers left; docker, containerd
// and umoci resolve it in the tree as it is when they meet the whiteout. The
// two differ only when an earlier entry of the layer changed a symlink on
// the way: a whiteout whose effect would differ is refused (ErrCorrupt)
// rather than guessed at. So is a whiteout that would remove a symlink or
// directory an earlier entry of the layer went through, or a file it
// hardlinked to: that entry would have landed elsewhere, or failed, had the
// whiteout come first.
func (m *model) hide(dir, base string) error {
	m.hides = nil
	lc, lerr := m.resolve(dir, false, m.lowerNode, nil)
	nc, nerr := m.resolve(dir, false, m.node, nil)
	for _, err := range []error{lerr, nerr} {
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("whiteout: %w", err)
		}
	}
	var ops []hideOp
	if lerr == nil {
		if t := m.throughIn(lc, base); t != "" {
			return fmt.Errorf("%w: whiteout hides %q, which an earlier entry of the same layer went through or linked to", ErrCorrupt, t)
		}
		ops = m.plan(lc, base)
	}
	if lerr != nil || nerr != nil || lc != nc {
		var now []hideOp
		if nerr == nil {
			now = m.plan(nc, base)
		}
		if !slices.Equal(ops, now) {
			return fmt.Errorf("%w: whiteout depends on the order of its layer's entries: %q is %s in the lower layers and %s after the entries before it",
				ErrCorrupt, dir, shown(lc, lerr), shown(nc, nerr))
		}
	}
	for _, op := range ops {
		if !op.reset {
			m.remove(op.name)
			continue
		}
		n := m.nodes[op.name]
		n.mode, n.uid, n.gid, n.mtime, n.hasTime = 0o755, 0, 0, time.Time{}, false
	}
	m.hides = ops
	return nil
}

// throughIn returns the first path (in sort order) of the lower layers'
// tree that an earlier entry of the layer went through or linked to (see
// layerState.through) and that hiding base in dir (its children when base
// is "") hides, or "". Whether the path is still there does not matter: had
// the whiteout come first, as the spec means, that entry would have landed
// elsewhere or failed.
func (m *model) throughIn(dir, base string) string {
	prefix := dir + "/"
	if base != "" {
		prefix = join(dir, base)
	} else if dir == "" {
		prefix = ""
	}
	found := ""
	for t := range m.lay.through {
		in := strings.HasPrefix(t, prefix) && t != dir
		if base != "" {
			in = t == prefix || strings.HasPrefix(t, prefix+"/")
		}
		if in && (found == "" || t < found) {
			found = t
		}
	}
	return found
}

func shown(canon string, err error) string {
	if err != nil {
		return "missing"
	}
	return fmt.Sprintf("%q", "/"+canon)
}

// plan lists what hiding base in the canonical directory dir (its children
// when base is "") does to the tree as it is now.
func (m *model) plan(dir, base string) []hideOp {
	var ops []hideOp
	var walk func(p string)
	walk = func(p string) {
		written, mine := m.lay.wrote[p]
		if !mine {
			ops = append(ops, hideOp{name: p})
			return
		}
		n := m.nodes[p]
		if n.typ != 'd' {
			return
		}
		if !written {
			ops = append(ops, hideOp{name: p, reset: true})
		}
		for _, k := range slices.Sorted(maps.Keys(n.kids)) {
			walk(join(p, k))
		}
	}
	if base != "" {
		if m.nodes[join(dir, base)] != nil {
			walk(join(dir, base))
		}
		return ops
	}
	if n := m.nodes[dir]; n != nil && n.typ == 'd' {
		for _, k := range slices.Sorted(maps.Keys(n.kids)) {
			walk(join(dir, k))
		}
	}
	return ops
}
