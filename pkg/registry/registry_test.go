package registry_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	ggcr "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/jailimg/jailimg/internal/imagetest"
	"github.com/jailimg/jailimg/pkg/layout"
	"github.com/jailimg/jailimg/pkg/registry"
)

// fastRetry keeps the retry policy's shape with millisecond waits, for tests
// that expect a failure after retries.
var fastRetry = registry.WithBackoff(remote.Backoff{Duration: 10 * time.Millisecond, Factor: 2, Steps: 3})

// TestPushPullRoundTrip pushes to the in-process registry, pulls into an
// existing layout beside another image, and checks digests, tags, the
// upload meter and that the older image is still there.
func TestPushPullRoundTrip(t *testing.T) {
	ctx := context.Background()
	host := imagetest.InProcess(t)
	img := imagetest.Image(t, 100_000, 50_000)
	want, _ := img.Digest()
	ref := imagetest.Ref(t, host+"/jails/test:1")

	var reports []registry.Progress
	res, err := registry.Push(ctx, ref, img, registry.WithProgress(func(p registry.Progress) { reports = append(reports, p) }))
	if err != nil {
		t.Fatal(err)
	}
	if res.Digest != want {
		t.Errorf("Push digest %s, want %s", res.Digest, want)
	}
	var layerBytes int64
	m, _ := img.Manifest()
	for _, l := range m.Layers {
		layerBytes += l.Size
	}
	if res.UploadedBytes != layerBytes {
		t.Errorf("first push uploaded %d bytes, want the layers' %d", res.UploadedBytes, layerBytes)
	}
	again, err := registry.Push(ctx, ref, img)
	if err != nil || again.UploadedBytes != 0 {
		t.Errorf("second push: uploaded %d bytes, err %v; want 0", again.UploadedBytes, err)
	}
	if len(reports) == 0 || reports[len(reports)-1].Done != reports[len(reports)-1].Total {
		t.Errorf("push progress %v, want reports ending complete", reports)
	}

	dir := filepath.Join(t.TempDir(), "layout")
	other := imagetest.Image(t, 1000)
	if err := layout.Write(ctx, dir, other, "other"); err != nil {
		t.Fatal(err)
	}
	var pulled []registry.Progress
	got, err := registry.Pull(ctx, ref, dir, "1", registry.WithProgress(func(p registry.Progress) { pulled = append(pulled, p) }))
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("Pull digest %s, want %s", got, want)
	}
	if last := pulled[len(pulled)-1]; last.Done != last.Total || last.Total != layerBytes+m.Config.Size {
		t.Errorf("last pull progress %+v, want %d of %d", last, layerBytes+m.Config.Size, layerBytes+m.Config.Size)
	}
	for tag, d := range map[string]v1.Image{"1": img, "other": other} {
		li, err := layout.Image(dir, tag)
		if err != nil {
			t.Fatalf("tag %s: %v", tag, err)
		}
		if err := validate.Image(li); err != nil {
			t.Errorf("tag %s: %v", tag, err)
		}
		a, _ := li.Digest()
		b, _ := d.Digest()
		if a != b {
			t.Errorf("tag %s: digest %s, want %s", tag, a, b)
		}
	}
	// Pulling the same tag again replaces it, not adds a second entry.
	if _, err := registry.Pull(ctx, ref, dir, "1"); err != nil {
		t.Fatal(err)
	}
	if _, err := layout.Image(dir, "1"); err != nil {
		t.Errorf("after a second pull: %v", err)
	}
}

// corrupting serves the in-process registry, flipping a byte of the blob
// with the given digest.
func corrupting(t *testing.T, digest v1.Hash) string {
	t.Helper()
	reg := ggcr.New(ggcr.Logger(imagetest.NilLogger()))
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+digest.String()) {
			rec := httptest.NewRecorder()
			reg.ServeHTTP(rec, r)
			b := rec.Body.Bytes()
			b[len(b)/2] ^= 0xff
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			w.Write(b)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	u, _ := url.Parse(s.URL)
	return u.Host
}

