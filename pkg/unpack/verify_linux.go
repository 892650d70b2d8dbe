package unpack

import (
	"context"
	"fmt"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

	"github.com/jailimg/jailimg/pkg/bundle"
)

// Drift is one difference between a bundle and the image it should hold.
type Drift struct {
	// Path is the path inside the rootfs ("/" for its root), or
	// bundle.MetaFile for the generation's metadata.
	Path string `json:"path"`
	// What names the property that differs: "missing", "extra", "type",
	// "mode", "owner", "mtime", "size", "content", "link", "device",
	// "hardlink", "unreadable" (Got is the error), "replaced" (a directory
	// the path no longer named once walked: the tree changed under
	// verify), "manifest digest" or "config" (the bundle's copy of the
	// image config, from which run takes the entrypoint, user and policy;
	// Want and Got are digests of its canonical JSON).
	What string `json:"what"`
	// Want and Got describe the expected and the actual value.
	Want string `json:"want"`
	Got  string `json:"got"`
}

// String formats the drift as one line.
func (d Drift) String() string {
	return fmt.Sprintf("%s: %s: want %s, got %s", d.Path, d.What, d.Want, d.Got)
}

// Verify compares the live generation of the bundle target with img: every
// file, directory, symlink, hardlink and device, with its owner, mode and
// mtime (directories created implicitly have no mtime to compare), and
// nothing extra; and the generation's image.json, whose manifest digest and
// config must be the image's. It returns the drifts sorted by path; an error means the
// comparison itself could not be done (no bundle, or a bad image).
func Verify(ctx context.Context, img v1.Image, target string, opts ...Option) ([]Drift, error) {
	o := makeOptions(opts)
	b, err := bundle.Open(target)
	if err != nil {
		return nil, err
	}
	digest, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("image digest: %w", err)
	}
	var drifts []Drift
	if b.Meta.ManifestDigest != digest.String() {
		drifts = append(drifts, Drift{bundle.MetaFile, "manifest digest", digest.String(), b.Meta.ManifestDigest})
	}
	m, cfg, err := expected(ctx, img, o)
	if err != nil {
		return nil, err
	}
	want, err := configDigest(cfg)
	if err != nil {
		return nil, err
	}
	got, err := configDigest(&b.Meta.Config)
	if err != nil {
		return nil, err
	}
	if want != got {
		drifts = append(drifts, Drift{bundle.MetaFile, "config", want, got})
	}
	root, err := b.OpenRoot()
	if err != nil {
		return nil, err
	}
	defer root.Close()
	d, err := compare(ctx, m, int(root.Fd()), os.Geteuid() == 0)
	drifts = append(drifts, d...)
	if err != nil {
		return drifts, fmt.Errorf("walking %s: %w", root.Name(), err)
	}
	return drifts, nil
}

// expected builds the model of the tree img unpacks to, and returns it with
// the image config.
func expected(ctx context.Context, img v1.Image, o *options) (*model, *v1.ConfigFile, error) {
	refs, cfg, err := layers(img)
	if err != nil {
		return nil, nil, err
	}
	m := newModel()
	bud := &budget{lim: o.limits}
	ww := &worldWritable{applier: m, strict: o.strict} // as Unpack does
	for _, ref := range refs {
		if err := applyLayer(ctx, ref, bud, o.devices, ww); err != nil {
			return nil, nil, err
		}
	}
	return m, cfg, nil
}

func typeOf(mode uint32) byte {
	switch mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return 'd'
	case unix.S_IFREG:
		return 'f'
	case unix.S_IFLNK:
		return 'l'
	case unix.S_IFCHR:
		return 'c'
	case unix.S_IFBLK:
		return 'b'
	case unix.S_IFIFO:
		return 'p'
	case unix.S_IFSOCK:
		return 's'
	}
	return '?'
}

func typeName(t byte) string {
	switch t {
	case 'd':
		return "directory"
	case 'f':
		return "file"
	case 'l':
		return "symlink"
	case 'c':
		return "character device"
	case 'b':
		return "block device"
	case 'p':
		return "FIFO"
	case 's':
		return "socket"
	}
	return "special file"
}
