package main

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// layoutOf writes a one-layer OCI layout holding the given tar entries.
func layoutOf(t *testing.T, hdrs ...*tar.Header) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(bytes.Repeat([]byte("x"), int(h.Size)))
	}
	tw.Close()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil },
		tarball.WithMediaType(types.OCILayer))
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), l)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "layout")
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestUnpackVerifyCLI(t *testing.T) {
	ctx := context.Background()
	good := layoutOf(t, &tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755},
		&tar.Header{Name: "etc/motd", Typeflag: tar.TypeReg, Mode: 0o644, Size: 3})
	evil := layoutOf(t, &tar.Header{Name: "../escape", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1})
	target := filepath.Join(t.TempDir(), "jail")
	f := &unpackFlags{maxBytes: "4G", maxEntries: 1000, maxRatio: 200}

	var out bytes.Buffer
	if err := runUnpack(ctx, f, good, target, &out); err != nil || !strings.HasPrefix(out.String(), "sha256:") {
		t.Fatalf("unpack: %v, output %q", err, out.String())
	}
	out.Reset()
	if err := runVerify(ctx, f, good, target, &out); err != nil || out.Len() != 0 {
		t.Fatalf("verify of a fresh unpack: %v, output %q", err, out.String())
	}

	err := runUnpack(ctx, f, evil, target, io.Discard)
	if code := exitCode(err); code != exitInput || !strings.Contains(err.Error(), `"../escape"`) {
		t.Errorf("unpack of a traversal layer: exit %d, %v; want %d naming the entry", code, err, exitInput)
	}

	if err := os.WriteFile(filepath.Join(target, "current/rootfs/etc/motd"), []byte("pwn"), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err = runVerify(ctx, f, good, target, &out)
	if code := exitCode(err); code != exitFailure || !strings.Contains(out.String(), "/etc/motd\tcontent") {
		t.Errorf("verify of a tampered tree: exit %d, %v, output %q", code, err, out.String())
	}

	f.maxBytes = "lots"
	if err := runUnpack(ctx, f, good, target, io.Discard); exitCode(err) != exitUsage {
		t.Errorf("bad --max-bytes: %v, want a usage error", err)
	}
}
