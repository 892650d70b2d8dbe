package resolve

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"syscall"
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
	info   fs.FileInfo
	target string
	err    error
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
		e.mode, e.size, e.info = fi.Mode(), fi.Size(), fi
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
			var pe *fs.PathError
			if errors.As(st.err, &pe) {
				return pe.Err // the fs name is not the caller's path
			}
			return st.err
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

// open opens the file a walk reached and checks, when the fs.FS exposes
// inodes (os.DirFS does), that it is the very file that was checked: a root
// changed meanwhile (a directory swapped for a symlink) cannot make the
// resolver read a file it did not vet.
func (r *Resolver) open(w *walkEntry) (fs.File, error) {
	f, err := r.fsys.Open(fsName(w.real))
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	a, ok1 := fi.Sys().(*syscall.Stat_t)
	b, ok2 := w.info.Sys().(*syscall.Stat_t)
	if !fi.Mode().IsRegular() || (ok1 && ok2 && (a.Dev != b.Dev || a.Ino != b.Ino)) {
		f.Close()
		return nil, fmt.Errorf("%s: changed while being resolved", w.real)
	}
	return f, nil
}
