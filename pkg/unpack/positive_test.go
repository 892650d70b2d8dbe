package unpack

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/jailimg/jailimg/internal/testutil"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestUnpackExact(t *testing.T) {
	testutil.NeedRoot(t, "owners and device nodes")
	for _, tc := range []struct {
		name   string
		layers [][]ent
		mt     types.MediaType
		want   map[string]string
	}{{
		name: "files dirs owners modes",
		layers: [][]ent{{dir("etc"), file("etc/passwd", "root:x:0:0"), {Name: "bin/sh", Body: "ELF", Mode: 0o755},
			{Name: "srv/", Type: tar.TypeDir, Mode: 0o750, Uid: 101, Gid: 102}, {Name: "srv/data", Body: "d", Mode: 0o600, Uid: 101, Gid: 102},
			{Name: "tmp/", Type: tar.TypeDir, Mode: 0o1777}}},
		want: map[string]string{".": "d 0755 0:0", "etc": "d 0755 0:0", "etc/passwd": "f 0644 0:0 n=1 root:x:0:0",
			"bin": "d 0755 0:0", "bin/sh": "f 0755 0:0 n=1 ELF", "srv": "d 0750 101:102", "srv/data": "f 0600 101:102 n=1 d",
			"tmp": "d 1777 0:0"},
	}, {
		name: "multi-layer whiteouts",
		layers: [][]ent{
			{dir("a"), file("a/keep", "k"), file("a/gone", "g"), dir("a/sub"), file("a/sub/x", "x"), file("top", "t")},
			{whiteout("a/gone"), whiteout("a/sub"), whiteout("top"), whiteout("never-existed")},
			{file("a/sub", "now a file")},
		},
		want: map[string]string{".": "d 0755 0:0", "a": "d 0755 0:0", "a/keep": "f 0644 0:0 n=1 k", "a/sub": "f 0644 0:0 n=1 now a file"},
	}, {
		name: "opaque directory",
		layers: [][]ent{
			{dir("d"), file("d/old1", "1"), dir("d/old2"), file("d/old2/y", "y"), file("other", "o")},
			{dir("d"), opaque("d"), file("d/new", "n")},
		},
		want: map[string]string{".": "d 0755 0:0", "d": "d 0755 0:0", "d/new": "f 0644 0:0 n=1 n", "other": "f 0644 0:0 n=1 o"},
	}, {
		name: "in-root symlinks and hardlinks",
		layers: [][]ent{
			{dir("usr/bin"), file("usr/bin/busybox", "BB"), symlink("bin", "usr/bin"), symlink("abs", "/usr/bin/busybox"),
				symlink("dangling", "../../../nowhere"), hardlink("usr/bin/sh", "usr/bin/busybox")},
			{hardlink("usr/bin/ls", "./usr/bin/busybox")},
		},
		want: map[string]string{".": "d 0755 0:0", "usr": "d 0755 0:0", "usr/bin": "d 0755 0:0",
			"usr/bin/busybox": "f 0644 0:0 n=3 BB", "usr/bin/sh": "f 0644 0:0 n=3 BB", "usr/bin/ls": "f 0644 0:0 n=3 BB",
			"bin": "l -> usr/bin", "abs": "l -> /usr/bin/busybox", "dangling": "l -> ../../../nowhere"},
	}, {
		name: "hardlink keeps old content after its source is replaced",
		layers: [][]ent{
			{file("a", "old"), hardlink("b", "a")},
			{file("a", "new")},
		},
		want: map[string]string{".": "d 0755 0:0", "a": "f 0644 0:0 n=1 new", "b": "f 0644 0:0 n=1 old"},
	}, {
		name:   "safe devices",
		layers: [][]ent{{dir("dev"), chardev("dev/null", 1, 3), chardev("dev/urandom", 1, 9), chardev("dev/tty", 5, 0)}},
		want: map[string]string{".": "d 0755 0:0", "dev": "d 0755 0:0", "dev/null": "c 1:3 0666 0:0",
			"dev/urandom": "c 1:9 0666 0:0", "dev/tty": "c 5:0 0666 0:0"},
	}, {
		name:   "zstd layer",
		mt:     types.OCILayerZStd,
		layers: [][]ent{{file("z", "zstd!")}},
		want:   map[string]string{".": "d 0755 0:0", "z": "f 0644 0:0 n=1 zstd!"},
	}, {
		name:   "uncompressed layer and root entry",
		mt:     types.OCIUncompressedLayer,
		layers: [][]ent{{{Name: "./", Type: tar.TypeDir, Mode: 0o700}, file("./u", "plain")}},
		want:   map[string]string{".": "d 0700 0:0", "u": "f 0644 0:0 n=1 plain"},
	}, {
		name:   "implicit parents and dir replaced by file",
		layers: [][]ent{{file("x/y/z", "deep")}, {file("x/y", "flat")}},
		want:   map[string]string{".": "d 0755 0:0", "x": "d 0755 0:0", "x/y": "f 0644 0:0 n=1 flat"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var layers []v1.Layer
			for _, ents := range tc.layers {
				tb := tarOf(t, ents...)
				switch tc.mt {
				case types.OCILayerZStd:
					layers = append(layers, honest(tb, zst(t, tb), tc.mt))
				case types.OCIUncompressedLayer:
					layers = append(layers, honest(tb, tb, tc.mt))
				default:
					layers = append(layers, honest(tb, gz(t, tb), types.OCILayer))
				}
			}
			target := filepath.Join(t.TempDir(), "jail")
			mustUnpack(t, imageOf(t, true, layers...), target)
			if d := diffSnap(tc.want, snapshot(t, rootfs(target))); d != "" {
				t.Errorf("tree differs:\n%s", d)
			}
		})
	}
}

