package layout

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	ocilayout "github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/jailimg/jailimg/internal/rmtree"
)

// Update changes the OCI image layout at dir through fn, atomically.
// fn works on a copy made beside dir: its blobs hard-linked (copied across
// file systems), index.json and oci-layout copied. The copy replaces dir in
// one rename only when fn returns nil, so on any failure dir is left exactly
// as it was. A missing or empty dir starts as an empty layout; anything else
// that is not an OCI layout is refused.
//
// Writers of one layout take turns: Update and Write (and so registry.Pull)
// hold an exclusive flock on DIR.lock, beside dir, from before they read dir
// until the copy has replaced it, so that each starts from what the one
// before it left (see lockLayout for why the lock is there). They wait for
// one another, or until ctx is done. Readers take no lock: see the package
// documentation.
//
// fn must not write into an existing blob file in place: go-containerregistry's
// layout writer does not (it skips blobs that exist with the right size and
// writes new ones to a temporary file it renames), and it rewrites
// index.json, which is not linked.
func Update(ctx context.Context, dir string, fn func(ocilayout.Path) error) error {
	return stageLayout(ctx, dir, true, fn)
}

// stageLayout runs fn on a layout made beside dir — a copy of dir when keep
// is set and dir is a layout, else an empty one — and swaps it in when fn
// succeeds. Only an OCI layout or an empty directory is ever replaced. The
// layout's lock (lockLayout) is held from before dir is first looked at
// until after the swap, so that concurrent writers each start from the
// layout the one before them left.
func stageLayout(ctx context.Context, dir string, keep bool, fn func(ocilayout.Path) error) error {
	parent, base := filepath.Split(filepath.Clean(dir))
	if base == "" || base == "." || base == ".." {
		// The layout is swapped in by a rename of the directory itself.
		return fmt.Errorf("layout %q: name the layout directory by its own name, not as %q", dir, filepath.Clean(dir))
	}
	if parent == "" {
		parent = "."
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	unlock, err := lockLayout(ctx, dir)
	if err != nil {
		return err
	}
	defer unlock() // after the deferred removal of the old layout below
	if err := replaceable(dir); err != nil {
		return err
	}
	staging, err := os.MkdirTemp(parent, "."+base+".tmp-")
	if err != nil {
		return err
	}
	defer rmtree.Remove(staging) // after the swap, this removes the old layout
	if _, err := os.Stat(filepath.Join(dir, ocispec.ImageLayoutFile)); keep && err == nil {
		if err := cloneLayout(dir, staging); err != nil {
			return fmt.Errorf("copying layout %s: %w", dir, err)
		}
	} else if _, err := ocilayout.Write(staging, empty.Index); err != nil {
		return fmt.Errorf("writing layout %s: %w", dir, err)
	}
	if err := fn(ocilayout.Path(staging)); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := readable(staging); err != nil {
		return err
	}
	return swap(staging, dir)
}

// readable sets every directory of a layout to 0755 and every file to 0644:
// go-containerregistry writes some blobs through temporary files of mode
// 0600, and a layout is meant to be read by other users and tools.
func readable(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		mode := fs.FileMode(0o644)
		if d.IsDir() {
			mode = 0o755
		}
		return os.Chmod(p, mode)
	})
}

// cloneLayout copies the layout at src into the empty directory dst, linking
// the files under blobs/. Only directories and regular files are accepted.
func cloneLayout(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil || rel == "." {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.Mkdir(target, 0o755)
		case !d.Type().IsRegular():
			return fmt.Errorf("%s: not a regular file or directory", p)
		case filepath.Dir(filepath.Dir(rel)) == "blobs":
			if err := os.Link(p, target); err == nil {
				return nil
			}
		}
		return copyFile(p, target)
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// SetTag writes img into the layout at p and points tag at it, dropping
// what tag named before (its blobs stay): what registry.Pull does in the
// copy Update gives it.
func SetTag(p ocilayout.Path, img v1.Image, tag string) error {
	ann := map[string]string{ocispec.AnnotationRefName: tag}
	return p.ReplaceImage(img, match.Annotation(ocispec.AnnotationRefName, tag), ocilayout.WithAnnotations(ann))
}
