package build

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"path"
	"slices"

	"github.com/jailimg/jailimg/pkg/dpkg"
)

// dpkg writes, when the recipe asks, what vulnerability scanners read to
// know a jail's packages, as distroless images carry it: a status paragraph
// for each Debian package that owns a file copied from the Source, and the
// Source's OS release files.
func (b *builder) dpkg(ctx context.Context) error {
	if !b.r.DPKG {
		return nil
	}
	var reals []string
	for _, f := range b.fromSource {
		reals = append(reals, f.Source)
	}
	owners, err := b.o.source.Owners(reals)
	if err != nil {
		return b.r.Errorf("dpkg", "reading the build root's package database: %v", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	declared, err := b.o.source.Declared()
	if err != nil {
		return b.r.Errorf("dpkg", "%v", err)
	}
	for _, p := range declared {
		owners["declared: "+p.Name] = p
	}
	pkgs := dpkg.Unique(owners)
	files := dpkg.StatusD(pkgs)
	for _, p := range slices.Sorted(maps.Keys(files)) {
		if err := b.t.Add(generated(p, 0o644, files[p], b.r.Where("dpkg")+": "+path.Base(p))); err != nil {
			return err
		}
	}
	for _, p := range []string{"/etc/os-release", "/etc/debian_version"} {
		e, err := b.hostEntry(b.host, p[1:], p, b.r.Where("dpkg"))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		e.Mode = 0o444
		if err := b.t.Add(e); err != nil {
			return err
		}
	}
	b.o.logger.Info("recorded packages", "count", len(pkgs))
	return nil
}
