package unpack

import (
	"archive/tar"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"strings"
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
	sum          [32]byte
	link         string
	major, minor uint32
}

// model applies entries to an in-memory tree with the same semantics as
// disk, so that Verify can say what TARGET should hold.
type model struct {
	nodes map[string]*inode
	buf   []byte
}

func newModel() *model {
	return &model{nodes: map[string]*inode{"": implicitDir()}, buf: make([]byte, 1<<20)}
}

var _ applier = (*model)(nil)

func implicitDir() *inode { return &inode{typ: 'd', mode: 0o755} }

// walk checks that dir and its ancestors are directories, creating missing
// ones when create is set, as disk.parent and disk.openDir do.
func (m *model) walk(dir string, create bool) error {
	if dir == "" {
		return nil
	}
	for i := 0; i <= len(dir); i++ {
		if i < len(dir) && dir[i] != '/' {
			continue
		}
		p := dir[:i]
		n := m.nodes[p]
		switch {
		case n == nil && create:
			m.nodes[p] = implicitDir()
		case n == nil:
			return fmt.Errorf("%q: %w", dir, os.ErrNotExist)
		case n.typ == 'l':
			return fmt.Errorf("%w: %q is a symlink or goes through one", ErrUnsafePath, dir)
		case n.typ != 'd':
			return fmt.Errorf("%w: %q is not a directory", ErrUnsafePath, dir)
		}
	}
	return nil
}

// remove deletes name and everything below it.
func (m *model) remove(name string) {
	n := m.nodes[name]
	if n == nil {
		return
	}
	delete(m.nodes, name)
	if n.typ == 'd' {
		prefix := name + "/"
		for k := range m.nodes {
			if strings.HasPrefix(k, prefix) {
				delete(m.nodes, k)
			}
		}
	}
}

// place prepares name for a new entry the way disk does: parents created,
// an existing entry removed unless it is a directory and keepDir is set.
func (m *model) place(name string, keepDir bool) (*inode, error) {
	dir, _ := split(name)
	if err := m.walk(dir, true); err != nil {
		return nil, err
	}
	if n := m.nodes[name]; n != nil && n.typ == 'd' && keepDir {
		return n, nil
	}
	m.remove(name)
	return nil, nil
}

func meta(n *inode, h *tar.Header) {
	n.mode, n.uid, n.gid = perm(h), h.Uid, h.Gid
	n.mtime, n.hasTime = h.ModTime, true
}

func (m *model) dir(name string, h *tar.Header) error {
	n, err := m.place(name, true)
	if err != nil {
		return err
	}
	if n == nil {
		n = &inode{typ: 'd'}
		m.nodes[name] = n
	}
	meta(n, h)
	return nil
}

func (m *model) file(name string, h *tar.Header, r io.Reader) error {
	if _, err := m.place(name, false); err != nil {
		return err
	}
	hs := sha256.New()
	size, err := io.CopyBuffer(hs, r, m.buf)
	if err != nil {
		return err
	}
	n := &inode{typ: 'f', size: size}
	hs.Sum(n.sum[:0])
	meta(n, h)
	m.nodes[name] = n
	return nil
}

func (m *model) symlink(name string, h *tar.Header) error {
	if _, err := m.place(name, false); err != nil {
		return err
	}
	n := &inode{typ: 'l', link: h.Linkname}
	meta(n, h)
	n.mode = 0o777
	m.nodes[name] = n
	return nil
}

func (m *model) hardlink(name, target string, h *tar.Header) error {
	tdir, _ := split(target)
	if err := m.walk(tdir, false); err != nil {
		return fmt.Errorf("%w: hardlink target: %w", ErrUnsafePath, err)
	}
	if t := m.nodes[target]; t == nil || t.typ != 'f' {
		return fmt.Errorf("%w: hardlink target %q is not an existing regular file", ErrUnsafePath, target)
	}
	if _, err := m.place(name, false); err != nil {
		return err
	}
	t := m.nodes[target]
	if t == nil {
		return fmt.Errorf("%w: hardlink to %q: removed by its own entry", ErrUnsafePath, target)
	}
	m.nodes[name] = t
	return nil
}

func (m *model) device(name string, h *tar.Header) error {
	if _, err := m.place(name, false); err != nil {
		return err
	}
	n := &inode{typ: 'c', major: uint32(h.Devmajor), minor: uint32(h.Devminor)}
	if h.Typeflag == tar.TypeBlock {
		n.typ = 'b'
	}
	meta(n, h)
	m.nodes[name] = n
	return nil
}

func (m *model) whiteout(name string) error {
	dir, _ := split(name)
	if err := m.walk(dir, false); err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return fmt.Errorf("whiteout: %w", err)
	}
	m.remove(name)
	return nil
}

func (m *model) opaque(dir string, keep func(string) bool) error {
	if err := m.walk(dir, false); err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return fmt.Errorf("opaque whiteout: %w", err)
	}
	if n := m.nodes[dir]; n == nil {
		return nil
	} else if n.typ == 'l' {
		return fmt.Errorf("opaque whiteout: %w: %q is a symlink or goes through one", ErrUnsafePath, dir)
	} else if n.typ != 'd' {
		return fmt.Errorf("opaque whiteout: %w: %q is not a directory", ErrUnsafePath, dir)
	}
	prefix := dir + "/"
	if dir == "" {
		prefix = ""
	}
	var victims []string
	for k := range m.nodes {
		if k == "" || !strings.HasPrefix(k, prefix) || strings.Contains(k[len(prefix):], "/") {
			continue
		}
		if !keep(k) {
			victims = append(victims, k)
		}
	}
	for _, k := range victims {
		m.remove(k)
	}
	return nil
}
