package outdated

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/jailimg/jailimg/internal/readfile"
	"github.com/jailimg/jailimg/pkg/dpkg"
)

// ErrNoRecord is matched when a jail records no Debian packages.
var ErrNoRecord = errors.New("records no Debian packages (build it with dpkg: true)")

// FromDir reads the packages recorded in the jail tree at root, inside an
// os.Root.
func FromDir(root string) ([]Package, error) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	fsys := r.FS()
	entries, err := fs.ReadDir(fsys, dpkg.StatusDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s %w", root, ErrNoRecord)
	} else if err != nil {
		return nil, err
	}
	if len(entries) > MaxPackages {
		return nil, fmt.Errorf("%s: more than %d files in /%s", root, MaxPackages, dpkg.StatusDir)
	}
	var out []Package
	for _, e := range entries {
		name := dpkg.StatusDir + "/" + e.Name()
		if !e.Type().IsRegular() {
			return nil, fmt.Errorf("%s: /%s is not a regular file", root, name)
		}
		f, err := fsys.Open(name)
		if err != nil {
			return nil, err
		}
		data, err := readfile.Regular(f, maxParagraph)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: /%s: %w", root, name, err)
		}
		p, err := parse(name, data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", root, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// FromImage reads the packages recorded in an image's status.d: its
// layers applied in order, whiteouts honoured.
func FromImage(ctx context.Context, img v1.Image) ([]Package, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for i, l := range layers {
		if err := readLayer(ctx, l, files); err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("the image %w", ErrNoRecord)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []Package
	for _, n := range names {
		p, err := parse(n, files[n])
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// readLayer applies one layer's status.d entries to files.
func readLayer(ctx context.Context, l v1.Layer, files map[string][]byte) error {
	rc, err := l.Uncompressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		p := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		dir, base := path.Split(p)
		if path.Clean(dir) != dpkg.StatusDir && p != dpkg.StatusDir {
			continue
		}
		if err := applyEntry(h, tr, p, base, files); err != nil {
			return err
		}
	}
}

// applyEntry records, removes or whites out one status.d entry.
func applyEntry(h *tar.Header, r io.Reader, p, base string, files map[string][]byte) error {
	switch {
	case base == ".wh..wh..opq" || p == dpkg.StatusDir && h.Typeflag != tar.TypeDir:
		clear(files)
	case strings.HasPrefix(base, ".wh."):
		delete(files, dpkg.StatusDir+"/"+strings.TrimPrefix(base, ".wh."))
	case h.Typeflag == tar.TypeReg && p != dpkg.StatusDir:
		if h.Size > maxParagraph {
			return fmt.Errorf("/%s: %d bytes, more than %d", p, h.Size, maxParagraph)
		}
		if len(files) >= MaxPackages {
			return fmt.Errorf("more than %d files in /%s", MaxPackages, dpkg.StatusDir)
		}
		b, err := io.ReadAll(io.LimitReader(r, h.Size))
		if err != nil {
			return err
		}
		files[p] = b
	}
	return nil
}
