package trace

import (
	"context"
	"path"
	"slices"

	"github.com/jailimg/jailimg/pkg/resolve"
)

// missing keeps the failed opens and execs that are not search-path
// probing, counting the closure's files as found, and names the shared
// objects found nowhere with the object that needed each.
func (b *fragBuilder) missing(ctx context.Context, res *Result) error {
	libs, err := res.missingLibraries(ctx, b.resolver) // its cache: the closure read these files already
	if err != nil {
		return err
	}
	b.f.MissingLibraries = libs
	for _, r := range misses(res, b.explained) {
		if !sharedObjectName(r.Path) || !slices.ContainsFunc(libs, func(l LibraryMiss) bool { return l.Soname == path.Base(r.Path) }) {
			b.f.Missing = append(b.f.Missing, r)
		}
	}
	return nil
}

// finish drops what the closure explains and directories implied by
// entries below them, and sorts everything.
func (b *fragBuilder) finish() *Fragment {
	f := b.f
	for _, real := range sortedKeys(b.bins) {
		f.Binaries = append(f.Binaries, b.bins[real])
	}
	slices.Sort(f.Binaries)
	f.Binaries = slices.Compact(f.Binaries)
	f.Libraries = sortedKeys(b.libs)
	var below []string // every entry path, for the implied-directory check
	host := map[string]bool{}
	for _, p := range sortedKeys(b.files) {
		switch {
		case b.explained[p]:
		case hostSpecific(p):
			host[p] = true
			below = append(below, p)
		default:
			f.Files = append(f.Files, p)
			below = append(below, p)
		}
	}
	for _, p := range sortedKeys(b.links) {
		switch {
		case b.closureLinks[p]:
		case hostSpecific(p):
			host[p] = true
			below = append(below, p)
		default:
			f.Symlinks = append(f.Symlinks, resolve.Link{Path: p, Target: b.links[p]})
			below = append(below, p)
		}
	}
	below = append(below, f.Binaries...)
	below = append(below, sortedKeys(b.dirs)...)
	below = append(below, sortedKeys(b.explained)...) // the closure's files and links
	below = append(below, sortedKeys(b.gen)...)       // the files users: etc. write
	slices.Sort(below)
	for _, p := range sortedKeys(b.dirs) {
		w := b.dirs[p]
		if p == "/" || len(w) == 0 && hasDescendant(p, below) {
			continue
		}
		if len(w) == 0 && hostSpecific(p) {
			host[p] = true
			continue
		}
		slices.Sort(w)
		f.Dirs = append(f.Dirs, Dir{Path: p, Written: slices.Compact(w)})
	}
	f.HostSpecific = sortedKeys(host)
	for _, p := range sortedKeys(b.devs) {
		f.Devices = append(f.Devices, b.devs[p])
	}
	for _, p := range sortedKeys(b.gen) {
		f.Generated = append(f.Generated, Generated{Path: p, Key: b.gen[p]})
	}
	return f
}
