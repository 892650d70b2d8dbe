package unpack

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sys/unix"

	"github.com/jailimg/jailimg/internal/testutil"
)

// Lower layers the seeds build on: symlinks pointing out of the root (to
// the directory holding it, its sentinel and outside/victim), a usrmerge
// layout, and a directory with an owner and a symlink in it.
var (
	escapes  = []ent{symlink("up", "../../.."), symlink("abs", "/"), symlink("out", "../outside")}
	usrmerge = []ent{file("usr/lib/libc.so", "x"), symlink("lib", "usr/lib"), symlink("bin", "/usr/bin")}
	dtree    = []ent{{Name: "d/", Type: tar.TypeDir, Mode: 0o700, Uid: 5, Gid: 6}, file("d/g", "yy"), symlink("d/s", "../usr")}
)

// fuzzLimits keep every execution small.
var fuzzLimits = Limits{MaxBytes: 1 << 20, MaxEntries: 300, MaxRatio: 200}

// fuzzSeeds are programs (see fuzzprog_test.go), written as layers.
func fuzzSeeds() [][][]ent {
	l := func(es ...ent) []ent { return es }
	cat := func(ls ...[]ent) []ent { return slices.Concat(ls...) }
	return [][][]ent{
		{l(file("../sentinel", "x"))},
		{escapes, l(file("up/sentinel", "x"))},
		{escapes, l(file("out/victim", "x"))},
		{l(symlink("s", "../../.."), file("s/sentinel", "x"))},
		{escapes, l(hardlink("h", "up/sentinel"))},
		{escapes, l(whiteout("up/sentinel"))},
		{escapes, l(whiteout("out/victim"))},
		{escapes, l(opaque("up"), opaque("abs"), opaque("out"))},
		{escapes, l(file("abs/d/x", "x"))},
		{dtree, l(hardlink("x", "d/g"), file("d/g", "x"))},
		{l(file("f", "x")), l(hardlink("h", "f"), file("f", "yy"), hardlink("d/h", "h"))},
		{dtree, l(whiteout("d"), file("d/x", "x"))},
		{dtree, l(file("d/x", "x"), whiteout("d"))},
		{dtree, l(dir("d"), opaque("d"), file("d/x", "x"))},
		{dtree, l(dir("d"), file("d/x", "x"), opaque("d"))},
		{cat(dtree, usrmerge), l(file("d/s/bin/x", "x"), opaque("usr"))},
		{usrmerge, l(file("lib/a", "x"), symlink("bin/b", "../lib/a"), hardlink("bin/x", "lib/a"))},
		{usrmerge, l(file("lib/x", "x"), opaque("usr/lib"))},
		{usrmerge, l(file("lib/x", "x"), whiteout("lib"))},
		{usrmerge, l(file("lib/s/s", "x"), file("lib", ""), whiteout("lib"))},
		{usrmerge, l(dir("lib"), whiteout("lib/libc.so"))},
		{usrmerge, l(symlink("lib64", "usr/lib64")), l(file("lib64/x", "x"))},
		{usrmerge, l(dir("usr/lib/d"), file("usr/lib/d/a", "x")), l(file("lib/d/b", "yy"), opaque("lib/d"))},
		{cat(dtree, usrmerge), l(symlink("d/s", "/usr/lib")), l(whiteout("d/s/libc.so"))},
		{l(symlink("x", "a/b"), file("x/f", "x"))},
		{l(symlink("a", "b"), symlink("b", "a"), file("a/x", "x"))},
		{l(chardev("null", 1, 3)), l(file("null", "x"))},
		{l(file("f", "x")), l(dir("f"), file("f/x", ""))},
		{dtree, l(file("d", "zzz"))},
		{l(ent{Name: "x", Type: tar.TypeFifo})},
		{l(ent{Name: "x", Body: "x", Mode: 0o4755})},
		{l(dir("."), file(".wh..wh..opq", ""), file("x", ""))},
	}
}

// FuzzUnpack applies the layers of a program (see fuzzprog_test.go) with
// the tar walker and the disk applier, as Unpack does, into a scratch root
// on tmpfs: no image, digests, generation or syncfs, which are all Unpack
// adds (TestFuzzSeedsUnpack runs the seeds through Unpack itself). It
// checks that nothing beside the root changes, that a failure is an error
// that blames the image, and that a success gives exactly the tree of the
// oracle, the test's own model of OCI layers, not the applier's.
func FuzzUnpack(f *testing.F) {
	testutil.NeedRoot(f, "device nodes and owners")
	for _, s := range fuzzSeeds() {
		f.Add(encodeProg(s...))
	}
	parent := scratch(f)
	want := outsideTree(f, parent)
	n := 0
	f.Fuzz(func(t *testing.T, prog []byte) {
		tars := tarsOfProg(prog)
		n++
		root := filepath.Join(parent, fmt.Sprintf("root%d", n))
		if err := os.Mkdir(root, 0o755); err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(root)
		err := applyScratch(root, tars...)
		if d := treeDiff(want, outsideTree(t, parent), false); d != "" {
			t.Fatalf("outside the root changed (error %v):\n%s", err, d)
		}
		if err != nil {
			t.Logf("refused: %v", err)
			if !IsBadImage(err) {
				t.Fatalf("error that does not blame the image: %v", err)
			}
			return
		}
		o := newOracle()
		if err := o.layers(tars...); err != nil {
			t.Fatalf("applied what the oracle cannot: %v", err)
		}
		want := o.tree()
		if d := treeDiff(want, diskTree(t, root), false); d != "" {
			t.Fatalf("tree differs from the oracle's:\n%s", d)
		}
		// Verify's model of the same layers must say the same.
		m := newModel()
		mw := &worldWritable{applier: m} // as Verify does
		for i, tb := range tars {
			if err := applyTar(context.Background(), i, bytes.NewReader(tb), &budget{lim: fuzzLimits}, makeOptions(nil).devices, mw); err != nil {
				t.Fatalf("unpacked, but Verify's model refuses: %v", err)
			}
		}
		if d := treeDiff(want, modelTree(m), false); d != "" {
			t.Fatalf("Verify's model differs from the oracle's:\n%s", d)
		}
	})
}

