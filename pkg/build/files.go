package build

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"strings"

	"github.com/jailimg/jailimg/pkg/recipe"
	"github.com/jailimg/jailimg/pkg/tree"
)

// files copies the recipe's files and directory trees.
func (b *builder) files(ctx context.Context) error {
	for i, f := range b.r.Files {
		key := b.r.Where(fmt.Sprintf("files[%d]", i))
		fsys, name := b.source(f)
		top, err := b.hostEntry(fsys, name, f.Dst, key+": "+f.Src)
		if err != nil {
			return err
		}
		b.own(&top, f.Mode, f.Owner, f.Group)
		if err := b.t.Add(top); err != nil {
			return err
		}
		closure := f.WantsClosure() && fsys == fs.FS(b.host)
		if top.Type != tree.Dir {
			if closure && top.Type == tree.Reg {
				if err := b.noteELF(name, key); err != nil {
					return err
				}
			}
			continue
		}
		err = fs.WalkDir(fsys, name, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			if p == name {
				return ctx.Err()
			}
			dst := path.Join(f.Dst, strings.TrimPrefix(p, name+"/"))
			e, err := b.treeEntry(fsys, p, d, dst, key+": "+p)
			if err != nil {
				return err
			}
			b.own(&e, nil, f.Owner, f.Group)
			if err := b.t.Add(e); err != nil || !closure || e.Type != tree.Reg {
				return err
			}
			return b.noteELF(p, key)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// source returns the file system a files[].src lives in and its name there:
// for an absolute path the Source's root, or the build host's for from:
// host; the recipe's directory (which a relative path, symlinks included,
// cannot leave) otherwise.
func (b *builder) source(f recipe.File) (fs.FS, string) {
	src := f.Src
	switch {
	case !filepath.IsAbs(src):
		return b.local, filepath.ToSlash(filepath.Clean(src))
	case f.From == "host":
		return b.other, strings.TrimPrefix(filepath.ToSlash(src), "/")
	}
	return b.host, strings.TrimPrefix(filepath.ToSlash(src), "/")
}

// treeEntry describes one entry met while copying a directory: symlinks are
// kept as symlinks, everything else as hostEntry says.
func (b *builder) treeEntry(fsys fs.FS, p string, d fs.DirEntry, dst, source string) (tree.Entry, error) {
	if d.Type()&fs.ModeSymlink == 0 {
		return b.hostEntry(fsys, p, dst, source)
	}
	target, err := fs.ReadLink(fsys, p)
	if err != nil {
		return tree.Entry{}, fmt.Errorf("%s: %w", source, err)
	}
	return tree.Entry{Path: dst, Type: tree.Symlink, Target: target, Source: source}, nil
}

func (b *builder) dirs(context.Context) error {
	for i, d := range b.r.Dirs {
		e := tree.Entry{Path: d.Path, Type: tree.Dir, Mode: 0o755, Source: b.r.Where(fmt.Sprintf("dirs[%d]", i))}
		b.own(&e, d.Mode, d.Owner, d.Group)
		if err := b.t.Add(e); err != nil {
			return err
		}
	}
	return nil
}

func (b *builder) symlinks(context.Context) error {
	for i, s := range b.r.Symlinks {
		e := tree.Entry{Path: s.Path, Type: tree.Symlink, Target: s.Target, Source: b.r.Where(fmt.Sprintf("symlinks[%d]", i))}
		if err := b.t.Add(e); err != nil {
			return err
		}
	}
	return nil
}

func (b *builder) devices(context.Context) error {
	for i, d := range b.r.Devices {
		e := tree.Entry{Path: d.Path, Type: tree.CharDev, Major: d.Major, Minor: d.Minor, Source: b.r.Where(fmt.Sprintf("devices[%d]", i))}
		if d.Type == "block" {
			e.Type = tree.BlockDev
		}
		b.own(&e, d.Mode, d.Owner, d.Group)
		if err := b.t.Add(e); err != nil {
			return err
		}
	}
	return nil
}
