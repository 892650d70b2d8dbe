package unpack

import (
	"archive/tar"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/jailimg/jailimg/internal/testutil"
)

// tarsOf turns layers of entries into tar streams.
func tarsOf(t testing.TB, layers [][]ent) [][]byte {
	var out [][]byte
	for _, l := range layers {
		out = append(out, tarOf(t, l...))
	}
	return out
}

// imageOfTars stacks tar streams as gzip layers into an image umoci takes
// too (it wants an os and an architecture in the config).
func imageOfTars(t testing.TB, tars [][]byte) v1.Image {
	t.Helper()
	var layers []v1.Layer
	for _, tb := range tars {
		layers = append(layers, honest(tb, gz(t, tb), "application/vnd.oci.image.layer.v1.tar+gzip"))
	}
	img := imageOf(t, true, layers...)
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatal(err)
	}
	return img
}

// jailimgTree unpacks img with Unpack (checked by Verify) and reads the
// rootfs back.
func jailimgTree(t *testing.T, img v1.Image) map[string]treeEntry {
	t.Helper()
	target := filepath.Join(t.TempDir(), "jail")
	mustUnpack(t, img, target)
	return diskTree(t, rootfs(target))
}

// umociTree unpacks img with umoci (rootless when not root) and reads its
// rootfs back.
func umociTree(t *testing.T, img v1.Image) map[string]treeEntry {
	t.Helper()
	umoci := testutil.NeedTool(t, "umoci")
	dir := t.TempDir()
	lp, err := layout.Write(filepath.Join(dir, "layout"), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "t"})); err != nil {
		t.Fatal(err)
	}
	args := []string{"unpack", "--image", filepath.Join(dir, "layout") + ":t", filepath.Join(dir, "bundle")}
	if os.Geteuid() != 0 {
		args = append([]string{"unpack", "--rootless"}, args[1:]...)
	}
	if out, err := exec.Command(umoci, args...).CombinedOutput(); err != nil {
		t.Fatalf("umoci %v: %v\n%s", args, err, out)
	}
	return diskTree(t, filepath.Join(dir, "bundle", "rootfs"))
}

// TestWhiteoutOrder: a whiteout or opaque whiteout hides everything lower
// layers put there and nothing its own layer wrote, whatever the order of
// the layer's entries (OCI image spec, "Whiteouts"). The expected tree is
// the oracle's, not the applier's model; umoci must agree except for the
// mode, owner and mtime of directories that only stand as parents of new
// entries (umoci keeps the hidden lower directory's, depending on the
// order; jailimg makes them what an implicit directory is, as when the
// whiteout comes first).
func TestWhiteoutOrder(t *testing.T) {
	lower := []ent{{Name: "a/", Type: tar.TypeDir, Mode: 0o750}, {Name: "a/b/", Type: tar.TypeDir, Mode: 0o700, Uid: 7}, file("a/b/old", "old"),
		file("a/c", "c"), dir("a/b/d"), file("a/b/d/deep", "deep"), file("keep", "k")}
	for _, tc := range []struct {
		name  string
		upper []ent
	}{
		{"opaque after a same-layer write below it", []ent{dir("a"), file("a/b/new", "n"), opaque("a")}},
		{"opaque after same-layer writes, parents explicit", []ent{dir("a"), dir("a/b"), file("a/b/new", "n"), opaque("a")}},
		{"opaque before", []ent{dir("a"), opaque("a"), file("a/b/new", "n")}},
		{"opaque of a directory the layer replaces", []ent{opaque("a/b"), file("a/b/new", "n"), dir("a/b")}},
		{"whiteout of a directory then recreate it", []ent{whiteout("a"), dir("a"), file("a/new", "n")}},
		{"recreate a directory then whiteout it", []ent{file("a/new", "n"), dir("a/b"), whiteout("a")}},
		{"whiteout after a same-layer write of the same name", []ent{file("a/c", "new c"), whiteout("a/c")}},
		{"nested opaque", []ent{dir("a"), dir("a/b"), file("a/b/d/new", "n"), opaque("a/b"), file("a/x", "x"), opaque("a")}},
		{"nested opaque, markers first", []ent{dir("a"), opaque("a"), dir("a/b"), opaque("a/b"), file("a/b/d/new", "n")}},
		{"opaque of the root", []ent{file("a/b/new", "n"), file(".wh..wh..opq", "")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tars := tarsOf(t, [][]ent{lower, tc.upper})
			o := newOracle()
			if err := o.layers(tars...); err != nil {
				t.Fatal(err)
			}
			want := o.tree()
			img := imageOfTars(t, tars)
			if d := treeDiff(want, jailimgTree(t, img), false); d != "" {
				t.Errorf("jailimg differs from the oracle:\n%s", d)
			}
			if d := treeDiff(want, umociTree(t, img), true); d != "" {
				t.Errorf("umoci differs from the oracle:\n%s", d)
			}
		})
	}
}
