package resolve

import (
	"errors"
	"fmt"
	"io/fs"
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

// statEntry caches Lstat (and ReadLink for symlinks) of one fs name.
type statEntry struct {
	once   sync.Once
	mode   fs.FileMode
	size   int64
	target string
	err    error
}

// walkEntry caches the resolution of one absolute path.
type walkEntry struct {
	once  sync.Once
	real  string
	mode  fs.FileMode
	size  int64
	links []Link
	err   error
}

func (r *Resolver) lstat(name string) *statEntry {
	r.mu.Lock()
	e := r.stats[name]
	if e == nil {
		e = &statEntry{}
		r.stats[name] = e
	}
	r.mu.Unlock()
	e.once.Do(func() {
		fsName := name
		if fsName == "" {
			fsName = "."
		}
		fi, err := r.fsys.Lstat(fsName)
		if err != nil {
			e.err = err
			return
		}
		e.mode, e.size = fi.Mode(), fi.Size()
		if e.mode&fs.ModeSymlink != 0 {
			e.target, e.err = r.fsys.ReadLink(fsName)
		}
	})
	return e
}

// walk resolves the absolute path p with chroot semantics inside the root
// and returns the real path, the symlinks met and the final file's mode.
// ".." is resolved physically, after the symlinks before it, as the kernel does.
func (r *Resolver) walk(p string) *walkEntry {
	r.mu.Lock()
	e := r.walks[p]
	if e == nil {
		e = &walkEntry{}
		r.walks[p] = e
	}
	r.mu.Unlock()
	e.once.Do(func() {
		e.real, e.mode, e.size, e.links, e.err = r.doWalk(p)
		if e.err != nil {
			e.err = fmt.Errorf("%s: %w", p, e.err)
		}
	})
	return e
}

func (r *Resolver) doWalk(p string) (string, fs.FileMode, int64, []Link, error) {
	if len(p) > maxPathLen || strings.IndexByte(p, 0) >= 0 {
		return "", 0, 0, nil, errTooLong
	}
	var links []Link
	todo := splitPath(p)
	cur := "" // fs name of the real directory reached so far
	mode, size := fs.ModeDir, int64(0)
	hops := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		if mode&fs.ModeDir == 0 {
			return "", 0, 0, nil, errNotDir
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
			var pe *fs.PathError
			if errors.As(st.err, &pe) {
				return "", 0, 0, nil, pe.Err // the fs name is not the caller's path
			}
			return "", 0, 0, nil, st.err
		}
		if st.mode&fs.ModeSymlink != 0 {
			if hops++; hops > maxLinkHops {
				return "", 0, 0, nil, errLoop
			}
			if st.target == "" {
				return "", 0, 0, nil, fs.ErrNotExist
			}
			links = append(links, Link{Path: "/" + next, Target: st.target})
			if strings.HasPrefix(st.target, "/") {
				cur = ""
			}
			if len(st.target)+len(todo) > maxPathLen {
				return "", 0, 0, nil, errTooLong
			}
			todo = append(splitPath(st.target), todo...)
			mode = fs.ModeDir
			continue
		}
		cur, mode, size = next, st.mode, st.size
	}
	return "/" + cur, mode, size, links, nil
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
