package unpack

import (
	"fmt"
	"strings"
)

const (
	maxPathLen = 4095
	maxNameLen = 255
	whPrefix   = ".wh."
	whOpaque   = ".wh..wh..opq"
	whMeta     = ".wh..wh."
)

// cleanName turns a tar name (an unsafePath) into a clean relative path with
// no "." or ".." component, "" for the root. It refuses absolute names and
// any ".." component rather than clamping them: an image that needs either
// is not one we want to guess about.
func cleanName(unsafePath string) (string, error) {
	if unsafePath == "" {
		return "", fmt.Errorf("%w: empty name", ErrUnsafePath)
	}
	if len(unsafePath) > maxPathLen {
		return "", fmt.Errorf("%w: name is %d bytes, longer than %d", ErrUnsafePath, len(unsafePath), maxPathLen)
	}
	if strings.IndexByte(unsafePath, 0) >= 0 {
		return "", fmt.Errorf("%w: name contains NUL", ErrUnsafePath)
	}
	if strings.HasPrefix(unsafePath, "/") {
		return "", fmt.Errorf("%w: absolute name", ErrUnsafePath)
	}
	var parts []string
	for _, c := range strings.Split(unsafePath, "/") {
		switch c {
		case "", ".":
			continue
		case "..":
			return "", fmt.Errorf("%w: name has a \"..\" component", ErrUnsafePath)
		}
		if len(c) > maxNameLen {
			return "", fmt.Errorf("%w: component is %d bytes, longer than %d", ErrUnsafePath, len(c), maxNameLen)
		}
		parts = append(parts, c)
	}
	return strings.Join(parts, "/"), nil
}

// split returns the parent directory ("" for the root) and last component
// of a clean name.
func split(name string) (dir, base string) {
	i := strings.LastIndexByte(name, '/')
	if i < 0 {
		return "", name
	}
	return name[:i], name[i+1:]
}

// join joins a clean directory and a component.
func join(dir, base string) string {
	if dir == "" {
		return base
	}
	return dir + "/" + base
}