// TestUnpackTarballLayer checks interop with layers built the usual way, by
// go-containerregistry's tarball package.
func TestUnpackTarballLayer(t *testing.T) {
	tb := tarOf(t, dir("etc"), file("etc/motd", "hi"), symlink("etc/alias", "motd"))
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(tb)), nil },
		tarball.WithMediaType(types.OCILayer))
	if err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "jail")
	// validate.Image trips over an empty Annotations map that mutate adds here.
	res := mustUnpack(t, imageOf(t, false, l), target)
	if b, err := os.ReadFile(filepath.Join(res.Gen, "rootfs/etc/motd")); err != nil || string(b) != "hi" {
		t.Errorf("etc/motd = %q, %v", b, err)
	}
}

func TestIdempotentAndSwitch(t *testing.T) {
	ctx := context.Background()
	imgA := imageOf(t, true, gzLayer(t, file("v", "A")))
	imgB := imageOf(t, true, gzLayer(t, file("v", "B")))
	parent := t.TempDir()
	target := filepath.Join(parent, "jail")
	r1 := mustUnpack(t, imgA, target, WithSource("test:a"))
	if !r1.Changed || r1.Entries != 1 {
		t.Errorf("first unpack: %+v", r1)
	}
	r2, err := Unpack(ctx, imgA, target)
	if err != nil || r2.Changed || r2.Gen != r1.Gen {
		t.Fatalf("second unpack of the same image: %+v, %v; want unchanged %s", r2, err, r1.Gen)
	}
	// Leftovers of a crashed run are removed by the next one.
	for _, n := range []string{".staging-crashed/rootfs", "gen-orphan/rootfs"} {
		if err := os.MkdirAll(filepath.Join(target, n), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r3 := mustUnpack(t, imgB, target)
	if !r3.Changed || r3.Gen == r1.Gen {
		t.Errorf("unpack of another image: %+v", r3)
	}
	ents, _ := os.ReadDir(target)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if len(names) != 2 || names[0] != "current" || filepath.Join(target, names[1]) != r3.Gen {
		t.Errorf("target holds %v, want only current and %s", names, filepath.Base(r3.Gen))
	}
	if b, _ := os.ReadFile(filepath.Join(rootfs(target), "v")); string(b) != "B" {
		t.Errorf("live v = %q, want B", b)
	}
}
