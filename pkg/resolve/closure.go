package resolve

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"slices"
	"strings"
)

const maxObjects = 4096 // objects loaded into one process

// loaded is one object of a simulated process, as ld.so's link_map.
type loaded struct {
	obj    *object
	name   string   // path it was opened by
	real   string   // real path of the file
	names  []string // names it was requested by
	loader *loaded  // object whose DT_NEEDED (or dlopen) loaded it
	origin string   // $ORIGIN
}

// matches reports whether a request for name is satisfied by l, as
// _dl_name_match_p plus the DT_SONAME check of _dl_map_object.
func (l *loaded) matches(name string) bool {
	if name == l.name || (l.obj.soname != "" && name == l.obj.soname) {
		return true
	}
	for _, n := range l.names {
		if n == name {
			return true
		}
	}
	return false
}

// process simulates the loader starting one program.
type process struct {
	ctx     context.Context
	r       *Resolver
	abi     *abi
	main    *loaded // nil when only libraries were requested
	interp  *loaded
	list    []*loaded // load order, without the interpreter
	byReal  map[string]*loaded
	links   []Link
	missing []MissingLib
	cached  []CacheEntry // found through ld.so.cache/ld.so.conf outside the system dirs
	tried   []string     // where the search of the last need looked, for MissingLib.Searched
	err     error        // first hard error
}

func (p *process) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}

func (p *process) miss(name string, by *loaded) {
	p.missing = append(p.missing, MissingLib{Soname: name, NeededBy: p.who(by), Searched: p.tried})
}

// looked notes that the search looked in place (a directory, the cache or
// a path), once.
func (p *process) looked(place string) {
	if !slices.Contains(p.tried, place) {
		p.tried = append(p.tried, place)
	}
}

func (p *process) who(l *loaded) string {
	if l == nil {
		return NeededByRequest
	}
	return l.real
}

func (p *process) find(name string) *loaded {
	if p.interp != nil && p.interp.matches(name) {
		return p.interp
	}
	for _, l := range p.list {
		if l.matches(name) {
			return l
		}
	}
	return nil
}

// candidate is a file found for a request.
type candidate struct {
	path string
	w    *walkEntry
	obj  *object
}

// try opens path as ld.so's open_verify: a missing or non-regular file, or
// one of another class or machine, is skipped (nil, nil); a file that is not
// a loadable ELF object is an error.
func (p *process) try(path string) (*candidate, error) {
	w := p.r.walk(path)
	if w.err != nil || !w.mode.IsRegular() {
		return nil, nil
	}
	obj, err := p.r.object(w)
	if err != nil {
		return nil, err
	}
	if obj.class != p.abi.class || obj.data != p.abi.data || obj.machine != p.abi.machine {
		p.r.opts.logger.Debug("skipping incompatible", "path", path, "class", obj.class, "machine", obj.machine)
		return nil, nil
	}
	return &candidate{path: path, w: w, obj: obj}, nil
}

// add makes c a loaded object unless its file is loaded already.
func (p *process) add(c *candidate, name string, by *loaded) *loaded {
	if l := p.byReal[c.w.real]; l != nil {
		l.names = append(l.names, name)
		return l
	}
	if len(p.list) >= maxObjects {
		p.fail(fmt.Errorf("%s: more than %d objects", p.who(p.main), maxObjects))
		return nil
	}
	l := &loaded{obj: c.obj, name: c.path, real: c.w.real, names: []string{name}, loader: by, origin: dirOf(c.path)}
	p.byReal[l.real] = l
	p.list = append(p.list, l)
	p.links = append(p.links, c.w.links...)
	return l
}

// need loads the dependency name of by (by is nil for a library requested
// without a program).
func (p *process) need(name string, by *loaded) {
	if p.find(name) != nil {
		return
	}
	var (
		c   *candidate
		err error
	)
	p.tried = nil
	if strings.Contains(name, "/") {
		origin := ""
		if by != nil {
			origin = by.origin
		}
		path, ok := expandDST(name, origin, p.abi)
		if ok {
			if !strings.HasPrefix(path, "/") {
				path = "/" + path
			}
			p.looked(path)
			c, err = p.try(path)
		}
	} else {
		c, err = p.search(name, by)
	}
	switch {
	case err != nil:
		p.fail(fmt.Errorf("resolving %s for %s: %w", name, p.who(by), err))
	case c == nil:
		p.miss(name, by)
	default:
		p.add(c, name, by)
	}
}

// run loads every DT_NEEDED breadth-first, from list index i on.
func (p *process) run(i int) {
	for ; i < len(p.list) && p.ctx.Err() == nil; i++ {
		l := p.list[i]
		for _, n := range l.obj.needed {
			p.need(n, l)
		}
	}
}

func dirOf(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

var errIncompatible = errors.New("wrong ELF class or machine")

func defaultKey() abiKey {
	return abiKey{elf.ELFCLASS64, elf.ELFDATA2LSB, elf.EM_X86_64}
}
