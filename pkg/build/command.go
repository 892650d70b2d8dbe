package build

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/jailimg/jailimg/pkg/tree"
)

// defaultPath is the PATH jailimg run gives a service whose env sets none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// checkCommand refuses a jail whose command cannot start: the program
// (entrypoint[0], else cmd[0]) must be an executable regular file of the
// jail, symlinks followed inside it; a name without a '/' is looked up in
// the recipe's PATH (env), else run's default, as jailimg run looks it up.
// The error names the recipe line. A recipe with neither runs the command
// given to jailimg run, which is not checked here.
func (b *builder) checkCommand() error {
	key, prog := "entrypoint[0]", ""
	switch {
	case len(b.r.Entrypoint) > 0:
		prog = b.r.Entrypoint[0]
	case len(b.r.Cmd) > 0:
		key, prog = "cmd[0]", b.r.Cmd[0]
	default:
		return nil
	}
	if !strings.Contains(prog, "/") {
		return b.lookPath(key, prog)
	}
	p := prog
	if !path.IsAbs(p) {
		p = path.Join("/", b.r.Workdir, p)
	}
	if err := executable(b.t, p); err != nil {
		return b.r.Errorf(key, "%s %v (add it under binaries: or files:)", prog, err)
	}
	return nil
}

// lookPath finds the bare program name in the jail's PATH.
func (b *builder) lookPath(key, name string) error {
	dirs := defaultPath
	if p, ok := b.r.Env["PATH"]; ok {
		dirs = p
	}
	for _, d := range strings.Split(dirs, ":") {
		if path.IsAbs(d) && executable(b.t, path.Join(d, name)) == nil {
			return nil
		}
	}
	return b.r.Errorf(key, "%s is not found in the jail's PATH %s (name it by its path, and add it under binaries: or files:)", name, dirs)
}

// executable checks that p names, symlinks followed inside the jail, a
// regular file with an execute bit.
func executable(t *tree.Tree, p string) error {
	e, err := inJail(t, p)
	if err != nil {
		return err
	}
	if e.Type != tree.Reg || e.Mode&0o111 == 0 {
		return fmt.Errorf("is not an executable file in the jail (a %s, mode %04o)", e.Type, e.Mode.Perm())
	}
	return nil
}

// errNotInJail says a path names nothing in the jail.
var errNotInJail = errors.New("is not in the jail")

// inJail returns the entry the absolute path p names in the jail, every
// symlink followed inside it (an absolute target from the jail's root, at
// most 40 of them, as the kernel does).
func inJail(t *tree.Tree, p string) (*tree.Entry, error) {
	cur, todo, links := "/", strings.TrimPrefix(p, "/"), 0
	for todo != "" {
		var c string
		c, todo, _ = strings.Cut(todo, "/")
		switch c {
		case "", ".":
			continue
		case "..":
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, c)
		e, ok := t.Get(next)
		switch {
		case !ok:
			return nil, errNotInJail
		case e.Type == tree.Symlink:
			if links++; links > 40 {
				return nil, errors.New("has too many levels of symlinks in the jail")
			}
			if strings.HasPrefix(e.Target, "/") {
				cur = "/"
			}
			todo = strings.TrimSuffix(e.Target+"/"+todo, "/")
		case todo != "" && e.Type != tree.Dir:
			return nil, fmt.Errorf("is not in the jail: %s is a %s", next, e.Type)
		default:
			cur = next
		}
	}
	e, _ := t.Get(cur)
	return e, nil
}
