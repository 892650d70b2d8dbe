package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
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

With --push REF the image is then uploaded to a registry as ` + "`jailimg push`" + ` does,
with the same registry flags; --annotation adds manifest annotations such as
org.opencontainers.image.source and .revision.`,
		Example: `  jailimg build recipes/nginx.yaml
  SOURCE_DATE_EPOCH=$(git log -1 --format=%ct) jailimg build --compression zstd -o /var/lib/jails/nginx recipes/nginx.yaml
  jailimg build --json recipes/bash.yaml | jq -r .digest
  jailimg build --push registry.example.com/jails/bash:5.2 --annotation org.opencontainers.image.revision=$(git rev-parse HEAD) recipes/bash.yaml`,
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
	o.registry.AddRegistryFlags(f)
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
	if err != nil {
		return err
	}
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
	var pushRef name.Reference
	if o.push != "" {
		if pushRef, err = o.registry.parseRef(o.push); err != nil {
			return err
		}
	}
	if fi, err := os.Stat(o.root); err != nil || !fi.IsDir() {
		return usageError{fmt.Errorf("--root %q: not a directory", o.root)}
	}
	opts := []build.Option{build.WithRoot(o.root), build.WithLogger(logger())}
	if o.compression != "" {
		if o.compression != "gzip" && o.compression != "zstd" {
			return usageError{fmt.Errorf("--compression %q: want gzip or zstd", o.compression)}
		}
		opts = append(opts, build.WithCompression(compression.Compression(o.compression)))
	}
	if s, ok := os.LookupEnv("SOURCE_DATE_EPOCH"); ok {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil || sec < 0 || sec > 253402300799 {
			return usageError{fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds from 0 to 253402300799 (year 9999)", s)}
		}
		opts = append(opts, build.WithEpoch(sec))
	}
	res := buildResult{Name: r.Name, Output: o.output, Tag: o.tag}
	if res.Tag != "" {
		if _, err := name.NewTag("x:" + res.Tag); err != nil || strings.Contains(res.Tag, ":") {
			return usageError{fmt.Errorf("--tag %q: a tag is 1-128 characters of A-Z a-z 0-9 _ . - not starting with . or -", res.Tag)}
		}
	}
	if res.Output == "" {
		res.Output = filepath.Join("out", r.Name)
	}
	if filepath.Base(filepath.Clean(res.Output)) == "." || filepath.Base(filepath.Clean(res.Output)) == ".." {
		// The layout is swapped in by a rename of the directory itself.
		return usageError{fmt.Errorf("-o %q: the output directory must be named, not . or .. (e.g. -o ../%s)", res.Output, r.Name)}
	}
	// The layer waits beside the output, so that writing the layout copies
	// it in the kernel (and a tmpfs /tmp holds nothing); else in TMPDIR.
	if fi, err := os.Stat(filepath.Dir(res.Output)); err == nil && fi.IsDir() {
		opts = append(opts, build.WithTempDir(filepath.Dir(res.Output)))
	}
	img, err := build.Image(ctx, r, opts...)
	if err != nil {
		return err
	}
	if res.Tag == "" {
		res.Tag = "latest"
		if r.Version != "" {
			res.Tag = r.Version
		}
	}
	if err := layout.Write(ctx, res.Output, img, res.Tag); err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	res.Digest = digest.String()
	res.Size, err = imageSize(img)
	if err != nil {
		return err
	}
	logger().Info("built", "name", r.Name, "output", res.Output, "tag", res.Tag, "bytes", res.Size)
	if pushRef != nil {
		return pushImage(ctx, &o.registry, img, pushRef, o.json, stdin, stdout)
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	_, err = fmt.Fprintln(stdout, res.Digest)
	return err
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
