package tree

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// Type is the kind of an entry.
type Type uint8

// The kinds of entry a jail holds.
const (
	Dir Type = iota
	Reg
	Symlink
	CharDev
	BlockDev
)

func (t Type) String() string {
	return [...]string{"dir", "file", "symlink", "char device", "block device"}[t]
}

// FileID identifies a host file, so that paths sharing one inode can be
// stored as hardlinks. The zero FileID means "not a host file".
type FileID struct{ Dev, Ino uint64 }

// Entry is one path of the jail.
type Entry struct {
	Path   string // absolute and clean, e.g. "/usr/bin/bash"
	Type   Type
	Mode   fs.FileMode // permission bits plus fs.ModeSetuid, ModeSetgid, ModeSticky
	UID    uint32
	GID    uint32
	Target string // symlink target, as stored
	Major  uint32 // device numbers
	Minor  uint32
	Size   int64 // regular files: the byte count Open yields
	// Open returns the contents of a regular file.
	Open func() (io.ReadCloser, error)
	// ID is the host file's identity, for hardlink detection.
	ID FileID
	// Source says where the entry came from, for errors: a host path or a recipe key.
	Source string

	implicit bool // a parent directory created on demand
}

// ErrDuplicate is returned by Add for a path already claimed differently.
var ErrDuplicate = errors.New("duplicate destination")

// Tree is a jail's contents. The zero value is not usable; call New.
type Tree struct {
	entries map[string]*Entry
}

// New returns a tree holding only the root directory, mode 0755, owned by 0:0.
func New() *Tree {
	return &Tree{entries: map[string]*Entry{"/": {Path: "/", Type: Dir, Mode: 0o755, implicit: true}}}
}

// Add puts e in the tree, creating missing parent directories with mode 0755
// owned by 0:0. A directory given explicitly replaces one created on demand.
// Adding an entry equal to one already there is a no-op; adding a different
// one at the same path is ErrDuplicate, naming both sources.
func (t *Tree) Add(e Entry) error {
	if !path.IsAbs(e.Path) || path.Clean(e.Path) != e.Path {
		return fmt.Errorf("%s: jail path %q is not absolute and clean", e.Source, e.Path)
	}
	if old, ok := t.entries[e.Path]; ok {
		switch {
		case old.implicit && e.Type == Dir:
			e.implicit = false
			t.entries[e.Path] = &e
			return nil
		case e.Type == Dir && e.implicit:
			if old.Type != Dir {
				return fmt.Errorf("%s: %s needs %s to be a directory, but %s made it a %s: %w", e.Source, e.Path, e.Path, old.Source, old.Type, ErrDuplicate)
			}
			return nil
		case same(old, &e):
			return nil
		}
		return fmt.Errorf("%s: %s is already added by %s: %w", e.Source, e.Path, old.Source, ErrDuplicate)
	}
	if e.Path != "/" {
		parent := path.Dir(e.Path)
		if err := t.Add(Entry{Path: parent, Type: Dir, Mode: 0o755, Source: e.Source, implicit: true}); err != nil {
			return err
		}
	}
	t.entries[e.Path] = &e
	return nil
}

// same reports whether two entries would produce identical jail contents.
func same(a, b *Entry) bool {
	if a.Type != b.Type || a.Mode != b.Mode || a.UID != b.UID || a.GID != b.GID ||
		a.Target != b.Target || a.Major != b.Major || a.Minor != b.Minor {
		return false
	}
	// Regular files are the same only when they are the same host file.
	return a.Type != Reg || (a.ID != (FileID{}) && a.ID == b.ID)
}

// Get returns the entry at p.
func (t *Tree) Get(p string) (*Entry, bool) {
	e, ok := t.entries[p]
	return e, ok
}

// Len returns the number of entries, the root included.
func (t *Tree) Len() int { return len(t.entries) }

// Walk returns every entry, the root first, each directory before what it
// holds, siblings in byte order of their names.
func (t *Tree) Walk() []*Entry {
	out := make([]*Entry, 0, len(t.entries))
	for _, e := range t.entries {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return less(out[i].Path, out[j].Path) })
	return out
}

// less orders paths component by component, so "/a/b" sorts right after "/a"
// and before "/a-b".
func less(a, b string) bool {
	for a != "" && b != "" {
		var ca, cb string
		ca, a, _ = strings.Cut(a, "/")
		cb, b, _ = strings.Cut(b, "/")
		if ca != cb {
			return ca < cb
		}
	}
	return a == "" && b != ""
}
