package unpack

import (
	"archive/tar"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// inode is what the model knows about one file, directory, link or device.
// Hardlinked names share one *inode.
type inode struct {
	typ          byte // one of 'd', 'f', 'l', 'c', 'b'
	mode         uint32
	uid, gid     int
	mtime        time.Time
	hasTime      bool // false for directories created implicitly
	size         int64
	sum          *[32]byte // a file's content, when the model hashes (Verify)
	link         string
	major, minor uint32
	kids         map[string]struct{} // a directory's entries
}

// model applies entries to an in-memory tree. It decides what every entry
// means: Verify compares TARGET with it, and Unpack's disk applier asks it
// where each entry goes and what each whiteout removes (see disk), so the two
// agree by construction. Paths in nodes are canonical: no symlink in them.
type model struct {
	nodes map[string]*inode
	hash  bool // read file contents to hash them (Verify); the disk's model does not
	buf   []byte
	lay   layerState

	// Results of the last call, for the disk applier:
	// parent is the canonical directory the last entry went into;
	parent string
	// target is the canonical path of the last hardlink's target;
	target string
	// hides is what the last whiteout or opaque whiteout removes or resets.
	hides []hideOp
}

// layerState is what the model remembers of the layer being applied, so that
// a whiteout hides what lower layers made and nothing the layer itself wrote,
// whatever the order of its entries (see hide).
type layerState struct {
	// wrote maps the canonical path of each entry of the layer to true and
	// each directory they are in to false.
	wrote map[string]bool
	// through holds the lower layers' symlinks and directories an entry of
	// the layer went through without ending below them (a symlink, a
	// directory left by ".."), and the lower files it hardlinked to.
	through map[string]bool
	// lower maps each path the layer changed to what lower layers left
	// there (nil for nothing).
	lower map[string]*inode
}

// hideOp is one step of a whiteout: remove name and everything below it, or
// (reset) make the directory name what an implicitly created one is.
type hideOp struct {
	name  string
	reset bool
}

// maxLinks is how many symlinks the kernel follows in one lookup
// (MAXSYMLINKS); one more fails with ELOOP.
const maxLinks = 40

func newModel() *model {
	m := newShadow()
	m.hash, m.buf = true, make([]byte, 1<<20)
	return m
}

// newShadow is the model the disk applier consults: it does not read
// file contents.
func newShadow() *model {
	m := &model{nodes: map[string]*inode{"": implicitDir()}}
	m.startLayer(0)
	return m
}

var _ applier = (*model)(nil)

// flush implements applier: the model writes nothing.
func (m *model) flush() error { return nil }

func implicitDir() *inode { return &inode{typ: 'd', mode: 0o755} }

func (m *model) startLayer(int) {
	m.lay = layerState{wrote: map[string]bool{}, through: map[string]bool{}, lower: map[string]*inode{}}
}

// lowerNode is what lower layers left at the canonical path p.
func (m *model) lowerNode(p string) *inode {
	if n, ok := m.lay.lower[p]; ok {
		return n
	}
	return m.nodes[p]
}

// touch records that the layer changes p.
func (m *model) touch(p string) {
	if _, ok := m.lay.lower[p]; !ok {
		m.lay.lower[p] = m.nodes[p]
	}
}

// add puts n at the canonical path p, whose parent is a directory.
func (m *model) add(p string, n *inode) {
	m.touch(p)
	m.nodes[p] = n
	if p == "" {
		return
	}
	dir, base := split(p)
	parent := m.nodes[dir]
	if parent.kids == nil {
		parent.kids = map[string]struct{}{}
	}
	parent.kids[base] = struct{}{}
}

// remove deletes p and everything below it.
func (m *model) remove(p string) {
	n := m.nodes[p]
	if n == nil {
		return
	}
	for k := range n.kids {
		m.remove(join(p, k))
	}
	m.touch(p)
	delete(m.nodes, p)
	dir, base := split(p)
	delete(m.nodes[dir].kids, base)
}

// step says how resolve met a path: entering a directory, following a
// symlink, or leaving a directory by "..".
type step int

const (
	stepEnter step = iota
	stepLink
	stepLeave
)

// resolve follows the clean directory name inside the root as
// openat2(RESOLVE_IN_ROOT) does: each symlink is followed, an absolute target
// starts again at the root, ".." never climbs above it. It looks paths up
// with node and calls visit (when not nil) for each step, and returns the
// canonical path. A missing directory is an os.ErrNotExist error unless
// create is set: then the canonical path ends with the directories to create.
func (m *model) resolve(name string, create bool, node func(string) *inode, visit func(string, step)) (string, error) {
	cur, todo, links := "", name, 0
	for todo != "" {
		var c string
		c, todo = cut(todo)
		switch c {
		case "", ".":
			continue
		case "..":
			if cur != "" && visit != nil {
				visit(cur, stepLeave)
			}
			cur, _ = split(cur)
			continue
		}
		if len(c) > maxNameLen {
			return "", fmt.Errorf("%w: %q: a component is longer than %d bytes", ErrUnsafePath, name, maxNameLen)
		}
		p := join(cur, c)
		n := node(p)
		switch {
		case n == nil && create:
			return missing(name, p, todo)
		case n == nil:
			return "", fmt.Errorf("%q: %w", name, os.ErrNotExist)
		case n.typ == 'l':
			if links++; links > maxLinks {
				return "", fmt.Errorf("%w: %q: too many levels of symlinks", ErrUnsafePath, name)
			}
			if visit != nil {
				visit(p, stepLink)
			}
			if n.link[0] == '/' {
				cur = ""
			}
			todo = n.link + "/" + todo
		case n.typ == 'd':
			if visit != nil {
				visit(p, stepEnter)
			}
			cur = p
		default:
			return "", fmt.Errorf("%w: %q is not a directory", ErrUnsafePath, name)
		}
	}
	return cur, nil
}

// missing returns the canonical path p/rest of directories to create below
// the first missing one, p: rest may hold no "..".
func missing(name, p, rest string) (string, error) {
	for rest != "" {
		var c string
		c, rest = cut(rest)
		switch {
		case c == "" || c == ".":
			continue
		case c == "..":
			return "", fmt.Errorf("%w: %q leads through the missing directory %q and then \"..\"", ErrUnsafePath, name, p)
		case len(c) > maxNameLen:
			return "", fmt.Errorf("%w: %q: a component is longer than %d bytes", ErrUnsafePath, name, maxNameLen)
		}
		p = join(p, c)
	}
	return p, nil
}

// cut splits off the first component of a slash-separated path.
func cut(s string) (string, string) {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

// at resolves the parent of the entry name, creating missing directories,
// and returns the entry's canonical path. What the entry went through is
// recorded for hide.
func (m *model) at(name string) (string, error) {
	dir, base := split(name)
	cdir, err := m.resolve(dir, true, m.node, m.goThrough)
	if err != nil {
		return "", err
	}
	if len(cdir)+1+len(base) > maxPathLen {
		return "", fmt.Errorf("%w: %q resolves to a path longer than %d bytes", ErrUnsafePath, name, maxPathLen)
	}
	for i := 0; i <= len(cdir); i++ {
		if (i == len(cdir) || cdir[i] == '/') && m.nodes[cdir[:i]] == nil {
			m.add(cdir[:i], implicitDir())
		}
	}
	m.parent = cdir
	return join(cdir, base), nil
}

func (m *model) node(p string) *inode { return m.nodes[p] }

func (m *model) goThrough(p string, s step) {
	if _, mine := m.lay.wrote[p]; !mine && s != stepEnter {
		m.lay.through[p] = true
	}
}

// wrote records the entry at the canonical path p as the layer's, and the
// directories it is in.
func (m *model) wrote(p string) {
	m.lay.wrote[p] = true
	for p != "" {
		p, _ = split(p)
		if _, ok := m.lay.wrote[p]; ok {
			return
		}
		m.lay.wrote[p] = false
	}
}

// place makes room at the canonical path p for a new entry: what is there
// is removed, unless it is a directory and keepDir is set (it is returned).
func (m *model) place(p string, keepDir bool) *inode {
	n := m.nodes[p]
	if n != nil && n.typ == 'd' && keepDir {
		return n
	}
	m.remove(p)
	return nil
}

func meta(n *inode, h *tar.Header) {
	n.mode, n.uid, n.gid = perm(h), h.Uid, h.Gid
	n.mtime, n.hasTime = h.ModTime, true
}

func (m *model) dir(name string, h *tar.Header) error {
	p := ""
	if name != "" {
		var err error
		if p, err = m.at(name); err != nil {
			return err
		}
	}
	n := m.place(p, true)
	if n == nil {
		n = &inode{typ: 'd'}
		m.add(p, n)
	}
	meta(n, h)
	m.wrote(p)
	return nil
}

func (m *model) file(name string, h *tar.Header, r io.Reader) error {
	p, err := m.at(name)
	if err != nil {
		return err
	}
	m.place(p, false)
	n := &inode{typ: 'f'}
	if m.hash {
		hs := sha256.New()
		if n.size, err = io.CopyBuffer(hs, r, m.buf); err != nil {
			return err
		}
		n.sum = (*[32]byte)(hs.Sum(nil))
	}
	meta(n, h)
	m.add(p, n)
	m.wrote(p)
	return nil
}

func (m *model) symlink(name string, h *tar.Header) error {
	p, err := m.at(name)
	if err != nil {
		return err
	}
	m.place(p, false)
	n := &inode{typ: 'l', link: h.Linkname}
	meta(n, h)
	n.mode = 0o777
	m.add(p, n)
	m.wrote(p)
	return nil
}

// hardlink links name to target, which must resolve inside the root to an
// existing regular file: the disk applier opens target's directory (with
// the kernel following symlinks inside the root), then links name, making
// room for it first when something is there (see disk.place); the model
// resolves the target, then replaces name. The order differs only where
// name and target meet, and those cases (a link to itself, a target removed
// by its own entry) are refused here before the disk does anything.
func (m *model) hardlink(name, target string, h *tar.Header) error {
	tdir, tbase := split(target)
	tcdir, err := m.resolve(tdir, false, m.node, m.goThrough)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: hardlink target %q does not exist", ErrUnsafePath, target)
	}
	if err != nil {
		return fmt.Errorf("hardlink target: %w", err)
	}
	tp := join(tcdir, tbase)
	if t := m.nodes[tp]; t == nil || t.typ != 'f' {
		return fmt.Errorf("%w: hardlink target %q is not an existing regular file", ErrUnsafePath, target)
	}
	p, err := m.at(name)
	if err != nil {
		return err
	}
	if p == tp {
		return fmt.Errorf("%w: hardlink to itself", ErrUnsafePath)
	}
	m.place(p, false)
	t := m.nodes[tp]
	if t == nil {
		return fmt.Errorf("%w: hardlink to %q: removed by its own entry", ErrUnsafePath, target)
	}
	if _, mine := m.lay.wrote[tp]; !mine {
		m.lay.through[tp] = true
	}
	m.target = tp
	m.add(p, t)
	m.wrote(p)
	return nil
}

func (m *model) device(name string, h *tar.Header) error {
	p, err := m.at(name)
	if err != nil {
		return err
	}
	m.place(p, false)
	n := &inode{typ: 'c', major: uint32(h.Devmajor), minor: uint32(h.Devminor)}
	if h.Typeflag == tar.TypeBlock {
		n.typ = 'b'
	}
	meta(n, h)
	m.add(p, n)
	m.wrote(p)
	return nil
}
