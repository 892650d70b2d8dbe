package resolve

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
)

const (
	maxLinkHops = 40   // symlinks followed per path, as Linux's ELOOP limit
	maxPathLen  = 4096 // PATH_MAX
)

var (
	errLoop    = errors.New("too many levels of symbolic links")
	errNotDir  = errors.New("not a directory")
	errTooLong = errors.New("path too long")
)

// Path is a path resolved inside the root by Walk or WalkNoFollow.
type Path struct {
	// Real is absolute and has no symlink in any component.
	Real string
	// Links are the symlinks followed on the way, in the order met. Each
	// Link.Path has no symlink in its parent directories.
	Links []Link
	// Info is what Lstat says of Real. It is nil only for a last component
	// that WalkNoFollow did not find.
	Info fs.FileInfo
}

// Name returns Real as a name of the root's fs.FS: "." for "/", else Real
// without its leading slash.
func (p Path) Name() string { return fsName(p.Real) }

// Walk resolves the absolute path p inside the root the way the kernel
// resolves a path for a process chrooted there, reading the root's fs.FS
// only:
//   - chroot semantics: an absolute symlink target restarts at the root and
//     ".." never climbs above it; ".." is resolved physically, after the
//     symlinks before it;
//   - at most 40 symlinks are followed (ELOOP);
//   - p, and p with its symlinks expanded, is at most PATH_MAX (4096) bytes
//     and holds no NUL;
//   - every component followed by another is a directory (ENOTDIR);
//   - a symlink with an empty target names nothing (ENOENT).
//
// A symlink as last component is followed. Errors name p; a component that
// does not exist gives an error matching fs.ErrNotExist. Walk shares the
// Resolver's cache: the root must not change meanwhile.
func (r *Resolver) Walk(p string) (Path, error) {
	w := r.walk(p)
	if w.err != nil {
		return Path{}, w.err
	}
	info := w.info
	if info == nil { // the root
		st := r.lstat("")
		if st.err != nil {
			return Path{}, fmt.Errorf("%s: %w", p, pathErr(st.err))
		}
		info = st.info
	}
	return Path{Real: w.real, Links: slices.Clone(w.links), Info: info}, nil
}

// WalkNoFollow is Walk without following p's last component: it resolves
// the directory that component is in as Walk does and returns the entry of
// that name, a symlink included, as lstat(2) or open(2) with
// O_NOFOLLOW|O_CREAT see it. The entry need not exist; Info is then nil.
// Links are those followed on the way to the directory. A last component
// "..", or a trailing slash, is followed, as the kernel does.
func (r *Resolver) WalkNoFollow(p string) (Path, error) {
	i := strings.LastIndexByte(p, '/')
	dir, last := p[:i+1], p[i+1:]
	if last == "" || last == "." || last == ".." {
		return r.Walk(p)
	}
	if len(p) > maxPathLen || strings.IndexByte(p, 0) >= 0 {
		return Path{}, fmt.Errorf("%s: %w", p, errTooLong)
	}
	if dir = strings.TrimSuffix(dir, "/"); dir == "" {
		dir = "/"
	}
	w := r.walk(dir)
	switch {
	case w.err != nil:
		return Path{}, fmt.Errorf("%s: %w", p, errors.Unwrap(w.err))
	case !w.mode.IsDir():
		return Path{}, fmt.Errorf("%s: %w", p, errNotDir)
	}
	real := path.Join(w.real, last)
	st := r.lstat(fsName(real))
	switch {
	case errors.Is(st.err, fs.ErrNotExist):
		return Path{Real: real, Links: slices.Clone(w.links)}, nil
	case st.err != nil:
		return Path{}, fmt.Errorf("%s: %w", p, pathErr(st.err))
	}
	return Path{Real: real, Links: slices.Clone(w.links), Info: st.info}, nil
}

// walkEntry caches the resolution of one absolute path.
type walkEntry struct {
	once  sync.Once
	real  string
	mode  fs.FileMode
	size  int64
	info  fs.FileInfo // Lstat of the file reached; nil for the root
	links []Link
	err   error
}

// walk is Walk for the resolver itself: the walkEntry, cached per path and
// shared, holds the real path, the symlinks met and the final file's mode.
func (r *Resolver) walk(p string) *walkEntry {
	r.mu.Lock()
	e := r.walks[p]
	if e == nil {
		e = &walkEntry{}
		r.walks[p] = e
	}
	r.mu.Unlock()
	e.once.Do(func() {
		e.err = r.doWalk(e, p)
		if e.err != nil {
			e.err = fmt.Errorf("%s: %w", p, e.err)
		}
	})
	return e
}

func (r *Resolver) doWalk(e *walkEntry, p string) error {
	if len(p) > maxPathLen || strings.IndexByte(p, 0) >= 0 {
		return errTooLong
	}
	var links []Link
	todo := splitPath(p)
	cur := "" // fs name of the real directory reached so far
	mode := fs.ModeDir
	var final *statEntry
	hops := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		if mode&fs.ModeDir == 0 {
			return errNotDir
		}
		if c == ".." {
			if i := strings.LastIndexByte(cur, '/'); i >= 0 {
				cur = cur[:i]
			} else {
				cur = ""
			}
			continue
		}
		next := c
		if cur != "" {
			next = cur + "/" + c
		}
		st := r.lstat(next)
		if st.err != nil {
			return pathErr(st.err)
		}
		if st.mode&fs.ModeSymlink != 0 {
			if hops++; hops > maxLinkHops {
				return errLoop
			}
			if st.target == "" {
				return fs.ErrNotExist
			}
			links = append(links, Link{Path: "/" + next, Target: st.target})
			if strings.HasPrefix(st.target, "/") {
				cur = ""
			}
			if len(st.target)+len(todo) > maxPathLen {
				return errTooLong
			}
			todo = append(splitPath(st.target), todo...)
			mode = fs.ModeDir
			continue
		}
		cur, mode, final = next, st.mode, st
	}
	e.real, e.mode, e.links = "/"+cur, mode, links
	if final != nil && cur != "" {
		e.size, e.info = final.size, final.info
	}
	return nil
}

// pathErr strips an fs.PathError, whose fs name is not the caller's path.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// splitPath splits p into components, dropping empty ones and ".".
func splitPath(p string) []string {
	parts := strings.Split(p, "/")
	out := parts[:0]
	for _, c := range parts {
		if c != "" && c != "." {
			out = append(out, c)
		}
	}
	return out
}

// fsName turns an absolute real path into an fs.FS name.
func fsName(real string) string {
	if real == "/" {
		return "."
	}
	return strings.TrimPrefix(real, "/")
}