// TestPullFailureKeepsLayout checks failed pulls leave an existing layout
// byte for byte as it was, and no temporary directory beside it.
func TestPullFailureKeepsLayout(t *testing.T) {
	ctx := context.Background()
	img := imagetest.Image(t, 200_000)
	m, _ := img.Manifest()
	cases := []struct {
		name string
		host string
		want string
	}{
		{"corrupt layer", corrupting(t, m.Layers[0].Digest), "sha256"},
		{"corrupt config", corrupting(t, m.Config.Digest), "sha256"},
		{"unknown tag", imagetest.InProcess(t), "MANIFEST_UNKNOWN: "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			push := imagetest.Ref(t, tc.host+"/jails/test:1")
			if _, err := registry.Push(ctx, push, img); err != nil {
				t.Fatal(err)
			}
			ref := push
			if tc.name == "unknown tag" {
				ref = imagetest.Ref(t, tc.host+"/jails/test:2")
			}
			dir := filepath.Join(t.TempDir(), "layout")
			if err := layout.Write(ctx, dir, imagetest.Image(t, 1000), "1"); err != nil {
				t.Fatal(err)
			}
			before := imagetest.Snapshot(t, dir)
			_, err := registry.Pull(ctx, ref, dir, "1", fastRetry)
			t.Logf("error: %v", err)
			var rerr *registry.Error
			if !errors.As(err, &rerr) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "repository jails/test") || strings.Contains(err.Error(), "map[") {
				t.Errorf("Pull error %v, want a *registry.Error naming the repository and %q", err, tc.want)
			}
			if after := imagetest.Snapshot(t, dir); after != before {
				t.Errorf("layout changed:\nbefore\n%s\nafter\n%s", before, after)
			}
		})
	}
}

// TestPushErrors checks permanent failures name registry, repository and cause.
func TestPushErrors(t *testing.T) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"errors":[{"code":"DENIED","message":"no pushing here"}]}`)
	}))
	defer s.Close()
	u, _ := url.Parse(s.URL)
	ref := imagetest.Ref(t, u.Host+"/jails/denied:1")
	_, err := registry.Push(context.Background(), ref, imagetest.Image(t, 100), fastRetry)
	var terr *transport.Error
	if !errors.As(err, &terr) || terr.StatusCode != http.StatusForbidden {
		t.Fatalf("error %v, want a 403 *transport.Error", err)
	}
	for _, s := range []string{"registry " + u.Host, "repository jails/denied", "no pushing here"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
}

// TestTransient pins which errors are retried.
func TestTransient(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"reset", &os.SyscallError{Syscall: "read", Err: syscall.ECONNRESET}, true},
		{"refused", &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}, true},
		{"cut off", io.ErrUnexpectedEOF, true},
		{"429", &transport.Error{StatusCode: http.StatusTooManyRequests}, true},
		{"503", &transport.Error{StatusCode: http.StatusServiceUnavailable}, true},
		{"401", &transport.Error{StatusCode: http.StatusUnauthorized}, false},
		{"403", &transport.Error{StatusCode: http.StatusForbidden}, false},
		{"404", &transport.Error{StatusCode: http.StatusNotFound}, false},
		{"digest mismatch", errors.New("error verifying sha256 checksum"), false},
		{"canceled", context.Canceled, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := registry.Transient(tc.err); got != tc.want {
				t.Errorf("registry.Transient(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

// TestPullRechecksBlobsAlreadyInLayout plants a corrupt copy of a layer
// (right name, right size, wrong bytes) in the layout: the layout writer
// skips a blob it already has without reading it, so Pull must hash it and
// refuse, leaving the layout as it was.
func TestPullRechecksBlobsAlreadyInLayout(t *testing.T) {
	ctx := context.Background()
	img := imagetest.Image(t, 50_000)
	ref := imagetest.Ref(t, imagetest.InProcess(t)+"/jails/test:1")
	if _, err := registry.Push(ctx, ref, img); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "layout")
	if err := layout.Write(ctx, dir, imagetest.Image(t, 1000), "old"); err != nil {
		t.Fatal(err)
	}
	m, _ := img.Manifest()
	planted := filepath.Join(dir, "blobs/sha256", m.Layers[0].Digest.Hex)
	if err := os.WriteFile(planted, make([]byte, m.Layers[0].Size), 0o644); err != nil {
		t.Fatal(err)
	}
	before := imagetest.Snapshot(t, dir)
	_, err := registry.Pull(ctx, ref, dir, "1")
	var berr *layout.BlobError
	if !errors.As(err, &berr) || berr.Want.Digest != m.Layers[0].Digest {
		t.Fatalf("Pull over a planted corrupt blob: %v, want a *layout.BlobError for %s", err, m.Layers[0].Digest)
	}
	if after := imagetest.Snapshot(t, dir); after != before {
		t.Errorf("layout changed:\nbefore\n%s\nafter\n%s", before, after)
	}
}
