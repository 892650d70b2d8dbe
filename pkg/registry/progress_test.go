package registry_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	ggcr "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/jailimg/jailimg/internal/imagetest"
	"github.com/jailimg/jailimg/pkg/registry"
)

// progressLog collects the reports of a transfer.
type progressLog struct {
	mu  sync.Mutex
	got []registry.Progress
}

func (p *progressLog) add(u registry.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.got = append(p.got, u)
}

// check says what is wrong with the reports of a transfer of layers:
// each report lists them in manifest order, a layer's bytes done never
// exceed its size, and every layer is done at the end.
func (p *progressLog) check(t *testing.T, what string, layers []v1.Descriptor) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.got) == 0 {
		t.Fatalf("%s: no progress reported", what)
	}
	done := make([]int64, len(layers))
	for _, u := range p.got {
		if len(u.Layers) != len(layers) {
			t.Fatalf("%s: a report lists %d layers, want %d", what, len(u.Layers), len(layers))
		}
		for i, l := range u.Layers {
			if l.Digest != layers[i].Digest || l.Size != layers[i].Size || l.Done > l.Size {
				t.Fatalf("%s: layer %d reported as %+v, want %s of %d bytes", what, i, l, layers[i].Digest, layers[i].Size)
			}
			done[i] = max(done[i], l.Done)
		}
	}
	for i, l := range layers {
		if done[i] != l.Size {
			t.Errorf("%s: layer %d reached %d of %d bytes", what, i, done[i], l.Size)
		}
	}
	if last := p.got[len(p.got)-1]; last.Done != last.Total {
		t.Errorf("%s: last report %d of %d bytes", what, last.Done, last.Total)
	}
}

// TestLayerProgress pushes and pulls a two-layer image and checks each
// layer's progress; the registry redirects blob GETs to another URL, as
// registries backed by object storage do, and the pull still counts them.
func TestLayerProgress(t *testing.T) {
	ctx := context.Background()
	inner := ggcr.New(ggcr.Logger(imagetest.NilLogger()))
	var redirected int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/sha256:") {
			mu.Lock()
			redirected++
			mu.Unlock()
			// an object store's URL: nothing in it names the blob
			http.Redirect(w, r, "/storage?key="+url.QueryEscape(r.URL.Path), http.StatusTemporaryRedirect)
			return
		}
		if r.URL.Path == "/storage" {
			r.URL.Path = r.URL.Query().Get("key")
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	img := imagetest.Image(t, 300_000, 100_000)
	mf, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	ref := imagetest.Ref(t, host+"/jails/two:1")

	var pushed progressLog
	if _, err := registry.Push(ctx, ref, img, registry.WithProgress(pushed.add)); err != nil {
		t.Fatal(err)
	}
	pushed.check(t, "push", mf.Layers)

	var pulled progressLog
	if _, err := registry.Pull(ctx, ref, filepath.Join(t.TempDir(), "layout"), "1", registry.WithProgress(pulled.add)); err != nil {
		t.Fatal(err)
	}
	pulled.check(t, "pull", mf.Layers)
	if redirected == 0 {
		t.Error("the registry redirected no blob GET")
	}
}
