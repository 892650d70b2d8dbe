package image

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// File is one path of an image's merged file system, as Files lists it.
type File struct {
	Path     string `json:"path"`
	Type     string `json:"type"` // dir, file, symlink, hardlink, char, block, fifo
	Mode     int64  `json:"mode"` // permission and special bits, as in tar
	UID      int    `json:"uid"`
	GID      int    `json:"gid"`
	Size     int64  `json:"size"`
	Linkname string `json:"linkname,omitempty"`
	Major    int64  `json:"major,omitempty"`
	Minor    int64  `json:"minor,omitempty"`
}

// MaxListEntries bounds the entries Files reads from one image.
const MaxListEntries = 1 << 20

// Files lists the image's merged file system: layers applied in order, OCI
// whiteouts honoured, sorted by path. It only reads; extracting an untrusted
// image safely is package unpack's job.
func Files(ctx context.Context, img v1.Image) ([]File, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	merged := map[string]File{}
	count := 0
	for i, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
		err = listLayer(ctx, tar.NewReader(rc), merged, &count)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
	}
	out := make([]File, 0, len(merged))
	for _, f := range merged {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// listLayer applies one layer to merged: its whiteouts hide lower layers'
// paths, then its entries are added.
func listLayer(ctx context.Context, tr *tar.Reader, merged map[string]File, count *int) error {
	var adds []File
	var hide []func(string) bool
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if *count++; *count > MaxListEntries {
			return fmt.Errorf("more than %d entries", MaxListEntries)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		p := path.Clean("/" + h.Name)
		dir, base := path.Split(p)
		if base == ".wh..wh..opq" {
			hide = append(hide, func(k string) bool { return strings.HasPrefix(k, dir) && k+"/" != dir })
		} else if name, ok := strings.CutPrefix(base, ".wh."); ok {
			gone := path.Join(dir, name)
			hide = append(hide, func(k string) bool { return k == gone || strings.HasPrefix(k, gone+"/") })
		} else {
			adds = append(adds, fileOf(p, h))
		}
	}
	for k := range merged {
		for _, hidden := range hide {
			if hidden(k) {
				delete(merged, k)
				break
			}
		}
	}
	for _, f := range adds {
		merged[f.Path] = f
	}
	return nil
}

func fileOf(p string, h *tar.Header) File {
	f := File{Path: p, Mode: h.Mode & 0o7777, UID: h.Uid, GID: h.Gid, Linkname: h.Linkname}
	switch h.Typeflag {
	case tar.TypeDir:
		f.Type = "dir"
	case tar.TypeReg:
		f.Type, f.Size = "file", h.Size
	case tar.TypeSymlink:
		f.Type = "symlink"
	case tar.TypeLink:
		f.Type = "hardlink"
	case tar.TypeChar:
		f.Type, f.Major, f.Minor = "char", h.Devmajor, h.Devminor
	case tar.TypeBlock:
		f.Type, f.Major, f.Minor = "block", h.Devmajor, h.Devminor
	case tar.TypeFifo:
		f.Type = "fifo"
	default:
		f.Type = fmt.Sprintf("type %q", h.Typeflag)
	}
	return f
}
