package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// imageKeys are the four prepared images: large and small, gzip and zstd.
var imageKeys = []string{"large-gzip", "large-zstd", "small-gzip", "small-zstd"}

func (b *bench) runsFor(key string) int {
	if strings.HasPrefix(key, "large") {
		return b.runs
	}
	return b.runsSmall
}

func describe(key string) string {
	size, comp, _ := strings.Cut(key, "-")
	if size == "large" {
		return "large image, " + comp
	}
	return "small image (recipes/nginx.yaml), " + comp
}

// unpack compares `jailimg unpack` of each prepared image into a new bundle
// with umoci unpack, crane export piped into tar, tar and pigz/zstd piped
// into tar reading the layer blob, and cp -a of the same tree.
func (b *bench) unpack() error {
	for _, key := range imageKeys {
		layer, err := firstLayer(b.layouts[key])
		if err != nil {
			return err
		}
		dst := filepath.Join(b.work, "unpack-out")
		at := func(name string) string { return filepath.Join(dst, name) }
		mk := func(name string) func() error {
			return func() error { os.RemoveAll(at(name)); return os.MkdirAll(at(name), 0o755) }
		}
		rm := func(name string) func() error { return func() error { return os.RemoveAll(at(name)) } }
		gzip := strings.HasSuffix(key, "gzip")
		tarFlag, decomp := "--zstd", "zstd -dc"
		if gzip {
			tarFlag, decomp = "-z", "pigz -dc"
		}
		tarName := "tar " + tarFlag + " -xf"
		g := &Group{
			Section: "unpack", Name: describe(key), Short: "unpack " + short(key), Runs: b.runsFor(key),
			Tools: []*Tool{
				{Name: "jailimg unpack", Argv: []string{b.bin, "unpack", "-q", b.layouts[key], at("jailimg")}, Setup: rm("jailimg"), Clean: rm("jailimg")},
				{Name: "umoci unpack", Argv: []string{"umoci", "unpack", "--image", b.layouts[key] + ":" + b.tags[key], at("umoci")}, Setup: rm("umoci"), Clean: rm("umoci")},
				{Name: "crane export | tar -x", Argv: sh(fmt.Sprintf("crane export %s - | tar -x -C %s", b.reg.ref(key+":"+b.tags[key]), at("crane"))), Setup: mk("crane"), Clean: rm("crane")},
				{Name: tarName, Argv: []string{"tar", tarFlag, "-xf", layer.Path, "-C", at("tar")}, Setup: mk("tar"), Clean: rm("tar")},
				{Name: decomp + " | tar -x", Argv: sh(fmt.Sprintf("%s %s | tar -x -C %s", decomp, layer.Path, at("pipe"))), Setup: mk("pipe"), Clean: rm("pipe")},
				{Name: "cp -a (floor)", Argv: []string{"cp", "-a", b.trees[key] + "/.", at("cp")}, Setup: mk("cp"), Clean: rm("cp")},
			},
		}
		if gzip {
			g.Targets = []Target{{Peer: tarName, Max: 1.2, Text: "≤ 1.2×"}, {Peer: "umoci unpack", Max: 0.4, Text: "≤ 0.4×"}}
		} else {
			g.Targets = []Target{{Peer: "cp -a (floor)", Max: 1.3, Text: "≤ 1.3×"}}
		}
		g.Run()
		b.groups = append(b.groups, g)
		if err := os.RemoveAll(dst); err != nil {
			return err
		}
	}
	return nil
}

// boot times `jailimg unpack` of the image a bundle already holds: what an
// rc script pays at every boot.
func (b *bench) boot() error {
	for _, key := range []string{"large-gzip", "small-gzip"} {
		g := &Group{
			Section: "boot", Name: describe(key) + ", already current", Runs: b.runsSmall,
			Tools:   []*Tool{{Name: "jailimg unpack (no-op)", Argv: []string{b.bin, "unpack", "-q", b.layouts[key], filepath.Dir(b.trees[key])}}},
			Targets: []Target{{Abs: 50 * time.Millisecond, Text: "< 50 ms"}},
		}
		g.Run()
		b.groups = append(b.groups, g)
	}
	return nil
}

// short is a chart label for an image key: "L gz", "S zst".
func short(key string) string {
	size, comp, _ := strings.Cut(key, "-")
	c := map[string]string{"gzip": "gz", "zstd": "zst"}[comp]
	return strings.ToUpper(size[:1]) + " " + c
}
