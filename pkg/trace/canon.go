package trace

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// Link is a symlink met on the way to a path: Path is absolute, Target as
// stored.
type Link struct {
	Path   string `json:"path"`
	Target string `json:"target"`
}

var errLoop = errors.New("too many levels of symbolic links")

// canonical resolves p inside fsys with chroot semantics (an absolute
// target restarts at the root of fsys, ".." stops there) and returns the
// path with no symlink in it and the symlinks met on the way. With final
// false the last component is not followed.
func canonical(fsys fs.FS, p string, final bool) (string, []Link, error) {
	var links []Link
	todo := splitPath(p)
	cur := "/"
	for hops := 0; len(todo) > 0; {
		name := todo[0]
		todo = todo[1:]
		if name == ".." {
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, name)
		if len(todo) == 0 && !final {
			return next, links, nil
		}
		fi, err := fs.Lstat(fsys, fsName(next))
		if err != nil {
			return "", nil, err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		if hops++; hops > 40 {
			return "", nil, fmt.Errorf("%s: %w", p, errLoop)
		}
		target, err := fs.ReadLink(fsys, fsName(next))
		if err != nil {
			return "", nil, err
		}
		links = append(links, Link{Path: next, Target: target})
		if path.IsAbs(target) {
			cur = "/"
		}
		todo = append(splitPath(target), todo...)
	}
	return cur, links, nil
}

// splitPath splits a path into its components, dropping "" and ".".
func splitPath(p string) []string {
	var out []string
	for _, c := range strings.Split(p, "/") {
		if c != "" && c != "." {
			out = append(out, c)
		}
	}
	return out
}

// fsName turns an absolute path into an fs.FS name.
func fsName(p string) string {
	if p == "/" {
		return "."
	}
	return strings.TrimPrefix(p, "/")
}
