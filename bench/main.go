package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// bench is the state of one run: configuration, prepared data, results.
type bench struct {
	bin        string // absolute path of the jailimg binary
	alone      string // bench/unpackalone, built by unpack
	decode     string // bench/decodealone, built by unpack
	before     string // BENCH_BEFORE: an earlier jailimg binary to compare, or ""
	repo       string // repository root (for recipes/)
	work       string
	size       int64
	runs       int // large data
	runsSmall  int // small data and fast cases
	sections   []string
	out        string
	tree       string            // generated tree
	treeFiles  int               // files in it
	layouts    map[string]string // image key (large-gzip, …) -> OCI layout
	tags       map[string]string // image key -> tag
	trees      map[string]string // image key -> an unpacked copy (cp -a's source)
	reg, fresh *registry         // holds the images; wiped before each first push
	groups     []*Group
	facts      map[string][]string // section -> extra lines for the doc
	started    time.Time
	took       time.Duration
	loadBefore string
	// machineInfo and versionInfo are taken at the end of the measurements.
	machineInfo, versionInfo [][2]string
	reportOnly               bool
}

func main() {
	b, err := configure()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if err := b.run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func configure() (*bench, error) {
	if len(os.Args) != 2 {
		return nil, fmt.Errorf("usage: go run ./bench JAILIMG-BINARY|-report (environment: see bench/doc.go)")
	}
	reportOnly := os.Args[1] == "-report"
	bin, err := filepath.Abs(os.Args[1])
	if err != nil {
		return nil, err
	}
	repo, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	b := &bench{
		bin: bin, repo: repo, before: os.Getenv("BENCH_BEFORE"),
		work:       envOr("BENCH_DIR", "/dev/shm/jailimg-bench"),
		out:        envOr("BENCH_OUT", "docs/benchmarks.md"),
		sections:   strings.Split(envOr("BENCH_SECTIONS", "resolve,build,unpack,registry,boot,packages"), ","),
		layouts:    map[string]string{},
		tags:       map[string]string{},
		trees:      map[string]string{},
		facts:      map[string][]string{},
		started:    time.Now(),
		runs:       5,
		runsSmall:  15,
		reportOnly: reportOnly,
	}
	if b.size, err = parseSize(envOr("BENCH_SIZE", "500M")); err != nil {
		return nil, fmt.Errorf("BENCH_SIZE: %w", err)
	}
	for _, v := range []struct {
		env string
		p   *int
	}{{"BENCH_RUNS", &b.runs}, {"BENCH_RUNS_SMALL", &b.runsSmall}} {
		if s := os.Getenv(v.env); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("%s: %q is not a positive whole number", v.env, s)
			}
			*v.p = n
		}
	}
	for _, s := range b.sections {
		if !slices.Contains([]string{"resolve", "build", "unpack", "registry", "boot", "packages"}, s) {
			return nil, fmt.Errorf("BENCH_SECTIONS: unknown section %q", s)
		}
	}
	return b, nil
}

func (b *bench) want(section string) bool { return slices.Contains(b.sections, section) }

func (b *bench) run() error {
	if b.reportOnly {
		if err := b.load(); err != nil {
			return err
		}
		return b.report()
	}
	b.loadBefore = loadavg()
	if err := os.RemoveAll(b.work); err != nil {
		return err
	}
	if err := os.MkdirAll(b.work, 0o755); err != nil {
		return err
	}
	defer func() {
		if b.reg != nil {
			b.reg.stop()
		}
		if b.fresh != nil {
			b.fresh.stop()
		}
	}()
	if b.want("resolve") {
		if err := b.resolve(); err != nil {
			return fmt.Errorf("resolve: %w", err)
		}
	}
	if b.want("build") || b.want("unpack") || b.want("registry") || b.want("boot") {
		if err := b.prepare(); err != nil {
			return fmt.Errorf("preparing data: %w", err)
		}
	}
	for _, s := range []struct {
		name string
		fn   func() error
	}{{"build", b.build}, {"unpack", b.unpack}, {"registry", b.registry}, {"boot", b.boot}, {"packages", b.packages}} {
		if b.want(s.name) {
			if err := s.fn(); err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
		}
	}
	b.took = time.Since(b.started)
	b.machineInfo, b.versionInfo = b.machine(), b.versions()
	if err := b.save(); err != nil {
		return err
	}
	if err := b.report(); err != nil {
		return err
	}
	logf("wrote %s, %s and %s in %s", b.out, pngPath(b.out), jsonPath(b.out), b.took.Round(time.Second))
	return os.RemoveAll(b.work)
}

// prepare generates the tree, builds the four images (large and small,
// gzip and zstd), starts the registries and pushes the images, and unpacks
// each once as cp -a's source.
func (b *bench) prepare() error {
	b.tree = filepath.Join(b.work, "tree")
	logf("generating %s of files in %s", humanBytes(b.size), b.tree)
	n, err := genTree(b.tree, b.size, 1)
	if err != nil {
		return err
	}
	b.treeFiles = n
	recipe := filepath.Join(b.work, "large.yaml")
	if err := os.WriteFile(recipe, []byte(largeRecipe(b.tree)), 0o644); err != nil {
		return err
	}
	if b.reg, err = startRegistry(filepath.Join(b.work, "registry")); err != nil {
		return err
	}
	if b.fresh, err = startRegistry(filepath.Join(b.work, "registry-fresh")); err != nil {
		return err
	}
	for _, im := range []struct{ key, recipe, tag string }{
		{"large-gzip", recipe, "1"}, {"large-zstd", recipe, "1"},
		{"small-gzip", filepath.Join(b.repo, "recipes/nginx.yaml"), "1.22"}, {"small-zstd", filepath.Join(b.repo, "recipes/nginx.yaml"), "1.22"},
	} {
		layout := filepath.Join(b.work, "img", im.key)
		comp := strings.TrimPrefix(im.key[strings.IndexByte(im.key, '-'):], "-")
		logf("building %s", im.key)
		if err := runQuiet(b.bin, "build", "-q", "--compression", comp, "-o", layout, im.recipe); err != nil {
			return err
		}
		if err := runQuiet(b.bin, "push", "-q", layout, b.reg.ref(im.key+":"+im.tag)); err != nil {
			return err
		}
		bundle := filepath.Join(b.work, "ref", im.key)
		if err := runQuiet(b.bin, "unpack", "-q", layout, bundle); err != nil {
			return err
		}
		b.layouts[im.key], b.tags[im.key], b.trees[im.key] = layout, im.tag, filepath.Join(bundle, "current")
	}
	return nil
}

func largeRecipe(tree string) string {
	return fmt.Sprintf("# generated by bench/: %s of seeded random files\nname: large\nversion: \"1\"\nfiles:\n  - {src: %s, dst: /data}\n", tree, tree)
}

// runQuiet runs a preparation command, failing with its stderr.
func runQuiet(argv ...string) error {
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(abbrev(argv), " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "G"):
		mult, s = 1e9, strings.TrimSuffix(s, "G")
	case strings.HasSuffix(s, "M"):
		mult, s = 1e6, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "K"):
		mult, s = 1e3, strings.TrimSuffix(s, "K")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a size such as 500M", s)
	}
	return n * mult, nil
}

func humanBytes(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}
