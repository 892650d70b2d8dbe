package main

import (
	"os"
	"path/filepath"
)

// packages compares `jailimg build` of recipes/nginx-pkg.yaml from a warm
// package cache (--offline: the .debs checked against the lock, the
// extracted root reused) with `jailimg build` of recipes/nginx.yaml from
// the host's files, and times `jailimg lock --update` of the package
// recipe on its own. It works on a copy of recipes/, so that the lock
// --update never touches the repository's lock.
func (b *bench) packages() error {
	dir := filepath.Join(b.work, "recipes")
	if err := runQuiet("cp", "-a", filepath.Join(b.repo, "recipes"), dir); err != nil {
		return err
	}
	cache := filepath.Join(b.work, "debs")
	out := filepath.Join(b.work, "pkg-out")
	logf("filling the package cache %s", cache)
	if err := runQuiet(b.bin, "build", "-q", "--cache", cache, "-o", filepath.Join(out, "warm"), filepath.Join(dir, "nginx-pkg.yaml")); err != nil {
		return err
	}
	rm := func(p string) func() error { return func() error { return os.RemoveAll(p) } }
	pkgOut, hostOut := filepath.Join(out, "pkg"), filepath.Join(out, "host")
	build := &Group{
		Section: "packages", Name: "nginx, warm package cache", Short: "pkg build", Runs: b.runsSmall,
		Tools: []*Tool{
			{Name: "jailimg build --offline (packages)", Argv: []string{b.bin, "build", "-q", "--offline", "--cache", cache, "-o", pkgOut, filepath.Join(dir, "nginx-pkg.yaml")}, Setup: rm(pkgOut)},
			{Name: "jailimg build (host files)", Argv: []string{b.bin, "build", "-q", "-o", hostOut, filepath.Join(dir, "nginx.yaml")}, Setup: rm(hostOut)},
		},
		Targets: []Target{{Peer: "jailimg build (host files)", Max: 2, Text: "≤ 2×"}},
	}
	lock := &Group{
		Section: "packages", Name: "lock of recipes/nginx-pkg.yaml", Runs: min(b.runsSmall, 5),
		Tools: []*Tool{
			{Name: "jailimg lock --update", Argv: []string{b.bin, "lock", "-q", "--update", filepath.Join(dir, "nginx-pkg.yaml")}},
		},
		Notes: []string{"Reported apart from the build, with no target: it reads every index of apt's sources (each checked along its signature chain) and resolves the closure, and is run when the lock is to move, not at every build."},
	}
	for _, g := range []*Group{build, lock} {
		g.Run()
		b.groups = append(b.groups, g)
	}
	return os.RemoveAll(out)
}
