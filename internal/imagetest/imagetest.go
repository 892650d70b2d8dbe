// Package imagetest holds what the tests of the packages that move images
// (layout, registry, source) share: random images, references, an
// in-process registry, and snapshots of a layout directory to tell that a
// failed write left it as it was. It is a test helper, not a promise: its
// API may change.
package imagetest

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/jailimg/jailimg/pkg/image"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Image returns an OCI image of random layers of the given sizes.
func Image(t testing.TB, sizes ...int64) v1.Image {
	t.Helper()
	var layers []v1.Layer
	for _, s := range sizes {
		l, err := random.Layer(s, types.OCILayer)
		if err != nil {
			t.Fatal(err)
		}
		layers = append(layers, l)
	}
	img, err := image.New(image.Config{Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}}, layers...)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// Digest returns img's manifest digest.
func Digest(t testing.TB, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Ref parses a registry reference.
func Ref(t testing.TB, s string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// InProcess starts go-containerregistry's in-memory registry and returns
// its host:port.
func InProcess(t testing.TB) string {
	t.Helper()
	s := httptest.NewServer(registry.New(registry.Logger(NilLogger())))
	t.Cleanup(s.Close)
	u, _ := url.Parse(s.URL)
	return u.Host
}

// NilLogger is a logger that writes nothing.
func NilLogger() *log.Logger { return log.New(io.Discard, "", 0) }

// BlobName is the path of a blob inside a layout.
func BlobName(h v1.Hash) string {
	return filepath.Join("blobs", h.Algorithm, h.Hex)
}

// BlobFiles lists the names of the files under a layout's blobs/sha256,
// sorted.
func BlobFiles(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// Snapshot is what a layout directory holds: every file's path and bytes
// (by hash) and mode, and the entries of its parent directory.
func Snapshot(t testing.TB, dir string) string {
	t.Helper()
	var lines []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case fi.IsDir():
			lines = append(lines, rel+"/")
		default:
			b, _ := os.ReadFile(p)
			lines = append(lines, fmt.Sprintf("%s %s %x", rel, fi.Mode(), sha256.Sum256(b)))
		}
		return nil
	})
	entries, _ := os.ReadDir(filepath.Dir(dir))
	for _, e := range entries {
		lines = append(lines, "parent: "+e.Name())
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// AssertNoStaging checks only the layout and its lock file are left in
// the layout's parent directory.
func AssertNoStaging(t testing.TB, dir string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != filepath.Base(dir) && e.Name() != filepath.Base(dir)+".lock" {
			t.Errorf("left behind in the parent: %s", e.Name())
		}
	}
}

// HoldsImage reports whether the registry has a manifest for ref, and if
// so checks every blob it names is there and matches its digest.
func HoldsImage(t testing.TB, ref string) bool {
	t.Helper()
	img, err := remote.Image(Ref(t, ref))
	var terr *transport.Error
	if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
		return false
	}
	if err != nil {
		t.Fatalf("reading %s back: %v", ref, err)
	}
	if err := validate.Image(img); err != nil {
		t.Errorf("registry has a manifest for %s but not the whole image: %v", ref, err)
	}
	return true
}
