package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
// into tar reading the layer blob, and with the floors: decompressing the
// blob alone (pigz or zstd, and klauspost/compress as jailimg does),
// extracting the uncompressed tar, and cp -a of the same tree. On the small
// images it also times the unpack library alone (see bench/unpackalone).
func (b *bench) unpack() error {
	var err error
	if b.alone, err = b.buildProgram("unpackalone"); err != nil {
		return err
	}
	if b.decode, err = b.buildProgram("decodealone"); err != nil {
		return err
	}
	for _, key := range imageKeys {
		g, err := b.unpackGroup(key)
		if err != nil {
			return err
		}
		g.Run()
		if err := g.memory(key); err != nil {
			return err
		}
		b.groups = append(b.groups, g)
		if err := os.RemoveAll(filepath.Join(b.work, "unpack-out")); err != nil {
			return err
		}
	}
	return nil
}

// maxRSS is the target for jailimg unpack's peak memory on the large image.
const maxRSS = 64 << 20

// peakRuns is how many untimed runs measure the peak memory of jailimg
// unpack.
const peakRuns = 3

// memory measures the peak memory of jailimg unpack (the subject) in
// peakRuns untimed runs (see Tool.peakRSS), and checks it against maxRSS on
// the large image.
func (g *Group) memory(key string) error {
	s := g.Tools[0]
	if !s.ok() {
		return nil
	}
	var peak int64
	for range peakRuns {
		rss, err := s.peakRSS()
		if err != nil {
			return fmt.Errorf("%s: peak memory: %w", g.Name, err)
		}
		peak = max(peak, rss)
	}
	g.Notes = append(g.Notes, fmt.Sprintf("Peak memory of `jailimg unpack` (the largest maximum resident set size of %d untimed runs under GNU time): %s.", peakRuns, fmtMiB(peak)))
	if strings.HasPrefix(key, "large") {
		g.Checks = append(g.Checks, [3]string{"peak memory < " + fmtMiB(maxRSS), fmtMiB(peak), passMiss(peak < maxRSS)})
	}
	return nil
}

func fmtMiB(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// unpackGroup sets up the comparison for one image; it writes the layer's
// uncompressed tar beside its blob (untimed) for the tar -xf row.
func (b *bench) unpackGroup(key string) (*Group, error) {
	layer, err := firstLayer(b.layouts[key])
	if err != nil {
		return nil, err
	}
	dst := filepath.Join(b.work, "unpack-out")
	at := func(name string) string { return filepath.Join(dst, name) }
	mk := func(name string) func() error {
		return func() error { os.RemoveAll(at(name)); return os.MkdirAll(at(name), 0o755) }
	}
	rm := func(name string) func() error { return func() error { return os.RemoveAll(at(name)) } }
	comp := strings.TrimPrefix(key[strings.IndexByte(key, '-'):], "-")
	tarFlag, decomp := "--zstd", "zstd -dc"
	if comp == "gzip" {
		tarFlag, decomp = "-z", "pigz -dc"
	}
	plain := filepath.Join(b.work, "layer-"+key+".tar")
	if err := runQuiet(sh(fmt.Sprintf("%s %s > %s", decomp, layer.Path, plain))...); err != nil {
		return nil, err
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
			{Name: decomp + " > /dev/null (floor)", Argv: sh(fmt.Sprintf("%s %s > /dev/null", decomp, layer.Path))},
			{Name: "klauspost decode (floor)", Argv: []string{b.decode, comp, layer.Path}},
			{Name: membersName, Argv: []string{b.decode, "gzip-members", layer.Path}},
			{Name: "tar -xf, uncompressed (floor)", Argv: []string{"tar", "-xf", plain, "-C", at("plain")}, Setup: mk("plain"), Clean: rm("plain")},
			{Name: "cp -a (floor)", Argv: []string{"cp", "-a", b.trees[key] + "/.", at("cp")}, Setup: mk("cp"), Clean: rm("cp")},
		},
		Targets: unpackTargets(key, tarName, decomp),
	}
	if comp != "gzip" {
		g.Tools = slices.DeleteFunc(g.Tools, func(t *Tool) bool { return t.Name == membersName })
	}
	if strings.HasPrefix(key, "small") {
		g.Tools = slices.Insert(g.Tools, 1, &Tool{Name: aloneName, Argv: []string{b.alone, b.layouts[key], at("alone")}, Setup: rm("alone"), Clean: rm("alone")})
	}
	// the fixed part of an unpack: the bundle of the tree already holds the image
	g.Tools = append(g.Tools, &Tool{Name: noopName, Argv: []string{b.bin, "unpack", "-q", b.layouts[key], filepath.Dir(b.trees[key])}})
	if strings.HasPrefix(key, "small") {
		g.Tools = append(g.Tools, &Tool{Name: aloneNoopName, Argv: []string{b.alone, b.layouts[key], filepath.Dir(b.trees[key])}})
	}
	if b.before != "" {
		g.Tools = slices.Insert(g.Tools, 1, &Tool{Name: beforeName, Argv: []string{b.before, "unpack", "-q", b.layouts[key], at("before")}, Setup: rm("before"), Clean: rm("before")})
	}
	return g, nil
}

