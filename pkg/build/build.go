package build

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/go-containerregistry/pkg/compression"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/jailimg/jailimg/pkg/image"
	"github.com/jailimg/jailimg/pkg/layer"
	"github.com/jailimg/jailimg/pkg/recipe"
	"github.com/jailimg/jailimg/pkg/tree"
)

// Option configures a build.
type Option func(*options)

type options struct {
	root        string
	source      Source
	epoch       *int64
	compression compression.Compression
	tempDir     string
	logger      *slog.Logger
	inputs      func([]Input) // WithInputs
	collected   *inputs       // where Image collects them, when inputs is set
}

// WithRoot reads binaries, libraries and absolute file sources from the
// file system rooted at dir instead of "/" (a sysroot, an unpacked image).
// With WithSource, dir is the host that files: entries marked from: host
// are read from.
func WithRoot(dir string) Option { return func(o *options) { o.root = dir } }

// WithSource reads binaries, libraries and absolute file sources from s,
// such as the root of a recipe's locked packages (default: Host of the
// WithRoot directory).
func WithSource(s Source) Option { return func(o *options) { o.source = s } }

// WithEpoch sets the mtime of every entry and the image's created time, in
// Unix seconds, over the recipe's epoch (default: the recipe's, else 0).
// The CLI passes SOURCE_DATE_EPOCH here.
func WithEpoch(sec int64) Option { return func(o *options) { o.epoch = &sec } }

// WithCompression overrides the recipe's layer compression (default gzip).
func WithCompression(c compression.Compression) Option {
	return func(o *options) { o.compression = c }
}

// WithTempDir sets where the layer's compressed bytes are kept until the
// image is written (default os.TempDir()). On the output's file system, the
// layout writer copies them in the kernel.
func WithTempDir(dir string) Option { return func(o *options) { o.tempDir = dir } }

// WithLogger sets where progress is reported (default: nowhere).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

func makeOptions(r *recipe.Recipe, opts []Option) options {
	o := options{root: "/", logger: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(&o)
	}
	if o.source == nil {
		o.source = Host(o.root)
	}
	if o.epoch == nil {
		var zero int64
		o.epoch = &zero
		if r.Epoch != nil {
			o.epoch = r.Epoch
		}
	}
	if o.compression == "" {
		o.compression = compression.GZip
		if r.Compression != "" {
			o.compression = compression.Compression(r.Compression)
		}
	}
	return o
}

// Image builds the recipe's jail image: the jail tree, then one
// reproducible layer, then the image config and manifest.
func Image(ctx context.Context, r *recipe.Recipe, opts ...Option) (v1.Image, error) {
	res, err := Build(ctx, r, opts...)
	if err != nil {
		return nil, err
	}
	return res.Image, nil
}

// Result is what Build made.
type Result struct {
	// Image is the jail image.
	Image v1.Image
	// Files lists the jail's regular files copied from the Source, in the
	// order they were added: the SBOM's file to package map.
	Files []SourceFile
}

// Build builds the recipe's jail image as Image does, and says which of
// its files came from where in the Source.
func Build(ctx context.Context, r *recipe.Recipe, opts ...Option) (*Result, error) {
	o := makeOptions(r, opts)
	if o.inputs != nil {
		o.collected = &inputs{got: map[string]Input{}}
	}
	b, err := buildTree(ctx, r, o)
	if err != nil {
		return nil, err
	}
	t, arch := b.t, b.arch
	epoch := time.Unix(*o.epoch, 0).UTC()
	o.logger.Info("writing layer", "entries", t.Len(), "compression", o.compression)
	lopts := []layer.Option{layer.WithCompression(o.compression), layer.WithModTime(epoch)}
	if o.tempDir != "" {
		lopts = append(lopts, layer.WithTempDir(o.tempDir))
	}
	l, err := layer.FromTree(ctx, t, lopts...)
	if err != nil {
		return nil, fmt.Errorf("building %s: %w", r.Path, err)
	}
	if o.inputs != nil {
		o.inputs(o.collected.list())
	}
	cfg, err := imageConfig(r, arch, epoch)
	if err != nil {
		return nil, err
	}
	img, err := image.New(cfg, l)
	if err != nil {
		return nil, err
	}
	return &Result{Image: img, Files: b.fromSource}, nil
}

// buildTree builds the recipe's jail tree, checked for unsafe modes; the
// builder holds it, the GOARCH of its binaries and what came from the
// Source.
func buildTree(ctx context.Context, r *recipe.Recipe, o options) (*builder, error) {
	b := newBuilder(r, o)
	// files before the closure: the ELF objects they copy are resolved with the binaries.
	steps := []func(context.Context) error{b.files, b.closure, b.dirs, b.symlinks, b.devices, b.etc, b.placeholders, b.dpkg}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return nil, err
		}
	}
	if err := b.t.Check(); err != nil {
		return nil, err
	}
	if w := r.Workdir; w != "" && w != "/" {
		// jailimg run would fail at start; say so at build time.
		if e, ok := b.t.Get(w); !ok || e.Type != tree.Dir {
			return nil, r.Errorf("workdir", "%s is not a directory of the jail (add it under dirs:)", w)
		}
	}
	if err := b.checkCommand(); err != nil {
		return nil, err
	}
	return b, nil
}
