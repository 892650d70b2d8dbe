package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// build compares `jailimg build` of the large recipe with tar piped into
// gzip, pigz and zstd over the same tree, and records the output sizes.
func (b *bench) build() error {
	recipe := filepath.Join(b.work, "large.yaml")
	out := filepath.Join(b.work, "build-out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	rm := func(p string) func() error { return func() error { return os.RemoveAll(p) } }
	jg := func(comp string) *Tool {
		o := filepath.Join(out, "jailimg-"+comp)
		return &Tool{Name: "jailimg build", Argv: []string{b.bin, "build", "-q", "--compression", comp, "-o", o, recipe}, Setup: rm(o)}
	}
	tarTo := func(name, compressor, file string) *Tool {
		o := filepath.Join(out, file)
		return &Tool{Name: name, Argv: sh(fmt.Sprintf("tar -c -C %s . | %s > %s", b.tree, compressor, o)), Setup: rm(o)}
	}
	gz := &Group{
		Section: "build", Name: "large tree, gzip", Short: "build gz", Runs: b.runs,
		Tools:   []*Tool{jg("gzip"), tarTo("tar -c | gzip", "gzip", "tree.tar.gz"), tarTo("tar -c | pigz", "pigz", "tree.tar.pigz.gz")},
		Targets: []Target{{Peer: "tar -c | pigz", Max: 1.2, Text: "≤ 1.2×"}},
	}
	zs := &Group{
		Section: "build", Name: "large tree, zstd", Short: "build zst", Runs: b.runs,
		Tools: []*Tool{jg("zstd"), tarTo("tar -c | zstd -T0", "zstd -q -T0", "tree.tar.zst")},
	}
	for _, g := range []*Group{gz, zs} {
		g.Run()
		b.groups = append(b.groups, g)
	}
	var lines []string
	lines = append(lines, "| output | compressed size | of the tree |", "|---|---:|---:|")
	for _, f := range []struct{ name, path string }{
		{"jailimg build, gzip layer", filepath.Join(out, "jailimg-gzip")},
		{"tar -c \\| gzip", filepath.Join(out, "tree.tar.gz")},
		{"tar -c \\| pigz", filepath.Join(out, "tree.tar.pigz.gz")},
		{"jailimg build, zstd layer", filepath.Join(out, "jailimg-zstd")},
		{"tar -c \\| zstd -T0", filepath.Join(out, "tree.tar.zst")},
	} {
		size, err := fileOrLayerSize(f.path)
		if err != nil {
			lines = append(lines, fmt.Sprintf("| %s | (%v) | |", f.name, err))
			continue
		}
		lines = append(lines, fmt.Sprintf("| %s | %s | %.1f%% |", f.name, humanBytes(size), 100*float64(size)/float64(b.size)))
	}
	b.facts["build"] = append(b.facts["build"], strings.Join(lines, "\n"))
	return os.RemoveAll(out)
}

// fileOrLayerSize is a file's size, or the size of the first layer of the
// OCI layout at p.
func fileOrLayerSize(p string) (int64, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return 0, err
	}
	if !fi.IsDir() {
		return fi.Size(), nil
	}
	l, err := firstLayer(p)
	if err != nil {
		return 0, err
	}
	return l.Size, nil
}

type descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
}

// firstLayer reads the first layer's descriptor of the first manifest of an
// OCI layout; Path is its blob.
func firstLayer(layout string) (struct {
	descriptor
	Path string
}, error) {
	var res struct {
		descriptor
		Path string
	}
	var index struct{ Manifests []descriptor }
	if err := readJSON(filepath.Join(layout, "index.json"), &index); err != nil {
		return res, err
	}
	if len(index.Manifests) == 0 {
		return res, fmt.Errorf("%s: index.json: no manifest", layout)
	}
	var m struct{ Layers []descriptor }
	if err := readJSON(blobPath(layout, index.Manifests[0].Digest), &m); err != nil {
		return res, err
	}
	if len(m.Layers) == 0 {
		return res, fmt.Errorf("%s: manifest: no layer", layout)
	}
	res.descriptor, res.Path = m.Layers[0], blobPath(layout, m.Layers[0].Digest)
	return res, nil
}

func blobPath(layout, digest string) string {
	return filepath.Join(layout, "blobs", "sha256", strings.TrimPrefix(digest, "sha256:"))
}

func readJSON(p string, v any) error {
	data, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	return nil
}