const (
	membersName   = "klauspost decode, members on every core (floor)"
	noopName      = "jailimg unpack, already current"
	beforeName    = "jailimg unpack, before (BENCH_BEFORE)"
	aloneName     = "unpack library alone"
	aloneNoopName = "unpack library alone, already current"
)

// buildProgram builds the program bench/name into the work directory as
// make builds jailimg (static, no cgo), with the go command make bench
// passes (GO), and returns its path.
func (b *bench) buildProgram(name string) (string, error) {
	bin := filepath.Join(b.work, name)
	cmd := exec.Command(envOr("GO", "go"), "build", "-trimpath", "-o", bin, "./bench/"+name)
	cmd.Dir, cmd.Env = b.repo, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building bench/%s: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	return bin, nil
}

// breakdown says where the time of jailimg's unpack of a small image goes,
// from the medians of its group g: against decompressing alone (the
// klauspost decode row, a process of its own), the fixed part (an unpack of
// an image already current: process start, reading and verifying the
// layout, locking the bundle), the same library calls in a program of their
// own (bench/unpackalone, fresh and already current: what the jailimg
// binary's start adds), and the BENCH_BEFORE binary's. It is
// computed when the doc is written, so -report renders it from the saved
// measurements.
func breakdown(g *Group) string {
	if !strings.HasPrefix(g.Name, "small") {
		return ""
	}
	s, noop, dec := g.Tools[0], g.tool(noopName), g.tool("klauspost decode (floor)")
	if !s.ok() || noop == nil || !noop.ok() || dec == nil || !dec.ok() {
		return ""
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }
	total, fixed, decode := s.Median(), noop.Median(), dec.Median()
	line := fmt.Sprintf("Where the time of `jailimg unpack` goes on the %s (medians of its table): %s in all, %s more than decompressing the layer alone in a process of its own (klauspost decode, %s, its own start included). "+
		"The fixed part of an unpack (`jailimg unpack` of the image already current: process start, reading and verifying the layout, locking the bundle) takes %s; writing the files, hashing and checking overlap with decompression in the pipeline.",
		g.Name, ms(total), ms(total-decode), ms(decode), ms(fixed))
	if a := g.tool(aloneName); a != nil && a.ok() {
		line += fmt.Sprintf(" The same library calls in a program of their own (%s, bench/unpackalone: layout.Image and unpack.Unpack, nothing else linked) take %s, %.2f× decompressing alone; the %s between the two is the start of the jailimg binary beyond what the library needs: the packages of its other commands are initialised at every start.",
			aloneName, ms(a.Median()), float64(a.Median())/float64(decode), ms(total-a.Median()))
		if an := g.tool(aloneNoopName); an != nil && an.ok() {
			line += fmt.Sprintf(" The two already-current rows measure that start on its own: %s for jailimg, %s for the library alone.", ms(fixed), ms(an.Median()))
		}
	}
	if bt := g.tool(beforeName); bt != nil && bt.ok() {
		line += fmt.Sprintf(" Before (the BENCH_BEFORE binary): %s in all, %s more than decompressing alone.", ms(bt.Median()), ms(bt.Median()-decode))
	}
	return line
}

// unpackTargets are issue 19's (against the floors and umoci), and the
// first bench's (against tar).
func unpackTargets(key, tarName, decomp string) []Target {
	switch key {
	case "large-gzip":
		return []Target{
			{Peer: decomp + " > /dev/null (floor)", Max: 1.3, Text: "≤ 1.3×"},
			{Peer: "klauspost decode (floor)", Max: 1.15, Text: "≈ 1.1× (≤ 1.15×)"},
			{Peer: "umoci unpack", Max: 0.25, Text: "≤ 0.25×"},
			{Peer: tarName, Max: 1.2, Text: "≤ 1.2×"},
		}
	case "small-gzip":
		return []Target{
			{Peer: "klauspost decode (floor)", Max: 1.15, Text: "≤ 1.15×"},
			{Peer: "umoci unpack", Max: 0.5, Text: "≈ 0.45–0.5× (≤ 0.5×)"},
			{Peer: tarName, Max: 1.2, Text: "≤ 1.2×"},
		}
	case "large-zstd":
		return []Target{{Peer: "cp -a (floor)", Max: 1.1, Text: "≤ 1.1×"}}
	case "small-zstd":
		// The small-image target, for either compression: for a
		// few MB, decompressing (and faulting in the decoder's window) is
		// the floor, not writing.
		return []Target{{Peer: "klauspost decode (floor)", Max: 1.15, Text: "≤ 1.15×"}}
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
