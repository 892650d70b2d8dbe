package layout_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/jailimg/jailimg/internal/imagetest"
	"github.com/jailimg/jailimg/pkg/layout"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// tamperLayout is a fresh one-image layout for a tampering test, with the
// descriptors of what it holds.
type tamperLayout struct {
	t        *testing.T
	dir      string
	index    v1.IndexManifest
	manifest v1.Manifest
}

func newTamperLayout(t *testing.T) *tamperLayout {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "l")
	if err := layout.Write(context.Background(), dir, imagetest.Image(t, 3000, 2000), "1"); err != nil {
		t.Fatal(err)
	}
	l := &tamperLayout{t: t, dir: dir}
	l.readJSON("index.json", &l.index)
	l.readJSON(l.blob(l.index.Manifests[0].Digest), &l.manifest)
	return l
}

func (l *tamperLayout) blob(h v1.Hash) string { return filepath.Join("blobs", "sha256", h.Hex) }

func (l *tamperLayout) readJSON(file string, v any) {
	b, err := os.ReadFile(filepath.Join(l.dir, file))
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		l.t.Fatal(err)
	}
}

func (l *tamperLayout) write(file string, b []byte) {
	if err := os.WriteFile(filepath.Join(l.dir, file), b, 0o644); err != nil {
		l.t.Fatal(err)
	}
}

func (l *tamperLayout) writeJSON(file string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		l.t.Fatal(err)
	}
	l.write(file, b)
}

// edit rewrites the JSON file with f applied to it as a generic object.
func (l *tamperLayout) edit(file string, f func(map[string]any)) {
	var m map[string]any
	l.readJSON(file, &m)
	f(m)
	l.writeJSON(file, m)
}

// rehome writes the manifest as a new blob and points the index at it with
// the right digest and size: the manifest itself is then genuine.
func (l *tamperLayout) rehome() {
	b, err := json.Marshal(l.manifest)
	if err != nil {
		l.t.Fatal(err)
	}
	h, n, _ := v1.SHA256(strings.NewReader(string(b)))
	l.write(l.blob(h), b)
	l.index.Manifests[0].Digest, l.index.Manifests[0].Size = h, n
	l.writeJSON("index.json", l.index)
}

