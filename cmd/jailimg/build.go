package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/jailimg/jailimg/pkg/build"
	"github.com/jailimg/jailimg/pkg/layout"
	"github.com/jailimg/jailimg/pkg/recipe"
	"github.com/jailimg/jailimg/pkg/sysroot"
	"github.com/spf13/cobra"
)

// buildOptions are the flags of `jailimg build`.
type buildOptions struct {
	output      string
	tag         string
	compression string
	root        string
	json        bool
	annotations []string
	push        string
	registry    registryFlags
	attest      bool
	key         keyFlags
	cache       string
	offline     bool
}

func newCmdBuild() *cobra.Command {
	o := &buildOptions{}
	cmd := &cobra.Command{
		Use:   "build RECIPE",
		Short: "Build a jail image from a recipe into an OCI image layout",
		Long: `Build the jail a recipe describes and store it as a one-layer OCI image in an
OCI image layout directory (default ./out/NAME), tagged with --tag (default:
the recipe's version, else "latest").

The binaries are copied with exactly the shared libraries the dynamic loader
would load for them, the recipe's files, directories, symlinks and devices
are added, and /etc/passwd, /etc/group and /etc/shadow hold only the recipe's
users. The output is reproducible: the same recipe and host files give the
same manifest digest, whatever the directory, umask, time or machine. Entry
mtimes and the image's created time come from SOURCE_DATE_EPOCH, else the
recipe's epoch, else 0.

The layout is written beside --output and renamed into place at the end: a
failed build leaves the previous output as it was. The manifest digest is
printed on stdout.

A recipe with packages: is built from the Debian packages its lock file
(RECIPE.lock.json, written by jailimg lock) pins: the .deb files are fetched
into --cache through apt (with --offline, only the cache is used and nothing
outside jailimg runs), each checked against the lock's SHA256 on every build,
and extracted once into a private root, without running maintainer scripts,
that binaries, libraries and absolute file sources are copied from. Such a
build also writes an SPDX 2.3 SBOM of the jail (every file, the package it
came from, every locked package with its version) into the layout beside the
image, as an OCI 1.1 artifact referring to it, and --push attaches it.

With --push REF the image is then uploaded to a registry as ` + "`jailimg push`" + ` does,
with the same registry flags; --annotation adds manifest annotations such as
org.opencontainers.image.source and .revision.

--sign-key KEY signs the image as ` + "`jailimg sign`" + ` does, in the layout (and so
in the registry with --push). --attest attaches the image's SLSA provenance
v1 (an in-toto statement: the recipe's sha256, the build's settings, and
every file copied into the jail with the sha256 of the bytes the layer got),
as cosign attest does, signed with --sign-key's key when given; cosign
verify-attestation --type slsaprovenance1 checks it. See docs/signing.md.`,
		Example: `  jailimg build recipes/nginx.yaml
  SOURCE_DATE_EPOCH=$(git log -1 --format=%ct) jailimg build --compression zstd -o /var/lib/jails/nginx recipes/nginx.yaml
  jailimg build --json recipes/bash.yaml | jq -r .digest
  jailimg build --push registry.example.com/jails/bash:5.2 --annotation org.opencontainers.image.revision=$(git rev-parse HEAD) recipes/bash.yaml
  COSIGN_PASSWORD=... jailimg build --attest --sign-key cosign.key --push registry.example.com/jails/nginx:1.22 recipes/nginx.yaml`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			return runBuild(cmd.Context(), o, a[0], cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "", "OCI image layout directory to write (default ./out/NAME)")
	f.StringVarP(&o.tag, "tag", "t", "", `tag of the image in the layout (default: the recipe's version, else "latest")`)
	f.StringVar(&o.compression, "compression", "", "layer compression, gzip or zstd (default: the recipe's, else gzip)")
	f.StringVar(&o.root, "root", "/", "take binaries and absolute sources from this root file system")
	f.BoolVar(&o.json, "json", false, "print the result as JSON")
	f.StringArrayVar(&o.annotations, "annotation", nil, "add a manifest annotation `KEY=VALUE` (repeatable)")
	f.StringVar(&o.push, "push", "", "push the image to this registry `REF` after writing the layout")
	f.StringVar(&o.cache, "cache", sysroot.DefaultDir, "package cache `DIR` of a recipe with packages: (.deb files and their extracted roots)")
	f.BoolVar(&o.offline, "offline", false, "build a recipe with packages: from the cache only: no apt, no network")
	o.registry.AddRegistryFlags(f)
	o.key.AddKeyFlags(f, "sign-key", "sign the image (and its provenance) with this private `KEY` file (cosign's, or PEM ECDSA P-256 or Ed25519)")
	f.BoolVar(&o.attest, "attest", false, "attach the image's SLSA provenance (in-toto statement), signed with --sign-key's key when given")
	cmd.RegisterFlagCompletionFunc("compression", cobra.FixedCompletions([]string{"gzip", "zstd"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// buildResult is what `jailimg build --json` prints.
type buildResult struct {
	Name   string `json:"name"`
	Digest string `json:"digest"`
	Output string `json:"output"`
	Tag    string `json:"tag"`
	Size   int64  `json:"size"` // bytes of manifest, config and layers
}

func runBuild(ctx context.Context, o *buildOptions, recipePath string, stdin io.Reader, stdout io.Writer) error {
	r, err := recipe.Load(recipePath)
	if errors.Is(err, fs.ErrNotExist) {
		return inputError{err} // the recipe to build is missing
	} else if err != nil {
		return err
	}
	p, err := o.plan(r)
	if err != nil {
		return err
	}
	key, err := o.key.load(stdin, &o.registry)
	if err != nil {
		return err
	}
	var inputs []build.Input
	if o.attest {
		p.opts = append(p.opts, build.WithInputs(func(in []build.Input) { inputs = in }))
	}
	pkgs, err := o.packages(ctx, r, p)
	if err != nil {
		return err
	}
	built, err := build.Build(ctx, r, p.opts...)
	if err != nil {
		return err
	}
	sbomArt, err := pkgs.sbom(ctx, r, built, p.tag)
	if err != nil {
		return err
	}
	res, err := writeBuild(ctx, built.Image, r.Name, p, sbomArt)
	if err != nil {
		return err
	}
	a, err := attachBuild(ctx, o, r, p, built.Image, key, inputs)
	if err != nil {
		return err
	}
	a.referrers = artifacts(sbomArt)
	if p.push != nil {
		return pushImage(ctx, &o.registry, built.Image, p.push, a, o.json, stdin, stdout)
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	_, err = fmt.Fprintln(stdout, res.Digest)
	return err
}

// buildPlan is what the flags of one build ask for, checked.
type buildPlan struct {
	opts   []build.Option
	output string         // the layout directory
	tag    string         // the image's tag in it
	push   name.Reference // where to push it, or nil
}

// plan checks the flags against the recipe r (adding --annotation to it)
// and returns what the build is to do; a bad flag is a usageError.
func (o *buildOptions) plan(r *recipe.Recipe) (*buildPlan, error) {
	if err := o.annotate(r); err != nil {
		return nil, err
	}
	p := &buildPlan{}
	if o.push != "" {
		ref, err := o.registry.parseRef(o.push)
		if err != nil {
			return nil, err
		}
		p.push = ref
	}
	var err error
	if p.opts, err = o.buildOpts(); err != nil {
		return nil, err
	}
	if p.tag, err = o.imageTag(r); err != nil {
		return nil, err
	}
	if p.output, err = o.outputDir(r); err != nil {
		return nil, err
	}
	// The layer waits beside the output, so that writing the layout copies
	// it in the kernel (and a tmpfs /tmp holds nothing); else in TMPDIR.
	if fi, err := os.Stat(filepath.Dir(p.output)); err == nil && fi.IsDir() {
		p.opts = append(p.opts, build.WithTempDir(filepath.Dir(p.output)))
	}
	return p, nil
}

// annotate adds the --annotation KEY=VALUE flags to r's annotations.
func (o *buildOptions) annotate(r *recipe.Recipe) error {
	for _, a := range o.annotations {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return usageError{fmt.Errorf("--annotation %q: want KEY=VALUE", a)}
		}
		if r.Annotations == nil {
			r.Annotations = map[string]string{}
		}
		r.Annotations[k] = v
	}
	return nil
}

// buildOpts turns --root, --compression and SOURCE_DATE_EPOCH into build options.
func (o *buildOptions) buildOpts() ([]build.Option, error) {
	if fi, err := os.Stat(o.root); err != nil || !fi.IsDir() {
		return nil, usageError{fmt.Errorf("--root %q: not a directory", o.root)}
	}
	opts := []build.Option{build.WithRoot(o.root), build.WithLogger(logger())}
	if o.compression != "" {
		if o.compression != "gzip" && o.compression != "zstd" {
			return nil, usageError{fmt.Errorf("--compression %q: want gzip or zstd", o.compression)}
		}
		opts = append(opts, build.WithCompression(compression.Compression(o.compression)))
	}
	if s, ok := os.LookupEnv("SOURCE_DATE_EPOCH"); ok {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil || sec < 0 || sec > 253402300799 {
			return nil, usageError{fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds from 0 to 253402300799 (year 9999)", s)}
		}
		opts = append(opts, build.WithEpoch(sec))
	}
	return opts, nil
}

// imageTag returns --tag, checked, else the recipe's version, else "latest".
func (o *buildOptions) imageTag(r *recipe.Recipe) (string, error) {
	switch {
	case o.tag != "":
		if _, err := name.NewTag("x:" + o.tag); err != nil || strings.Contains(o.tag, ":") {
			return "", usageError{fmt.Errorf("--tag %q: a tag is 1-128 characters of A-Z a-z 0-9 _ . - not starting with . or -", o.tag)}
		}
		return o.tag, nil
	case r.Version != "":
		return r.Version, nil
	}
	return "latest", nil
}

// outputDir returns --output, checked, else out/NAME.
func (o *buildOptions) outputDir(r *recipe.Recipe) (string, error) {
	out := o.output
	if out == "" {
		out = filepath.Join("out", r.Name)
	}
	if base := filepath.Base(filepath.Clean(out)); base == "." || base == ".." {
		// The layout is swapped in by a rename of the directory itself.
		return "", usageError{fmt.Errorf("-o %q: the output directory must be named, not . or .. (e.g. -o ../%s)", out, r.Name)}
	}
	return out, nil
}

// writeBuild writes img, and its SBOM if not nil, into the plan's layout
// and describes the result.
func writeBuild(ctx context.Context, img v1.Image, name string, p *buildPlan, sbomArt v1.Image) (*buildResult, error) {
	var wopts []layout.WriteOption
	if sbomArt != nil {
		wopts = append(wopts, layout.WithReferrer(sbomArt))
	}
	if err := layout.Write(ctx, p.output, img, p.tag, wopts...); err != nil {
		return nil, err
	}
	digest, err := img.Digest()
	if err != nil {
		return nil, err
	}
	size, err := imageSize(img)
	if err != nil {
		return nil, err
	}
	logger().Info("built", "name", name, "output", p.output, "tag", p.tag, "bytes", size)
	return &buildResult{Name: name, Digest: digest.String(), Output: p.output, Tag: p.tag, Size: size}, nil
}

// imageSize adds up the bytes of an image's manifest, config and layers.
func imageSize(img v1.Image) (int64, error) {
	m, err := img.Manifest()
	if err != nil {
		return 0, err
	}
	raw, err := img.RawManifest()
	if err != nil {
		return 0, err
	}
	size := int64(len(raw)) + m.Config.Size
	for _, l := range m.Layers {
		size += l.Size
	}
	return size, nil
}
