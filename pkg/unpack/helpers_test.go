package unpack

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/jailimg/jailimg/internal/gzmember"
	"github.com/klauspost/compress/zstd"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"golang.org/x/sys/unix"
)

// ent is one tar entry of a test layer. Type defaults to a regular file
// (or a directory when Name ends in "/"); Mode defaults to 0644 / 0755.
type ent struct {
	Name, Body, Link string
	Type             byte
	Mode             int64
	Uid, Gid         int
	Major, Minor     int64
	PAX              map[string]string
	MTime            int64
}

func dir(name string) ent              { return ent{Name: name + "/", Type: tar.TypeDir} }
func file(name, body string) ent       { return ent{Name: name, Body: body} }
func symlink(name, target string) ent  { return ent{Name: name, Type: tar.TypeSymlink, Link: target} }
func hardlink(name, target string) ent { return ent{Name: name, Type: tar.TypeLink, Link: target} }
func whiteout(name string) ent         { d, b := filepath.Split(name); return file(d+".wh."+b, "") }
func opaque(dir string) ent            { return file(dir+"/.wh..wh..opq", "") }
func chardev(name string, ma, mi int64) ent {
	return ent{Name: name, Type: tar.TypeChar, Major: ma, Minor: mi, Mode: 0o666}
}

var epoch = time.Unix(1700000000, 0)

// tarOf writes entries into an uncompressed tar stream.
func tarOf(t testing.TB, ents ...ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		h := &tar.Header{Name: e.Name, Linkname: e.Link, Typeflag: e.Type, Mode: e.Mode, Uid: e.Uid, Gid: e.Gid,
			Devmajor: e.Major, Devminor: e.Minor, PAXRecords: e.PAX, ModTime: epoch, Format: tar.FormatPAX}
		if e.MTime != 0 {
			h.ModTime = time.Unix(e.MTime, 0)
		}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.Body))
		}
		if h.Mode == 0 {
			h.Mode = 0o644
			if h.Typeflag == tar.TypeDir {
				h.Mode = 0o755
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatalf("tar header %q: %v", e.Name, err)
		}
		if _, err := io.WriteString(tw, e.Body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rawLayer is a layer whose blob, digest, diff_id and size are whatever the
// test says, so that it can lie.
type rawLayer struct {
	blob   []byte
	digest v1.Hash
	diffID v1.Hash
	size   int64
	mt     types.MediaType
}

func (l *rawLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *rawLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *rawLayer) Size() (int64, error)                { return l.size, nil }
func (l *rawLayer) MediaType() (types.MediaType, error) { return l.mt, nil }
func (l *rawLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.blob)), nil
}
func (l *rawLayer) Uncompressed() (io.ReadCloser, error) { return nil, fmt.Errorf("not implemented") }

func sha(b []byte) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", sha256.Sum256(b))}
}

// gz compresses b as jailimg build does: independent gzip members, which
// unpack decodes on every core.
func gz(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w, err := gzmember.NewWriter(&buf, gzip.BestSpeed, 2)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// gzForeign compresses b as most other tools do: one gzip member, which
// unpack decodes on one goroutine.
func gzForeign(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zst(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w, _ := zstd.NewWriter(&buf)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// honest returns a layer with truthful digests for a tar stream and its blob.
func honest(tarball, blob []byte, mt types.MediaType) *rawLayer {
	return &rawLayer{blob: blob, digest: sha(blob), diffID: sha(tarball), size: int64(len(blob)), mt: mt}
}

// gzLayer is the usual OCI gzip layer of entries.
func gzLayer(t testing.TB, ents ...ent) *rawLayer {
	tb := tarOf(t, ents...)
	return honest(tb, gz(t, tb), types.OCILayer)
}

// imageOf stacks layers into an OCI image; valid images are checked with
// validate.Image.
func imageOf(t testing.TB, valid bool, layers ...v1.Layer) v1.Image {
	t.Helper()
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.AppendLayers(base, layers...)
	if err != nil {
		t.Fatal(err)
	}
	if valid {
		if err := validate.Image(img, validate.Fast); err != nil {
			t.Fatalf("validate: %v", err)
		}
	}
	return img
}

// snapshot describes every path below root in one line, for exact
// comparisons: "d 0755 0:0", "f 0644 0:0 n=1 body", "l -> target", "c 1:3 0666".
func snapshot(t testing.TB, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		st := fi.Sys().(*syscall.Stat_t)
		perm := fmt.Sprintf("%04o %d:%d", st.Mode&0o7777, st.Uid, st.Gid)
		switch fi.Mode().Type() {
		case os.ModeDir:
			out[rel] = "d " + perm
		case os.ModeSymlink:
			l, _ := os.Readlink(p)
			out[rel] = "l -> " + l
		case os.ModeDevice | os.ModeCharDevice:
			out[rel] = fmt.Sprintf("c %d:%d %s", unix.Major(st.Rdev), unix.Minor(st.Rdev), perm)
		case 0:
			b, _ := os.ReadFile(p)
			out[rel] = fmt.Sprintf("f %s n=%d %s", perm, st.Nlink, b)
		default:
			out[rel] = "? " + fi.Mode().String()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func diffSnap(want, got map[string]string) string {
	var lines []string
	for k, w := range want {
		if g, ok := got[k]; !ok {
			lines = append(lines, fmt.Sprintf("missing /%s (%s)", k, w))
		} else if g != w {
			lines = append(lines, fmt.Sprintf("/%s: want %q, got %q", k, w, g))
		}
	}
	return withExtra(lines, want, got)
}

// withExtra adds to lines a line for each path got has and want has not,
// and returns them sorted, one a line.
func withExtra[V any](lines []string, want, got map[string]V) string {
	for k, g := range got {
		if _, ok := want[k]; !ok {
			lines = append(lines, fmt.Sprintf("extra /%s (%v)", k, g))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// mustUnpack unpacks and checks that Verify finds no drift.
func mustUnpack(t testing.TB, img v1.Image, target string, opts ...Option) *Result {
	t.Helper()
	res, err := Unpack(context.Background(), img, target, opts...)
	if err != nil {
		t.Fatalf("unpack: %v", err)
	}
	drifts, err := Verify(context.Background(), img, target, opts...)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	for _, d := range drifts {
		t.Errorf("drift after unpack: %s", d)
	}
	return res
}

func rootfs(target string) string { return filepath.Join(target, "current", "rootfs") }
