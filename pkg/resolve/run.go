package resolve

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"runtime"
	"sync"
)

// Resolve returns everything the dynamic loader needs to load req.Binaries
// (each as the program of its own process) and req.Libraries (as dlopen()ed
// by the first binary, matching its ELF class and machine).
//
// The Closure is returned even on error, holding what was found. The error
// is the first hard error (an input that is not ELF, with ErrNotELF, or a
// malformed file), else a *MissingLibError for the first missing library.
//
// Binaries are resolved concurrently, runtime.GOMAXPROCS(0) at a time; the
// Closure does not depend on it.
func (r *Resolver) Resolve(ctx context.Context, req Request) (*Closure, error) {
	n := len(req.Binaries)
	if n == 0 && len(req.Libraries) == 0 {
		return &Closure{}, nil
	}
	procs := make([]*process, max(n, 1))
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(runtime.GOMAXPROCS(0), len(procs)) {
		wg.Go(func() {
			for i := range next {
				var extras []string
				if i == 0 {
					extras = req.Libraries
				}
				bin := ""
				if i < n {
					bin = req.Binaries[i]
				}
				procs[i] = r.start(ctx, bin, extras)
			}
		})
	}
	for i := range procs {
		next <- i
	}
	close(next)
	wg.Wait()
	return merge(ctx, procs)
}

// start simulates loading bin (may be "") and then dlopen of extras.
func (r *Resolver) start(ctx context.Context, bin string, extras []string) *process {
	p := &process{ctx: ctx, r: r, byReal: map[string]*loaded{}}
	if bin != "" {
		if !r.startMain(p, bin) {
			return p
		}
	} else {
		p.abi = r.abiForKey(defaultKey())
		for _, e := range extras {
			if path.IsAbs(e) {
				if c, err := r.input(e); err == nil {
					p.abi = r.abiFor(c.obj)
					break
				}
			}
		}
	}
	p.run(0)
	for _, e := range extras {
		if ctx.Err() != nil {
			break
		}
		start := len(p.list)
		if !path.IsAbs(e) {
			p.need(e, p.main)
			p.run(start)
			continue
		}
		c, err := r.input(e)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			p.miss(e, p.main)
		case err != nil:
			p.fail(err)
		case c.obj.class != p.abi.class || c.obj.machine != p.abi.machine || c.obj.data != p.abi.data:
			p.fail(fmt.Errorf("%s: %w for %s", e, errIncompatible, p.who(p.main)))
		default:
			p.add(c, e, p.main)
			p.run(start)
		}
	}
	return p
}

// input opens a path given by the caller.
func (r *Resolver) input(in string) (*candidate, error) {
	if !path.IsAbs(in) {
		return nil, fmt.Errorf("%s: not an absolute path", in)
	}
	w := r.walk(in)
	if w.err != nil {
		return nil, w.err
	}
	if !w.mode.IsRegular() {
		return nil, fmt.Errorf("%s: %w", in, ErrNotRegular)
	}
	obj, err := r.object(w)
	if err != nil {
		return nil, err
	}
	return &candidate{path: in, w: w, obj: obj}, nil
}

// startMain loads the program bin and its interpreter.
func (r *Resolver) startMain(p *process, bin string) bool {
	c, err := r.input(bin)
	if err != nil {
		p.fail(err)
		return false
	}
	p.abi = r.abiFor(c.obj)
	p.main = p.add(c, "", nil)
	p.main.names, p.main.name = nil, "" // an executed program matches only by DT_SONAME
	p.main.origin = dirOf(c.w.real)     // the kernel's /proc/self/exe
	if c.obj.interp == "" {
		return true
	}
	w := r.walk(c.obj.interp)
	if w.err != nil || !w.mode.IsRegular() {
		p.miss(c.obj.interp, p.main)
		return true
	}
	obj, err := r.object(w)
	if err != nil {
		p.fail(fmt.Errorf("interpreter of %s: %w", c.w.real, err))
		return true
	}
	if l := p.byReal[w.real]; l != nil { // the program is its own interpreter
		l.names = append(l.names, c.obj.interp)
		return true
	}
	p.interp = &loaded{obj: obj, name: c.obj.interp, real: w.real, names: []string{c.obj.interp}, origin: dirOf(c.obj.interp)}
	p.byReal[w.real] = p.interp // found again under another name, it is the same object
	p.links = append(p.links, w.links...)
	return true
}
