package registry_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/jailimg/jailimg/internal/imagetest"
	"github.com/jailimg/jailimg/internal/registrytest"
	"github.com/jailimg/jailimg/pkg/layout"
	"github.com/jailimg/jailimg/pkg/registry"
)

// The tests in this file run against Debian's docker-registry.

// tripwire is a transport that calls fault once, from inside the transfer:
// after the first 64 KiB of a blob upload body (push) or of a blob download
// (pull). It counts the blob requests it saw, so a test can tell the fault
// happened and was retried.
type tripwire struct {
	inner    http.RoundTripper
	fault    func()
	once     sync.Once
	fired    atomic.Bool
	requests atomic.Int64 // PATCH uploads and GET blob downloads
}

const tripAfter = 64 << 10

func (w *tripwire) RoundTrip(req *http.Request) (*http.Response, error) {
	upload := req.Method == http.MethodPatch && req.Body != nil
	download := req.Method == http.MethodGet && strings.Contains(req.URL.Path, "/blobs/sha256:")
	if upload {
		w.requests.Add(1)
		r := req.Clone(req.Context())
		r.Body = &tripReader{ReadCloser: req.Body, w: w}
		req = r
	}
	resp, err := w.inner.RoundTrip(req)
	if err == nil && download {
		w.requests.Add(1)
		resp.Body = &tripReader{ReadCloser: resp.Body, w: w}
	}
	return resp, err
}

type tripReader struct {
	io.ReadCloser
	w    *tripwire
	read int64
}

func (r *tripReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if r.read += int64(n); r.read >= tripAfter {
		r.w.once.Do(func() { r.w.fired.Store(true); r.w.fault() })
	}
	return n, err
}

// TestPushRegistryKilled kills the registry once a layer upload is under
// way. Restarted at once, the push must succeed through retries and the
// registry hold the whole image; left down, the push must fail with a
// connection error and the registry (brought back to look) hold no
// manifest for the tag.
func TestPushRegistryKilled(t *testing.T) {
	img := imagetest.Image(t, 4<<20, 2<<20)
	for _, restart := range []bool{true, false} {
		name := map[bool]string{true: "restarted", false: "left down"}[restart]
		t.Run(name, func(t *testing.T) {
			reg := registrytest.Start(t)
			wire := &tripwire{inner: remote.DefaultTransport}
			wire.fault = reg.Stop
			opts := []registry.Option{registry.WithTransport(wire)}
			if restart {
				wire.fault = reg.Restart
			} else {
				opts = append(opts, fastRetry)
			}
			ref := reg.Ref("jails/big:1")
			res, err := registry.Push(context.Background(), imagetest.Ref(t, ref), img, opts...)
			if !wire.fired.Load() {
				t.Fatal("the fault never fired")
			}
			if !restart {
				reg.Restart()
			}
			switch {
			case restart && err != nil:
				t.Fatalf("push with the registry restarted: %v\n%s", err, reg.Log())
			case restart:
				want, _ := img.Digest()
				if res.Digest != want || wire.requests.Load() <= 3 { // 3 blobs: two layers and the config
					t.Errorf("digest %s (want %s) after %d uploads (want more than 3: a retry)", res.Digest, want, wire.requests.Load())
				}
				if !imagetest.HoldsImage(t, ref) {
					t.Error("the registry has no manifest after a successful push")
				}
			case err == nil:
				t.Fatal("push to a dead registry succeeded")
			default:
				t.Logf("error: %v", err)
				if !strings.Contains(err.Error(), "connection refused") && !strings.Contains(err.Error(), "reset") {
					t.Errorf("error %q does not say the connection failed", err)
				}
				if imagetest.HoldsImage(t, ref) {
					t.Error("the registry has a manifest for a failed push")
				}
			}
		})
	}
}

// TestPullRegistryKilled kills the registry in the middle of a layer
// download into an existing layout. Restarted at once, the pull must
// succeed by restarting the transfer; left down, it must fail and leave
// the layout as it was.
func TestPullRegistryKilled(t *testing.T) {
	img := imagetest.Image(t, 8<<20)
	want, _ := img.Digest()
	for _, restart := range []bool{true, false} {
		name := map[bool]string{true: "restarted", false: "left down"}[restart]
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			reg := registrytest.Start(t)
			ref := imagetest.Ref(t, reg.Ref("jails/big:1"))
			if _, err := registry.Push(ctx, ref, img); err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), "layout")
			if err := layout.Write(ctx, dir, imagetest.Image(t, 1000), "old"); err != nil {
				t.Fatal(err)
			}
			before := imagetest.Snapshot(t, dir)
			wire := &tripwire{inner: remote.DefaultTransport, fault: reg.Restart}
			opts := []registry.Option{registry.WithTransport(wire)}
			if !restart {
				wire.fault = reg.Stop
				opts = append(opts, fastRetry)
			}
			got, err := registry.Pull(ctx, ref, dir, "1", opts...)
			if !wire.fired.Load() {
				t.Fatal("the fault never fired")
			}
			if !restart {
				t.Logf("error: %v", err)
				if err == nil {
					t.Fatal("pull from a dead registry succeeded")
				}
				if after := imagetest.Snapshot(t, dir); after != before {
					t.Errorf("layout changed:\nbefore\n%s\nafter\n%s", before, after)
				}
				return
			}
			if err != nil {
				t.Fatalf("pull with the registry restarted: %v", err)
			}
			if got != want || wire.requests.Load() < 2 {
				t.Errorf("digest %s (want %s) after %d layer downloads (want a retry)", got, want, wire.requests.Load())
			}
			li, err := layout.Image(dir, "1")
			if err != nil {
				t.Fatal(err)
			}
			if err := validate.Image(li); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestPullCorruptStorage overwrites a layer's data file in the registry's
// storage with as many other bytes: the pull must fail naming the digest
// and leave the existing layout byte for byte as it was.
func TestPullCorruptStorage(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.Start(t)
	img := imagetest.Image(t, 300_000)
	ref := imagetest.Ref(t, reg.Ref("jails/corrupt:1"))
	if _, err := registry.Push(ctx, ref, img); err != nil {
		t.Fatal(err)
	}
	m, _ := img.Manifest()
	data := reg.BlobData(m.Layers[0].Digest.String())
	b, err := os.ReadFile(data)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = ^b[i]
	}
	if err := os.WriteFile(data, b, 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "layout")
	if err := layout.Write(ctx, dir, imagetest.Image(t, 1000), "1"); err != nil {
		t.Fatal(err)
	}
	before := imagetest.Snapshot(t, dir)
	_, err = registry.Pull(ctx, ref, dir, "1")
	t.Logf("error: %v", err)
	if err == nil || !strings.Contains(err.Error(), "verifying sha256") || !strings.Contains(err.Error(), m.Layers[0].Digest.Hex) {
		t.Errorf("pull error %v, want a digest mismatch naming %s", err, m.Layers[0].Digest)
	}
	if after := imagetest.Snapshot(t, dir); after != before {
		t.Errorf("layout changed:\nbefore\n%s\nafter\n%s", before, after)
	}
}
