package resolve

import (
	"slices"
	"strings"
)

// search finds a DT_NEEDED name without '/' for the object by, in ld.so's
// order: DT_RPATH of by and its loaders up to the program (only if by has no
// DT_RUNPATH), DT_RUNPATH of by, then unless by has DF_1_NODEFLIB the
// ld.so.cache (or ld.so.conf) and the system directories.
func (p *process) search(name string, by *loaded) (*candidate, error) {
	var c *candidate
	var err error
	if by == nil || !by.obj.hasRun {
		c, err = p.searchRPaths(name, by)
	} else {
		c, err = p.searchPath(by.obj.runpath, by, name)
	}
	if c != nil || err != nil || by != nil && by.obj.nodflib {
		return c, err
	}
	if c, err = p.searchLDConfig(name); c != nil || err != nil {
		p.noteCached(name, c)
		return c, err
	}
	for _, d := range p.abi.sysDirs {
		if c, err := p.searchDir(d, name); c != nil || err != nil {
			return c, err
		}
	}
	return nil, nil
}

// searchRPaths searches the DT_RPATH of by and of its loaders up to the
// program, then the program's if by was not loaded through it.
func (p *process) searchRPaths(name string, by *loaded) (*candidate, error) {
	didMain := false
	for l := by; l != nil; l = l.loader {
		if c, err := p.searchPath(l.obj.rpath, l, name); c != nil || err != nil {
			return c, err
		}
		didMain = didMain || l == p.main
	}
	if didMain || p.main == nil {
		return nil, nil
	}
	return p.searchPath(p.main.obj.rpath, p.main, name)
}

// searchLDConfig searches where ldconfig points the loader: the
// ld.so.cache entry for name or, when the root has no cache, the
// directories of ld.so.conf.
func (p *process) searchLDConfig(name string) (*candidate, error) {
	ld := p.r.ldconfig()
	if ld.cache != nil {
		p.looked("ld.so.cache")
		if path := ld.cache.lookup(name, p.abi.class, p.abi.machine, p.abi.hwcaps); path != "" {
			if c, err := p.try(path); c != nil || err != nil {
				return c, err
			}
		}
	}
	for _, d := range ld.confDirs {
		if c, err := p.searchDir(d, name); c != nil || err != nil {
			return c, err
		}
	}
	return nil, nil
}

// noteCached records a library found through the cache (or ld.so.conf)
// outside the system directories: a jail's loader finds it only through a
// cache entry of its own.
func (p *process) noteCached(name string, c *candidate) {
	if c == nil || slices.Contains(p.abi.sysDirs, dirOf(c.path)) {
		return
	}
	p.cached = append(p.cached, CacheEntry{Soname: name, Path: c.path, Class: p.abi.class, Machine: p.abi.machine})
}

// searchPath searches a DT_RPATH/DT_RUNPATH value of owner.
func (p *process) searchPath(list string, owner *loaded, name string) (*candidate, error) {
	if list == "" {
		return nil, nil
	}
	for _, d := range strings.Split(list, ":") {
		d, ok := expandDST(d, owner.origin, p.abi)
		if !ok || d == "" {
			continue
		}
		if !strings.HasPrefix(d, "/") {
			d = "/" + d // relative to the working directory, taken as "/"
		}
		if c, err := p.searchDir(d, name); c != nil || err != nil {
			return c, err
		}
	}
	return nil, nil
}

// searchDir tries dir's glibc-hwcaps subdirectories, then dir itself.
func (p *process) searchDir(dir, name string) (*candidate, error) {
	dir = strings.TrimRight(dir, "/")
	p.looked(dir + "/")
	for _, h := range p.abi.hwcaps {
		if c, err := p.try(dir + "/glibc-hwcaps/" + h + "/" + name); c != nil || err != nil {
			return c, err
		}
	}
	return p.try(dir + "/" + name)
}
