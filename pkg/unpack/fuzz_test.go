package unpack

import (
	"archive/tar"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/jailimg/jailimg/internal/testutil"
)

// fuzzBase is the lower layer every fuzzed layer is applied on: something
// to whiteout, hardlink to and escape through ("up" points at the directory
// holding TARGET and the sentinel).
var fuzzBase = []ent{dir("d"), file("d/g", "y"), file("f", "x"), hardlink("h", "f"), symlink("up", "../../.."),
	symlink("abs", "/"), chardev("null", 1, 3)}

// FuzzUnpack applies an arbitrary tar stream as an upper layer (with
// honest digests, so the tar and whiteout path is what is exercised) and
// checks that nothing beside TARGET changes, that a failure leaves the
// previous tree live, and that a success is exactly what Verify's model of
// the same layers predicts.
func FuzzUnpack(f *testing.F) {
	testutil.NeedRoot(f, "device nodes in the base layer")
	for _, seed := range [][]ent{
		{file("../sentinel", "x")},
		{file("up/sentinel", "x")},
		{symlink("s", "../../.."), file("s/sentinel", "x")},
		{hardlink("l", "up/sentinel")},
		{hardlink("l", "d/g"), file("d/g", "new")},
		{whiteout("up/sentinel")},
		{whiteout("d"), file("d/new", "n")},
		{dir("d"), opaque("d"), file("d/n", "n")},
		{opaque("up")},
		{opaque("abs")},
		{file("abs/etc/passwd", "x")},
		{file("null", "not a device")},
		{dir("f"), file("f/x", "")},
		{file("d", "file over dir")},
		{{Name: "x", Type: tar.TypeFifo}},
		{{Name: "x", Body: "x", Mode: 0o4755}},
		{file(".wh..wh..opq", ""), file("new", "")},
	} {
		f.Add(tarOf(f, seed...))
	}
	base := gzLayer(f, fuzzBase...)
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := context.Background()
		watchdog := time.AfterFunc(20*time.Second, func() { panic("fuzz iteration stuck") })
		defer watchdog.Stop()
		parent := shmTempDir(t)
		target := filepath.Join(parent, "jail")
		if err := os.WriteFile(filepath.Join(parent, "sentinel"), []byte("untouched"), 0o644); err != nil {
			t.Fatal(err)
		}
		lower := imageOf(t, false, base)
		before := mustUnpack(t, lower, target)
		state := outsideState0(t, parent)
		img := imageOf(t, false, base, honest(data, data, types.OCIUncompressedLayer))
		_, err := Unpack(ctx, img, target, WithLimits(Limits{MaxBytes: 16 << 20, MaxEntries: 10000}))
		if d := diffSnap(state, outsideState0(t, parent)); d != "" {
			t.Fatalf("outside TARGET changed (unpack error %v):\n%s", err, d)
		}
		check := lower
		if err == nil {
			check = img
		} else if b, _ := os.Readlink(filepath.Join(target, "current")); filepath.Join(target, b) != before.Gen {
			t.Fatalf("failed unpack (%v) switched current to %s", err, b)
		}
		drifts, verr := Verify(ctx, check, target, WithLimits(Limits{MaxBytes: 16 << 20, MaxEntries: 10000}))
		if verr != nil || len(drifts) != 0 {
			t.Fatalf("unpack error %v; verify: %v %v", err, verr, drifts)
		}
	})
}

// outsideState0 is outsideState for a parent holding only a sentinel.
func outsideState0(t *testing.T, parent string) map[string]string {
	s := snapshot(t, parent)
	for k := range s {
		if k == "jail" || len(k) > 5 && k[:5] == "jail/" {
			delete(s, k)
		}
	}
	fi, err := os.Lstat(filepath.Join(parent, "sentinel"))
	if err != nil {
		t.Fatal(err)
	}
	s["sentinel"] += " mtime=" + fi.ModTime().String()
	return s
}

// shmTempDir is a temporary directory on tmpfs when there is one: every
// unpack ends with a syncfs, which on a busy shared disk costs far more
// than the fuzzed work itself.
func shmTempDir(t *testing.T) string {
	d, err := os.MkdirTemp("/dev/shm", "unpack-fuzz-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}
