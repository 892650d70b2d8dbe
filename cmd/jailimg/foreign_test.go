package main

import (
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/jailimg/jailimg/internal/ocitest"
	"github.com/jailimg/jailimg/internal/registrytest"
)

// foreignRegistries starts the registries foreign images are served from:
// go-containerregistry's (crane registry serve's), which stores manifests
// as pushed, and Debian's docker-registry, which refuses some ambiguous
// documents at push. hosts returns those that hold a case's documents.
func foreignRegistries(t *testing.T) (hosts func(distribution bool) []string) {
	t.Helper()
	s := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(s.Close)
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	dist := registrytest.Start(t)
	return func(distribution bool) []string {
		if distribution {
			return []string{u.Host, dist.Addr}
		}
		return []string{u.Host}
	}
}

// pushCase pushes img to host/foreign/NAME:1 and returns the reference.
func pushCase(t *testing.T, host, caseName string, img ocitest.Image) string {
	t.Helper()
	repo := strings.NewReplacer(" ", "-", "_", "-").Replace(strings.ToLower(caseName))
	s := host + "/foreign/" + repo + ":1"
	ref, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := ocitest.Push(t, ref, img); err != nil {
		t.Fatalf("pushing %s: %v", s, err)
	}
	return s
}

// TestForeignImagesCLI runs jailimg unpack on one image of each class
// jailimg refuses (ocitest.Foreign), from an OCI layout and from
// registries, and jailimg pull and inspect from the registries: each must
// exit 3 with one error line naming the source, the document (its digest,
// or the layout's index.json) and the fault, and leave TARGET and the
// pulled layout uncreated.
func TestForeignImagesCLI(t *testing.T) {
	hosts := foreignRegistries(t)
	refused := func(t *testing.T, r result, names ...string) {
		t.Helper()
		errLine := ""
		for _, l := range strings.Split(r.stderr, "\n") {
			if strings.HasPrefix(l, "jailimg: ") {
				errLine = l
			}
		}
		if r.code != exitInput || errLine == "" {
			t.Errorf("exit %d, stderr %q; want %d and a jailimg: error line", r.code, r.stderr, exitInput)
		}
		for _, s := range names {
			if !strings.Contains(errLine, s) {
				t.Errorf("error %q does not say %q", errLine, s)
			}
		}
	}
	for _, tc := range ocitest.Foreign(t) {
		t.Run(tc.Name, func(t *testing.T) {
			work := t.TempDir()
			digest := tc.Image.Top().Digest()
			if tc.Layout {
				dir := filepath.Join(work, "layout")
				ocitest.WriteLayout(t, dir, tc.Image, "1")
				file := "index.json"
				if tc.Image.Index == nil {
					file = filepath.Join("blobs/sha256", digest.Hex)
				}
				refused(t, jailimg(t, work, nil, "-q", "unpack", dir, filepath.Join(work, "jail")), dir, file, tc.Want)
			}
			for _, host := range hosts(tc.Distribution) {
				ref := pushCase(t, host, tc.Name, tc.Image)
				refused(t, jailimg(t, work, nil, "-q", "unpack", ref, filepath.Join(work, "jail")), ref, digest.String(), tc.Want)
				refused(t, jailimg(t, work, nil, "-q", "pull", ref, "pulled"), ref, digest.String(), tc.Want)
				refused(t, jailimg(t, work, nil, "inspect", ref), ref, digest.String(), tc.Want)
			}
			for _, made := range []string{"jail", "pulled"} {
				if _, err := os.Lstat(filepath.Join(work, made)); err == nil {
					t.Errorf("%s was created", made)
				}
			}
		})
	}
}

// TestGoodImagesCLI is TestForeignImagesCLI's positive control: a Docker
// v2 schema 2 image, an OCI image (gzip, zstd and plain tar layers) and one
// behind an OCI index unpack from a layout and from the registries, and
// pull, with exit 0 and every layer's file in the tree.
func TestGoodImagesCLI(t *testing.T) {
	hosts := foreignRegistries(t)
	for caseName, img := range ocitest.Good(t) {
		t.Run(caseName, func(t *testing.T) {
			work := t.TempDir()
			dir := filepath.Join(work, "layout")
			ocitest.WriteLayout(t, dir, img, "1")
			sources := []string{dir}
			for _, host := range hosts(true) {
				sources = append(sources, pushCase(t, host, caseName, img))
				mustJailimg(t, work, nil, "-q", "pull", sources[len(sources)-1], "pulled:"+strings.ReplaceAll(host, ":", "-"))
			}
			for i, source := range sources {
				target := filepath.Join(work, "jail", string(rune('a'+i)))
				if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
					t.Fatal(err)
				}
				if got := strings.TrimSpace(mustJailimg(t, work, nil, "-q", "unpack", source, target)); got != img.Manifest.Digest().String() {
					t.Errorf("unpack %s: digest %s, want %s", source, got, img.Manifest.Digest())
				}
				for l := range len(img.Blobs) - 1 {
					if _, err := os.Stat(filepath.Join(target, "current/rootfs", "layer"+string(rune('0'+l)))); err != nil {
						t.Errorf("unpack %s: %v", source, err)
					}
				}
			}
		})
	}
}
