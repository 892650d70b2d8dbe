package trace

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	securejoin "github.com/cyphar/filepath-securejoin"
)

// hostRoot returns the absolute, symlink-free form of a root directory
// ("/" for none).
func hostRoot(dir string) (string, error) {
	if dir == "" || dir == "/" {
		return "/", nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("root %s: %w", dir, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("root %s: %w", dir, err)
	}
	if fi, err := os.Stat(real); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("root %s: not a directory", dir)
	}
	return real, nil
}

// lookPath finds the program to run as the command sees it: a name with a
// slash is taken relative to dir, a bare name is searched in the PATH of
// env, inside root (through securejoin, so the search never leaves it).
func lookPath(name, root, dir string, env []string) (string, error) {
	if path.IsAbs(name) {
		return path.Clean(name), nil
	}
	if strings.Contains(name, "/") {
		return path.Join(dir, name), nil
	}
	search := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			search = v
		}
	}
	for _, d := range filepath.SplitList(search) {
		if !path.IsAbs(d) {
			continue
		}
		cand := path.Join(d, name)
		host, err := securejoin.SecureJoin(root, cand)
		if err != nil {
			continue
		}
		if fi, err := os.Stat(host); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return cand, nil
		}
	}
	return "", fmt.Errorf("%s: %w", name, syscall.ENOENT)
}

// stdio returns the descriptors for the child's stdin, stdout and stderr,
// opening /dev/null for nil files; close releases what it opened.
func stdio(files ...*os.File) (fds []uintptr, close func(), err error) {
	var opened []*os.File
	close = func() {
		for _, f := range opened {
			f.Close()
		}
	}
	for _, f := range files {
		if f == nil {
			if f, err = os.OpenFile(os.DevNull, os.O_RDWR, 0); err != nil {
				close()
				return nil, nil, err
			}
			opened = append(opened, f)
		}
		fds = append(fds, f.Fd())
	}
	return fds, close, nil
}
