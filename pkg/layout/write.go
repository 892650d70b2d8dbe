package layout

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	ocilayout "github.com/google/go-containerregistry/pkg/v1/layout"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// Write stores img in a new OCI image layout at dir, tagged with tag
// through the org.opencontainers.image.ref.name annotation, with the
// artifacts WithReferrer adds. The layout is written beside dir and
// renamed into place at the end: on failure dir is left as it was. An
// existing dir is replaced only if it is an OCI layout or empty, under the
// layout's lock as Update takes it: a concurrent writer of the same layout
// finishes before or starts after.
func Write(ctx context.Context, dir string, img v1.Image, tag string, opts ...WriteOption) error {
	var wo writeOptions
	for _, opt := range opts {
		opt(&wo)
	}
	var lopts []ocilayout.Option
	if tag != "" {
		lopts = append(lopts, ocilayout.WithAnnotations(map[string]string{ocispec.AnnotationRefName: tag}))
	}
	return stageLayout(ctx, dir, false, func(p ocilayout.Path) error {
		if err := p.AppendImage(img, lopts...); err != nil {
			return fmt.Errorf("writing layout %s: %w", dir, err)
		}
		return appendReferrers(p, img, wo.referrers)
	})
}

// WriteOption configures Write.
type WriteOption func(*writeOptions)

type writeOptions struct {
	referrers []v1.Image
}

// WithReferrer stores art beside the image Write writes: an OCI 1.1
// artifact (package referrer) whose subject is that image, listed in
// index.json by its descriptor (with its artifactType) and no tag. Image
// with an empty tag does not count it; Referrers finds it. Default: none.
func WithReferrer(art v1.Image) WriteOption {
	return func(o *writeOptions) { o.referrers = append(o.referrers, art) }
}

// replaceable refuses to replace anything but an OCI layout or an empty directory.
func replaceable(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(entries) == 0) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("output %s: %w", dir, err)
	}
	if _, err := os.Stat(filepath.Join(dir, ocispec.ImageLayoutFile)); err != nil {
		return fmt.Errorf("output %s exists and is not an OCI image layout; refusing to replace it", dir)
	}
	return nil
}

// swap puts staging at dir in one step: a rename when dir does not exist, an
// exchange of the two directories when it does.
func swap(staging, dir string) error {
	err := unix.Renameat2(unix.AT_FDCWD, staging, unix.AT_FDCWD, dir, unix.RENAME_EXCHANGE)
	if errors.Is(err, unix.ENOENT) {
		err = os.Rename(staging, dir)
	}
	if err != nil {
		return fmt.Errorf("moving the new layout into %s: %w", dir, err)
	}
	return nil
}