// TestImageTampered: every change to a layout that makes what it
// serves differ from what its index and manifest declare is refused, with
// an error naming the layout and file and matching layout.ErrInvalid.
func TestImageTampered(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(l *tamperLayout) string // returns the file the error must name
		want   string
	}{
		{"index truncated", func(l *tamperLayout) string {
			b, _ := os.ReadFile(filepath.Join(l.dir, "index.json"))
			l.write("index.json", b[:len(b)/2])
			return "index.json"
		}, "unexpected end of JSON input"},
		{"index empty", func(l *tamperLayout) string { l.write("index.json", nil); return "index.json" }, "unexpected end of JSON input"},
		{"index missing", func(l *tamperLayout) string { os.Remove(filepath.Join(l.dir, "index.json")); return "index.json" }, "no such file"},
		{"index a FIFO", func(l *tamperLayout) string {
			os.Remove(filepath.Join(l.dir, "index.json"))
			if err := syscall.Mkfifo(filepath.Join(l.dir, "index.json"), 0o644); err != nil {
				t.Fatal(err)
			}
			return "index.json"
		}, "not a regular file"},
		{"index without images", func(l *tamperLayout) string {
			l.index.Manifests = nil
			l.writeJSON("index.json", l.index)
			return "index.json"
		}, "no image"},
		{"manifest bytes changed", func(l *tamperLayout) string {
			f := l.blob(l.index.Manifests[0].Digest)
			l.edit(f, func(m map[string]any) { m["annotations"] = map[string]string{"x": "y"} })
			b, _ := os.ReadFile(filepath.Join(l.dir, f))
			l.index.Manifests[0].Size = int64(len(b)) // only the digest can tell
			l.writeJSON("index.json", l.index)
			return f
		}, "content digest"},
		{"index size too small", func(l *tamperLayout) string {
			l.index.Manifests[0].Size--
			l.writeJSON("index.json", l.index)
			return l.blob(l.index.Manifests[0].Digest)
		}, "descriptor says"},
		{"index size huge", func(l *tamperLayout) string {
			l.index.Manifests[0].Size = 9000000000000
			l.writeJSON("index.json", l.index)
			return l.blob(l.index.Manifests[0].Digest)
		}, "out of range"},
		{"manifest is the layer blob", func(l *tamperLayout) string {
			l.index.Manifests[0].Digest, l.index.Manifests[0].Size = l.manifest.Layers[0].Digest, l.manifest.Layers[0].Size
			l.writeJSON("index.json", l.index)
			return l.blob(l.manifest.Layers[0].Digest)
		}, "invalid character"},
		{"manifest blob a symlink", func(l *tamperLayout) string {
			f := filepath.Join(l.dir, l.blob(l.index.Manifests[0].Digest))
			os.Rename(f, f+".real")
			os.Symlink(f+".real", f)
			return l.blob(l.index.Manifests[0].Digest)
		}, "symlink"},
		{"config changed", func(l *tamperLayout) string {
			f := l.blob(l.manifest.Config.Digest)
			l.edit(f, func(m map[string]any) { m["config"] = map[string]any{"User": "root"} })
			return f
		}, "descriptor says"},
		{"config changed, same size", func(l *tamperLayout) string {
			f := l.blob(l.manifest.Config.Digest)
			b, _ := os.ReadFile(filepath.Join(l.dir, f))
			l.write(f, []byte(strings.Replace(string(b), "linux", "Linux", 1)))
			return f
		}, "content digest"},
		{"config size wrong in the manifest", func(l *tamperLayout) string {
			l.manifest.Config.Size++
			l.rehome()
			return l.blob(l.manifest.Config.Digest)
		}, "descriptor says"},
		{"config missing", func(l *tamperLayout) string {
			f := l.blob(l.manifest.Config.Digest)
			os.Remove(filepath.Join(l.dir, f))
			return f
		}, "no such file"},
		{"diff_ids short", func(l *tamperLayout) string {
			var cf v1.ConfigFile
			l.readJSON(l.blob(l.manifest.Config.Digest), &cf)
			cf.RootFS.DiffIDs = cf.RootFS.DiffIDs[:1]
			b, _ := json.Marshal(cf)
			h, n, _ := v1.SHA256(strings.NewReader(string(b)))
			l.write(l.blob(h), b)
			l.manifest.Config.Digest, l.manifest.Config.Size = h, n
			l.rehome()
			return l.blob(h)
		}, "1 diff_ids for the manifest's 2 layers"},
		{"layer missing", func(l *tamperLayout) string {
			f := l.blob(l.manifest.Layers[1].Digest)
			os.Remove(filepath.Join(l.dir, f))
			return f
		}, "layer 1: no such file"},
		{"layer truncated", func(l *tamperLayout) string {
			f := l.blob(l.manifest.Layers[0].Digest)
			os.Truncate(filepath.Join(l.dir, f), 10)
			return f
		}, "layer 0: 10 bytes, descriptor says"},
		{"layer size wrong in the manifest", func(l *tamperLayout) string {
			l.manifest.Layers[0].Size = 1 << 40
			l.rehome()
			return l.blob(l.manifest.Layers[0].Digest)
		}, "descriptor says 1099511627776"},
		{"layer a FIFO", func(l *tamperLayout) string {
			f := l.blob(l.manifest.Layers[0].Digest)
			os.Remove(filepath.Join(l.dir, f))
			if err := syscall.Mkfifo(filepath.Join(l.dir, f), 0o644); err != nil {
				t.Fatal(err)
			}
			return f
		}, "not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newTamperLayout(t)
			file := tc.tamper(l)
			done := make(chan struct{})
			var img v1.Image
			var err error
			go func() { defer close(done); img, err = layout.Image(l.dir, "") }()
			select {
			case <-done:
			case <-time.After(time.Minute): // a hang, not a speed limit
				t.Fatal("layout.Image hangs")
			}
			if err == nil {
				d, _ := img.Digest()
				t.Fatalf("layout.Image accepted the tampered layout (digest %s)", d)
			}
			t.Logf("error: %v", err)
			prefix := "OCI layout " + l.dir + ": " + file + ": "
			if !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want %q...%q", err, prefix, tc.want)
			}
			if !errors.Is(err, layout.ErrInvalid) {
				t.Errorf("error %v does not match layout.ErrInvalid", err)
			}
		})
	}
}

// TestImageServesVerified: the image layout.Image returns is the one
// written, and a manifest or config changed on disk afterwards does not
// reach its readers.
func TestImageServesVerified(t *testing.T) {
	l := newTamperLayout(t)
	img, err := layout.Image(l.dir, "1")
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatal(err)
	}
	if d, _ := partial.Descriptor(img); d == nil || d.Annotations[ocispec.AnnotationRefName] != "1" {
		t.Errorf("descriptor %v, want the index's, tagged 1", d)
	}
	before, _ := img.RawConfigFile()
	l.edit(l.blob(l.manifest.Config.Digest), func(m map[string]any) { m["config"] = map[string]any{"User": "root"} })
	l.write(l.blob(l.index.Manifests[0].Digest), []byte("{}"))
	after, _ := img.RawConfigFile()
	if string(after) != string(before) {
		t.Error("the config changed on disk reached the image")
	}
	if m, err := img.Manifest(); err != nil || len(m.Layers) != 2 {
		t.Errorf("manifest %v, %v after the blob changed on disk", m, err)
	}
	if err := validate.Image(img); err != nil {
		t.Errorf("image read after the files changed: %v", err)
	}
}
