package resolve

import (
	"fmt"
	"io/fs"
	"sync"
	"syscall"
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
