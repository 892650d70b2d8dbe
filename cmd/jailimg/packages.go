package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/jailimg/jailimg/pkg/apt"
	"github.com/jailimg/jailimg/pkg/build"
	"github.com/jailimg/jailimg/pkg/lock"
	"github.com/jailimg/jailimg/pkg/recipe"
	"github.com/jailimg/jailimg/pkg/referrer"
	"github.com/jailimg/jailimg/pkg/sbom"
	"github.com/jailimg/jailimg/pkg/sysroot"
)

// packageSource is the root a recipe with packages: builds from, and the
// lock it came from.
type packageSource struct {
	lock *lock.Lock
	root *sysroot.Root
}

// preparePackages reads the recipe's lock, checks it still matches the
// recipe, makes sure the cache holds every locked .deb (through apt, or
// offline from the cache alone) and returns the root extracted from them.
// Offline, nothing outside jailimg runs.
func preparePackages(ctx context.Context, r *recipe.Recipe, cacheDir string, offline bool) (*packageSource, error) {
	path := lock.Path(r.Path)
	l, err := lock.Read(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, inputError{fmt.Errorf("%s has packages: but no lock %s: run jailimg lock %s", r.Path, path, r.Path)}
	} else if err != nil {
		return nil, err
	}
	if err := l.Check(path, r.Packages, apt.NativeArch()); err != nil {
		return nil, err
	}
	c, err := sysroot.Open(cacheDir)
	if err != nil {
		return nil, err
	}
	if err := c.Fetch(ctx, l, offline); err != nil {
		return nil, err
	}
	root, err := c.Root(ctx, l)
	if err != nil {
		return nil, err
	}
	logger().Info("package root", "packages", len(l.Packages), "root", root.Dir())
	return &packageSource{lock: l, root: root}, nil
}

// packages prepares the package root of a recipe with packages: and has
// p's build read from it; nil for a recipe built from the host.
func (o *buildOptions) packages(ctx context.Context, r *recipe.Recipe, p *buildPlan) (*packageSource, error) {
	if len(r.Packages) == 0 {
		return nil, nil
	}
	pkgs, err := preparePackages(ctx, r, o.cache, o.offline)
	if err != nil {
		return nil, err
	}
	p.opts = append(p.opts, build.WithSource(pkgs.root))
	return pkgs, nil
}

// sbom returns the SPDX SBOM of a build from ps, as an artifact referring
// to its image; nil for a build from the host (ps nil).
func (ps *packageSource) sbom(ctx context.Context, r *recipe.Recipe, res *build.Result, tag string) (v1.Image, error) {
	if ps == nil {
		return nil, nil
	}
	cfg, err := res.Image.ConfigFile()
	if err != nil {
		return nil, err
	}
	owners := map[string]string{}
	for _, f := range res.Files {
		if name := ps.root.Owner(f.Source); name != "" {
			owners[f.Path] = name
		}
	}
	in := sbom.Input{Name: r.Name, Version: tag, Image: res.Image, Created: cfg.Created.Time,
		Owner: func(p string) string { return owners[p] }}
	for _, p := range ps.lock.Packages {
		in.Packages = append(in.Packages, sbom.Package{Name: p.Name, Version: p.Version, Architecture: p.Architecture,
			SHA256: p.SHA256, URL: p.URL, Suite: p.Suite, License: sbom.License(ps.root.Copyright(p.Name))})
	}
	doc, err := sbom.New(ctx, in)
	if err != nil {
		return nil, err
	}
	desc, err := partial.Descriptor(res.Image)
	if err != nil {
		return nil, err
	}
	return referrer.New(*desc, sbom.MediaType, nil, referrer.Document{MediaType: sbom.MediaType, Data: doc})
}
