package layout_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	ocilayout "github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/jailimg/jailimg/internal/imagetest"
	"github.com/jailimg/jailimg/pkg/image"
	"github.com/jailimg/jailimg/pkg/layer"
	"github.com/jailimg/jailimg/pkg/layout"
	"github.com/jailimg/jailimg/pkg/tree"
)

func randomImage(t *testing.T) v1.Image {
	t.Helper()
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestWriteReplacesAtomically(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "out")
	a, b := randomImage(t), randomImage(t)
	if err := layout.Write(ctx, dir, a, "v1"); err != nil {
		t.Fatal(err)
	}
	got, err := layout.Image(dir, "v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(got); err != nil {
		t.Fatal(err)
	}
	if imagetest.Digest(t, got) != imagetest.Digest(t, a) {
		t.Fatal("layout holds another image")
	}

	// A cancelled write leaves the old layout and no staging directory.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := layout.Write(cancelled, dir, b, "v2"); err == nil {
		t.Fatal("layout.Write with a cancelled context succeeded")
	}
	if got, err := layout.Image(dir, ""); err != nil || imagetest.Digest(t, got) != imagetest.Digest(t, a) {
		t.Fatalf("after a failed write: %v", err)
	}
	imagetest.AssertNoStaging(t, dir) // the layout and its lock file

	if err := layout.Write(ctx, dir, b, "v2"); err != nil {
		t.Fatal(err)
	}
	if _, err := layout.Image(dir, "v1"); err == nil || !strings.Contains(err.Error(), `no image tagged "v1" (tags: v2)`) {
		t.Errorf("old tag after replacing the layout: %v", err)
	}
}

func TestWriteRefusesOtherDirectories(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "precious"), []byte("x"), 0o644)
	err := layout.Write(context.Background(), dir, randomImage(t), "")
	if err == nil || !strings.Contains(err.Error(), "not an OCI image layout") {
		t.Fatalf("layout.Write over a non-layout directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "precious")); err != nil {
		t.Error("the directory was replaced")
	}
}

func TestImageSelection(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "l")
	a, b := randomImage(t), randomImage(t)
	layout.Write(ctx, dir, a, "a")
	if err := layout.Update(ctx, dir, func(p ocilayout.Path) error { return appendTagged(p, b, "b") }); err != nil {
		t.Fatal(err)
	}
	if _, err := layout.Image(dir, ""); err == nil || !strings.Contains(err.Error(), "holds 2 images") {
		t.Errorf("untagged pick among two: %v", err)
	}
	if got, err := layout.Image(dir, "b"); err != nil || imagetest.Digest(t, got) != imagetest.Digest(t, b) {
		t.Errorf("layout.Image(b): %v", err)
	}
	if _, err := layout.Image(filepath.Join(dir, "missing"), ""); err == nil {
		t.Error("layout.Image of a missing directory: no error")
	}
}

func appendTagged(p ocilayout.Path, img v1.Image, tag string) error {
	return p.AppendImage(img, ocilayout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": tag}))
}

// TestWriteModes checks a layout is readable by everyone, whatever
// the umask and however go-containerregistry wrote each blob.
func TestWriteModes(t *testing.T) {
	tr := tree.New()
	tr.Add(tree.Entry{Path: "/etc/hostname", Type: tree.Reg, Mode: 0o444, Size: 5,
		Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("jail\n")), nil }})
	l, err := layer.FromTree(context.Background(), tr)
	if err != nil {
		t.Fatal(err)
	}
	img, err := image.New(image.Config{}, l)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	if err := layout.Write(context.Background(), dir, img, "v1"); err != nil {
		t.Fatal(err)
	}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		fi, _ := d.Info()
		want := os.FileMode(0o644)
		if d.IsDir() {
			want = os.ModeDir | 0o755
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode(), want)
		}
		return nil
	})
}
