package build

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestInputs checks that WithInputs lists every file the build copied,
// binaries and libraries of the closure and the recipe's files, each with
// the sha256 of the bytes the layer holds, and nothing the build wrote
// itself.
func TestInputs(t *testing.T) {
	r, err := load(t, `
name: t
binaries: [/usr/bin/ls]
files:
  - {src: conf.txt, dst: /etc/conf.txt}
  - {src: tree, dst: /srv/tree}
users: [{name: app, uid: 1000, gid: 1000}]
groups: [{name: app, gid: 1000}]
`, map[string]string{"conf.txt": "a=1\n", "tree/a": "A", "tree/sub/b": "B"})
	if err != nil {
		t.Fatal(err)
	}
	var got []Input
	calls := 0
	img, err := Image(context.Background(), r, WithInputs(func(in []Input) { got = in; calls++ }))
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Fatalf("WithInputs's function called %d times, want once", calls)
	}
	inLayer := layerDigests(t, img)
	byName := map[string]Input{}
	for i, in := range got {
		byName[in.Name] = in
		if i > 0 && got[i-1].Name >= in.Name {
			t.Errorf("inputs not sorted by name: %s after %s", in.Name, got[i-1].Name)
		}
		if want, ok := inLayer[in.Name]; !ok || in.Digest.String() != want {
			t.Errorf("input %s: %s, the layer holds %q", in.Name, in.Digest, want)
		}
	}
	dir := filepath.Dir(r.Path)
	for name, uri := range map[string]string{
		"/usr/bin/ls":        "file:///usr/bin/ls",
		"/etc/conf.txt":      "file://" + filepath.Join(dir, "conf.txt"),
		"/srv/tree/sub/b":    "file://" + filepath.Join(dir, "tree/sub/b"),
		"/etc/passwd":        "",
		"/etc/ld.so.cache":   "",
		"/etc/nsswitch.conf": "",
	} {
		in, ok := byName[name]
		switch {
		case uri == "" && ok:
			t.Errorf("%s, which the build writes, is listed as an input (%s)", name, in.URI)
		case uri != "" && (!ok || in.URI != uri):
			t.Errorf("input %s: %q, want %q", name, in.URI, uri)
		}
	}
	libc := false
	for name := range byName {
		libc = libc || strings.Contains(name, "/libc.so.6")
	}
	if !libc {
		t.Errorf("libc, of ls's closure, is not an input: %v", got)
	}
}

// layerDigests returns the sha256 of every regular file of img's one layer.
func layerDigests(t *testing.T, img v1.Image) map[string]string {
	t.Helper()
	ls, err := img.Layers()
	if err != nil || len(ls) != 1 {
		t.Fatalf("%d layers, %v", len(ls), err)
	}
	rc, err := ls[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	out := map[string]string{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		sum := sha256.New()
		if _, err := io.Copy(sum, tr); err != nil {
			t.Fatal(err)
		}
		out["/"+strings.TrimPrefix(h.Name, "./")] = "sha256:" + hex.EncodeToString(sum.Sum(nil))
	}
}
