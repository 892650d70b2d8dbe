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
	epoch       *int64
	compression compression.Compression
	tempDir     string
	logger      *slog.Logger
	inputs      func([]Input) // WithInputs
	collected   *inputs       // where Image collects them, when inputs is set
}

// WithRoot reads binaries, libraries and absolute file sources from the
// file system rooted at dir instead of "/" (a sysroot, an unpacked image).
func WithRoot(dir string) Option { return func(o *options) { o.root = dir } }

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
	o := makeOptions(r, opts)
	if o.inputs != nil {
		o.collected = &inputs{got: map[string]Input{}}
	}
	t, arch, err := buildTree(ctx, r, o)
	if err != nil {
		return nil, err
	}
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
	return image.New(cfg, l)
}

// buildTree builds the recipe's jail tree, checked for unsafe modes, and
// returns it with the GOARCH of its binaries.
func buildTree(ctx context.Context, r *recipe.Recipe, o options) (*tree.Tree, string, error) {
	b := newBuilder(r, o)
	steps := []func(context.Context) error{b.closure, b.files, b.dirs, b.symlinks, b.devices, b.etc, b.placeholders, b.dpkg}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return nil, "", err
		}
	}
	if err := b.t.Check(); err != nil {
		return nil, "", err
	}
	if w := r.Workdir; w != "" && w != "/" {
		// jailimg run would fail at start; say so at build time.
		if e, ok := b.t.Get(w); !ok || e.Type != tree.Dir {
			return nil, "", r.Errorf("workdir", "%s is not a directory of the jail (add it under dirs:)", w)
		}
	}
	return b.t, b.arch, nil
}
