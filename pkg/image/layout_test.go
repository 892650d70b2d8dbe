package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/jailimg/jailimg/pkg/layer"
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

func digestOf(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestWriteLayoutReplacesAtomically(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "out")
	a, b := randomImage(t), randomImage(t)
	if err := WriteLayout(ctx, dir, a, "v1"); err != nil {
		t.Fatal(err)
	}
	got, err := FromLayout(dir, "v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(got); err != nil {
		t.Fatal(err)
	}
	if digestOf(t, got) != digestOf(t, a) {
		t.Fatal("layout holds another image")
	}

	// A cancelled write leaves the old layout and no staging directory.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := WriteLayout(cancelled, dir, b, "v2"); err == nil {
		t.Fatal("WriteLayout with a cancelled context succeeded")
	}
	if got, err := FromLayout(dir, ""); err != nil || digestOf(t, got) != digestOf(t, a) {
		t.Fatalf("after a failed write: %v", err)
	}
	assertNoStaging(t, dir) // the layout and its lock file

	if err := WriteLayout(ctx, dir, b, "v2"); err != nil {
		t.Fatal(err)
	}
	if _, err := FromLayout(dir, "v1"); err == nil || !strings.Contains(err.Error(), `no image tagged "v1" (tags: v2)`) {
		t.Errorf("old tag after replacing the layout: %v", err)
	}
}

func TestWriteLayoutRefusesOtherDirectories(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "precious"), []byte("x"), 0o644)
	err := WriteLayout(context.Background(), dir, randomImage(t), "")
	if err == nil || !strings.Contains(err.Error(), "not an OCI image layout") {
		t.Fatalf("WriteLayout over a non-layout directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "precious")); err != nil {
		t.Error("the directory was replaced")
	}
}

func TestFromLayoutSelection(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "l")
	a, b := randomImage(t), randomImage(t)
	WriteLayout(ctx, dir, a, "a")
	if err := UpdateLayout(ctx, dir, func(p layout.Path) error { return appendTagged(p, b, "b") }); err != nil {
		t.Fatal(err)
	}
	if _, err := FromLayout(dir, ""); err == nil || !strings.Contains(err.Error(), "holds 2 images") {
		t.Errorf("untagged pick among two: %v", err)
	}
	if got, err := FromLayout(dir, "b"); err != nil || digestOf(t, got) != digestOf(t, b) {
		t.Errorf("FromLayout(b): %v", err)
	}
	if _, err := FromLayout(filepath.Join(dir, "missing"), ""); err == nil {
		t.Error("FromLayout of a missing directory: no error")
	}
}

func TestParseSource(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ in, want string }{
		{dir, "oci:" + dir},
		{dir + ":v1", "oci:" + dir + ":v1"},
		{"oci:" + dir + "/not-yet:v2", "oci:" + dir + "/not-yet:v2"},
		{"oci:relative", "oci:relative"},
		{"localhost:5000/jails/nginx:1.22", "localhost:5000/jails/nginx:1.22"},
		{"localhost/jails/nginx:1.22", "localhost/jails/nginx:1.22"},
		{"127.0.0.1:5000/x", "127.0.0.1:5000/x"},
		{"registry.example/jails/nginx:1.22", "registry.example/jails/nginx:1.22"},
		{"docker.io/library/nginx", "docker.io/library/nginx"},
		{"registry.example/nginx@sha256:" + strings.Repeat("a", 64), "registry.example/nginx@sha256:" + strings.Repeat("a", 64)},
	} {
		src, err := ParseSource(tc.in)
		if err != nil || src.String() != tc.want {
			t.Errorf("ParseSource(%q) = %v, %v; want %s", tc.in, src, err, tc.want)
		}
	}
	for _, bad := range []string{"oci:", "UPPER/Case:tag", "a:b:c:d", "registry.example/UPPER:tag"} {
		if _, err := ParseSource(bad); err == nil {
			t.Errorf("ParseSource(%q): no error", bad)
		}
	}
}

// TestParseSourceNeedsHost: a SOURCE that is no directory and names no
// registry host is an error matching fs.ErrNotExist, never Docker Hub.
func TestParseSourceNeedsHost(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"out/bsh", "out/nonexist", "nginx:1.22", "nginx", "jails/nginx@sha256:" + strings.Repeat("a", 64),
		filepath.Join(dir, "missing"), filepath.Join(dir, "missing") + ":v1", "local/nginx:1",
		"./out/x", "../out/x:1", file, "UPPER/Case:tag",
	} {
		t.Run(s, func(t *testing.T) {
			src, err := ParseSource(s)
			if err == nil {
				t.Fatalf("ParseSource(%q) = %v, want an error", s, src)
			}
			want := fmt.Sprintf("SOURCE %q: no such OCI layout directory; a registry reference needs a host", s)
			if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %q (fs.ErrNotExist: %v), want %q...", err, errors.Is(err, fs.ErrNotExist), want)
			}
			if _, err := Open(context.Background(), s); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Open(%q): %v, want fs.ErrNotExist", s, err)
			}
		})
	}
}

func TestParseReference(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"registry.example/jails/nginx:1.22", "registry.example/jails/nginx:1.22"},
		{"127.0.0.1:5000/x", "127.0.0.1:5000/x:latest"},
		{"localhost/x:1", "localhost/x:1"},
		{"docker.io/library/nginx", "index.docker.io/library/nginx:latest"},
		{"index.docker.io/library/nginx:1", "index.docker.io/library/nginx:1"},
	} {
		ref, err := ParseReference(tc.in, name.WithDefaultRegistry("evil.example"))
		if err != nil || ref.Name() != tc.want {
			t.Errorf("ParseReference(%q) = %v, %v; want %s", tc.in, ref, err, tc.want)
		}
	}
	for _, in := range []string{"nginx", "nginx:1.22", "out/bash", "jails/bash:5.2", "library/nginx", "./out/x", "../x:1"} {
		var noHost *NoHostError
		if ref, err := ParseReference(in, name.WithDefaultRegistry("evil.example")); !errors.As(err, &noHost) {
			t.Errorf("ParseReference(%q) = %v, %v; want a *NoHostError", in, ref, err)
		}
	}
}

func appendTagged(p layout.Path, img v1.Image, tag string) error {
	return p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": tag}))
}

// TestWriteLayoutModes checks a layout is readable by everyone, whatever
// the umask and however go-containerregistry wrote each blob.
func TestWriteLayoutModes(t *testing.T) {
	tr := tree.New()
	tr.Add(tree.Entry{Path: "/etc/hostname", Type: tree.Reg, Mode: 0o444, Size: 5,
		Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("jail\n")), nil }})
	l, err := layer.FromTree(context.Background(), tr)
	if err != nil {
		t.Fatal(err)
	}
	img, err := New(Config{}, l)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	if err := WriteLayout(context.Background(), dir, img, "v1"); err != nil {
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
