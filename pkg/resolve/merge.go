package resolve

import (
	"context"
	"sort"
)

// merge unites the processes' files, links and missing libraries.
func merge(ctx context.Context, procs []*process) (*Closure, error) {
	cl := &Closure{Files: []string{}, Links: []Link{}}
	files := map[string]bool{}
	links := map[string]string{}
	type miss struct{ a, b string }
	seenMiss, seenCache := map[miss]bool{}, map[miss]bool{}
	var hard error
	for _, p := range procs {
		if p == nil {
			continue
		}
		if hard == nil {
			hard = p.err
		}
		all := p.list
		if p.interp != nil {
			all = append(all[:len(all):len(all)], p.interp)
		}
		for _, l := range all {
			if !files[l.real] {
				files[l.real] = true
				cl.Files = append(cl.Files, l.real)
			}
		}
		for _, l := range p.links {
			if _, ok := links[l.Path]; !ok {
				links[l.Path] = l.Target
				cl.Links = append(cl.Links, l)
			}
		}
		for _, e := range p.cached {
			if k := (miss{e.Soname, e.Path}); !seenCache[k] {
				seenCache[k] = true
				cl.Cache = append(cl.Cache, e)
			}
		}
		for _, m := range p.missing {
			if k := (miss{m.Soname, m.NeededBy}); !seenMiss[k] {
				seenMiss[k] = true
				cl.Missing = append(cl.Missing, m)
			}
		}
	}
	sort.Strings(cl.Files)
	sort.Slice(cl.Links, func(i, j int) bool { return cl.Links[i].Path < cl.Links[j].Path })
	sort.Slice(cl.Cache, func(i, j int) bool {
		a, b := cl.Cache[i], cl.Cache[j]
		return a.Soname < b.Soname || a.Soname == b.Soname && a.Path < b.Path
	})
	if err := ctx.Err(); err != nil {
		return cl, err
	}
	if hard != nil {
		return cl, hard
	}
	if len(cl.Missing) > 0 {
		m := cl.Missing[0]
		return cl, &MissingLibError{Soname: m.Soname, NeededBy: m.NeededBy, Searched: m.Searched}
	}
	return cl, nil
}
