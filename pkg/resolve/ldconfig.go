package resolve

import (
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

const (
	ldCachePath     = "/etc/ld.so.cache"
	ldConfPath      = "/etc/ld.so.conf"
	maxConfFile     = 1 << 20
	maxConfDepth    = 8
	maxConfIncludes = 1024
)

// ldConfig is the system part of the search: the ld.so.cache or, when the
// root has none, the directories of ld.so.conf.
type ldConfig struct {
	cache    ldCache
	confDirs []string
}

func (r *Resolver) ldconfig() *ldConfig {
	r.ldOnce.Do(func() {
		r.ld = &ldConfig{}
		b, err := r.readFile(ldCachePath, maxCacheFile)
		if err == nil {
			c, perr := parseLDCache(b)
			if perr == nil {
				r.ld.cache = c
				return
			}
			// ld.so ignores a cache it cannot use; so do we.
			r.opts.logger.Warn("ignoring ld.so.cache", "path", ldCachePath, "err", perr)
			return
		}
		p := &confParser{r: r, seen: map[string]bool{}}
		p.parse(ldConfPath, 0)
		r.ld.confDirs = p.dirs
	})
	return r.ld
}

// readFile reads the regular file at absolute path p inside the root.
func (r *Resolver) readFile(p string, limit int64) ([]byte, error) {
	w := r.walk(p)
	if w.err != nil {
		return nil, w.err
	}
	if !w.mode.IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", p)
	}
	if w.size > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", p, limit)
	}
	f, err := r.open(w)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit))
}

// confParser reads ld.so.conf as ldconfig does: one directory per line,
// "#" comments, "include GLOB..." (relative to the including file's
// directory; the glob may only be in the last component), "hwcap" ignored.
type confParser struct {
	r     *Resolver
	dirs  []string
	seen  map[string]bool
	files int
}

func (p *confParser) parse(file string, depth int) {
	if depth > maxConfDepth || p.files >= maxConfIncludes || p.seen[file] {
		return
	}
	p.seen[file] = true
	p.files++
	b, err := p.r.readFile(file, maxConfFile)
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		switch fields[0] {
		case "include":
			for _, pat := range fields[1:] {
				if !path.IsAbs(pat) {
					pat = path.Join(path.Dir(file), pat)
				}
				for _, m := range p.glob(pat) {
					p.parse(m, depth+1)
				}
			}
		case "hwcap":
		default:
			for _, d := range fields {
				d, _, _ = strings.Cut(d, "=")
				if path.IsAbs(d) {
					p.dirs = append(p.dirs, path.Clean(d))
				}
			}
		}
	}
}

// glob expands a pattern whose last component may hold wildcards, listing
// the directory inside the root. Matches are sorted.
func (p *confParser) glob(pat string) []string {
	dir, base := path.Split(pat)
	w := p.r.walk(dir)
	if w.err != nil || !w.mode.IsDir() {
		return nil
	}
	ents, err := fs.ReadDir(p.r.fsys, fsName(w.real))
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if ok, _ := path.Match(base, e.Name()); ok {
			out = append(out, path.Join(dir, e.Name()))
		}
	}
	return out
}