// TestFuzzSeedsUnpack runs each fuzz seed through Unpack over a live tree:
// a refused image leaves that tree live and exact, an accepted one is the
// oracle's tree, and nothing beside TARGET changes.
func TestFuzzSeedsUnpack(t *testing.T) {
	testutil.NeedRoot(t, "device nodes and owners")
	ctx := context.Background()
	for i, s := range fuzzSeeds() {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			parent := scratch(t)
			target := filepath.Join(parent, "jail")
			tars := tarsOfProg(encodeProg(s...))
			var layers []v1.Layer
			for _, tb := range tars {
				layers = append(layers, honest(tb, tb, types.OCIUncompressedLayer))
			}
			lower := imageOf(t, true, gzLayer(t, file("ok", "ok")))
			before := mustUnpack(t, lower, target)
			state := outsideTree(t, parent)
			img := imageOf(t, false, layers...)
			_, err := Unpack(ctx, img, target, WithLimits(fuzzLimits))
			if d := treeDiff(state, outsideTree(t, parent), false); d != "" {
				t.Fatalf("outside TARGET changed (unpack error %v):\n%s", err, d)
			}
			if err != nil {
				if !IsBadImage(err) {
					t.Errorf("error that does not blame the image: %v", err)
				}
				if b, _ := os.Readlink(filepath.Join(target, "current")); filepath.Join(target, b) != before.Gen {
					t.Fatalf("failed unpack (%v) switched current to %s", err, b)
				}
				if drifts, verr := Verify(ctx, lower, target); verr != nil || len(drifts) != 0 {
					t.Fatalf("unpack error %v; previous tree: %v %v", err, verr, drifts)
				}
				return
			}
			o := newOracle()
			if err := o.layers(tars...); err != nil {
				t.Fatalf("unpacked what the oracle cannot: %v", err)
			}
			if d := treeDiff(o.tree(), diskTree(t, rootfs(target)), false); d != "" {
				t.Errorf("tree differs from the oracle's:\n%s", d)
			}
			if drifts, verr := Verify(ctx, img, target, WithLimits(fuzzLimits)); verr != nil || len(drifts) != 0 {
				t.Errorf("verify: %v %v", verr, drifts)
			}
		})
	}
}

// applyScratch applies tar streams to the directory root as extract does,
// with the default policy (o+w masked).
func applyScratch(root string, tars ...[]byte) error {
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	d := newDisk(fd)
	defer d.close()
	a := &worldWritable{applier: d} // as extract does
	b := &budget{lim: fuzzLimits}
	for i, tb := range tars {
		if err := applyTar(context.Background(), i, bytes.NewReader(tb), b, makeOptions(nil).devices, a); err != nil {
			return err
		}
	}
	return d.finish()
}

// scratch makes a directory on tmpfs when there is one (unpacks end with a
// syncfs), holding a sentinel and outside/victim.
func scratch(t testing.TB) string {
	d, err := os.MkdirTemp("/dev/shm", "unpack-fuzz-")
	if err != nil {
		d = t.TempDir()
	} else {
		t.Cleanup(func() { os.RemoveAll(d) })
	}
	if err := os.Mkdir(filepath.Join(d, "outside"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"sentinel", "outside/victim"} {
		if err := os.WriteFile(filepath.Join(d, p), []byte("untouched"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// outsideTree records everything in parent but the roots (root*) or
// TARGET (jail), mtimes to the nanosecond.
func outsideTree(t testing.TB, parent string) map[string]treeEntry {
	t.Helper()
	out, groups := map[string]treeEntry{}, map[[2]uint64][]string{}
	fd, err := unix.Open(parent, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	for _, n := range []string{"sentinel", "outside"} {
		if err := readTree(fd, n, n, out, groups); err != nil {
			t.Fatal(err)
		}
	}
	names, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if n := n.Name(); n != "jail" && !strings.HasPrefix(n, "root") {
			if _, ok := out[n]; !ok {
				out[n] = treeEntry{typ: '?', mtime: -1}
			}
		}
	}
	return out
}
