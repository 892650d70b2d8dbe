package unpack

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"

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
	// "hardlink", "manifest digest" or "config" (the bundle's copy of the
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
	root, err := b.Root()
	if err != nil {
		return nil, err
	}
	d, err := compare(ctx, m, root, os.Geteuid() == 0)
	drifts = append(drifts, d...)
	return drifts, err
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
	for _, ref := range refs {
		if err := applyLayer(ctx, ref, bud, o.devices, m); err != nil {
			return nil, nil, err
		}
	}
	return m, cfg, nil
}

// compare walks root on disk against the model.
func compare(ctx context.Context, m *model, root string, owners bool) ([]Drift, error) {
	var drifts []Drift
	add := func(p, what, want, got string) { drifts = append(drifts, Drift{p, what, want, got}) }
	seen := map[string]bool{}
	inos := map[*inode]uint64{}
	byIno := map[uint64]*inode{}
	err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			rel = ""
		}
		show := "/" + rel
		n := m.nodes[rel]
		fi, err := de.Info()
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		if n == nil {
			add(show, "extra", "nothing", typeName(typeOf(st.Mode)))
			if de.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		seen[rel] = true
		if got := typeOf(st.Mode); got != n.typ {
			add(show, "type", typeName(n.typ), typeName(got))
			if de.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if got := st.Mode & 0o7777; got != n.mode && n.typ != 'l' {
			add(show, "mode", fmt.Sprintf("%#o", n.mode), fmt.Sprintf("%#o", got))
		}
		if owners && (int(st.Uid) != n.uid || int(st.Gid) != n.gid) {
			add(show, "owner", fmt.Sprintf("%d:%d", n.uid, n.gid), fmt.Sprintf("%d:%d", st.Uid, st.Gid))
		}
		if n.hasTime && (st.Mtim.Sec != n.mtime.Unix() || st.Mtim.Nsec != int64(n.mtime.Nanosecond())) {
			add(show, "mtime", n.mtime.UTC().String(), fi.ModTime().UTC().String())
		}
		switch n.typ {
		case 'l':
			if got, err := os.Readlink(p); err != nil || got != n.link {
				add(show, "link", n.link, got)
			}
		case 'c', 'b':
			if unix.Major(st.Rdev) != n.major || unix.Minor(st.Rdev) != n.minor {
				add(show, "device", fmt.Sprintf("%d:%d", n.major, n.minor), fmt.Sprintf("%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev)))
			}
		case 'f':
			if prev, ok := inos[n]; ok && prev != st.Ino {
				add(show, "hardlink", "same file as its hardlinks", "a separate file")
			}
			if other, ok := byIno[st.Ino]; ok && other != n {
				add(show, "hardlink", "a separate file", "hardlinked to another path")
			}
			inos[n], byIno[st.Ino] = st.Ino, n
			if st.Size != n.size {
				add(show, "size", fmt.Sprint(n.size), fmt.Sprint(st.Size))
			} else if sum, err := fileSum(p); err != nil || sum != n.sum {
				add(show, "content", fmt.Sprintf("sha256:%x", n.sum), fmt.Sprintf("sha256:%x", sum))
			}
		}
		return nil
	})
	if err != nil {
		return drifts, fmt.Errorf("walking %s: %w", root, err)
	}
	var missing []string
	for k := range m.nodes {
		if !seen[k] {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	for _, k := range missing {
		// Below a path already reported, a missing entry is no news.
		if parent, _ := split(k); k != "" && !seen[parent] {
			continue
		}
		add("/"+k, "missing", typeName(m.nodes[k].typ), "nothing")
	}
	sort.SliceStable(drifts, func(i, j int) bool { return drifts[i].Path < drifts[j].Path })
	return drifts, nil
}

func fileSum(p string) ([32]byte, error) {
	var sum [32]byte
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return sum, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return sum, err
	}
	h.Sum(sum[:0])
	return sum, nil
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
	}
	return "special file"
}
