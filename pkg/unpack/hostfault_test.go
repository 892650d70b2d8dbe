package unpack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"golang.org/x/sys/unix"

	"github.com/jailimg/jailimg/internal/testutil"
	"github.com/jailimg/jailimg/pkg/bundle"
)

// smallFS mounts a tmpfs of size bytes and returns its mount point.
func smallFS(t *testing.T, size int64) string {
	t.Helper()
	testutil.NeedRoot(t, "mounting a small tmpfs")
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0755", size)); err != nil {
		t.Fatalf("mounting a tmpfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

// noise returns n bytes that gzip cannot shrink.
func noise(n int) string {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return string(b)
}

// TestDiskFullIsNotBadImage unpacks onto a 40 MiB file system images that
// do not fit: the error is a *SpaceError naming the mount point and the
// numbers, matching ENOSPC, and never one that blames the image (which the
// CLI maps to exit 3). The live tree stays live and no staging directory is
// left. Before, a write that failed with ENOSPC was a "corrupt layer".
func TestDiskFullIsNotBadImage(t *testing.T) {
	const mib = 1 << 20
	zeros := strings.Repeat("\x00", 30*mib)
	for _, tc := range []struct {
		name  string
		ents  []ent
		early bool // refused before anything is written
	}{
		{"compressed size above the free space", []ent{file("a", noise(24*mib)), file("b", noise(24*mib))}, true},
		{"writes fill the disk", []ent{file("a", zeros), file("b", zeros)}, false},
		// Files below maxJob: the write that fails is a writer goroutine's.
		{"writers fill the disk", smallFiles(120, 512<<10), false},
		// 30 MiB written, 10 MiB left, 16 MiB of incompressible bytes to come.
		{"free space runs out while writing", []ent{file("a", zeros), file("b", noise(16*mib))}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mnt := smallFS(t, 40*mib)
			target := filepath.Join(mnt, "jail")
			live := mustUnpack(t, imageOf(t, true, gzLayer(t, file("live", "old"))), target)
			// Zeros compress a thousandfold: no ratio limit here.
			_, err := Unpack(context.Background(), imageOf(t, true, gzLayer(t, tc.ents...)), target, WithLimits(Limits{MaxRatio: 1 << 20}))
			var se *SpaceError
			if !errors.As(err, &se) || !errors.Is(err, syscall.ENOSPC) || IsBadImage(err) {
				t.Fatalf("unpack onto a full file system: %v (%T); want a *SpaceError matching ENOSPC and not a bad image", err, err)
			}
			msg := err.Error()
			if se.Mount != mnt || !strings.Contains(msg, mnt) || !strings.Contains(msg, "no space left on device") ||
				se.Need <= se.Free || strings.Contains(msg, "corrupt") {
				t.Errorf("error %q (mount %q, need %d, free %d): want the mount point %s, need > free, the errno's words", msg, se.Mount, se.Need, se.Free, mnt)
			}
			if tc.early && !strings.Contains(msg, "at least 48.0 MiB") {
				t.Errorf("error %q: want the image's compressed size, 48 MiB", msg)
			}
			b, err := bundle.Open(target)
			if err != nil || b.Gen != live.Gen {
				t.Errorf("live tree after the failure: %v, gen %v; want %s", err, b, live.Gen)
			}
			entries, _ := os.ReadDir(target)
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), bundle.StagingPrefix) {
					t.Errorf("staging directory %s left behind", e.Name())
				}
			}
		})
	}
}

// smallFiles returns n files of size zeros each.
func smallFiles(n, size int) []ent {
	zeros := strings.Repeat("\x00", size)
	ents := make([]ent, n)
	for i := range ents {
		ents[i] = file(fmt.Sprintf("f%03d", i), zeros)
	}
	return ents
}

// failingBlob is a layer blob whose reads fail with err after the first
// n bytes, as a layout file on a failing disk or a dropped registry
// connection would.
type failingBlob struct {
	*rawLayer
	n   int
	err error
}

func (l *failingBlob) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(io.MultiReader(strings.NewReader(string(l.blob[:l.n])), errReader{l.err})), nil
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// TestSourceErrorIsNotBadImage: a layer whose blob cannot be read to its
// end, for a reason of where it is kept (EIO here), fails with that error,
// not as a corrupt layer; a layer whose bytes are wrong is one.
func TestSourceErrorIsNotBadImage(t *testing.T) {
	good := gzLayer(t, file("a", noise(256<<10)), file("b", "x"))
	truncated := *good
	truncated.blob = good.blob[:len(good.blob)/2]
	garbled := *good
	garbled.blob = append([]byte{}, good.blob...)
	for i := 100; i < 200; i++ {
		garbled.blob[i] ^= 0xff
	}
	eio := &os.PathError{Op: "read", Path: "blobs/sha256/...", Err: syscall.EIO}
	for _, tc := range []struct {
		name  string
		layer v1.Layer
		want  error
		bad   bool
	}{
		{"read error of the blob", &failingBlob{good, len(good.blob) / 2, eio}, syscall.EIO, false},
		// The gzip header is read as the decompressor is opened.
		{"read error in the gzip header", &failingBlob{good, 4, eio}, syscall.EIO, false},
		{"truncated blob", &truncated, ErrCorrupt, true},
		{"garbled blob", &garbled, ErrCorrupt, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Unpack(context.Background(), imageOf(t, false, tc.layer), filepath.Join(t.TempDir(), "jail"))
			if !errors.Is(err, tc.want) || IsBadImage(err) != tc.bad {
				t.Errorf("unpack: %v; want an error matching %v, blaming the image: %v", err, tc.want, tc.bad)
			}
		})
	}
}

// TestReadOnlyDirectoryNonRoot unpacks, as a user other than root, an
// image with directories its owner cannot write (0555, 0500) or even list
// (0100, at the bottom), then a second image over it: the directories get
// their modes once their children are written, and the old generation is
// removed. As root the unpack runs in a child process as nobody. Before,
// the mode was applied before the children were created: EACCES.
func TestReadOnlyDirectoryNonRoot(t *testing.T) {
	parent := t.TempDir()
	ents := []ent{
		{Name: "usr/", Type: '5', Mode: 0o555}, {Name: "usr/lib/", Type: '5', Mode: 0o555},
		file("usr/lib/libx.so", "x"), {Name: "usr/lib/sealed/", Type: '5', Mode: 0o500},
		file("usr/lib/sealed/y", "y"), {Name: "usr/lib/sealed/empty/", Type: '5', Mode: 0o100},
	}
	dirs := make([]string, 2)
	for i, extra := range []ent{file("usr/lib/one", "1"), file("usr/lib/two", "2")} {
		img := imageOf(t, true, gzLayer(t, append(ents[:len(ents):len(ents)], extra)...))
		dirs[i] = filepath.Join(parent, fmt.Sprint("layout", i))
		p, err := layout.Write(dirs[i], empty.Index)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.AppendImage(img); err != nil {
			t.Fatal(err)
		}
	}
	target := filepath.Join(parent, "jail")
	for _, d := range dirs {
		if err := unpackAsNobody(parent, d, target); err != nil {
			t.Fatalf("unpack of an image with a read-only directory, not as root: %v", err)
		}
		got := snapshot(t, rootfs(target))
		for name, want := range map[string]string{"usr": "d 0555", "usr/lib": "d 0555", "usr/lib/sealed": "d 0500", "usr/lib/sealed/empty": "d 0100"} {
			if !strings.HasPrefix(got[name], want) {
				t.Errorf("%s: %q, want %s", name, got[name], want)
			}
		}
	}
	gens, _ := filepath.Glob(filepath.Join(target, bundle.GenPrefix+"*"))
	if len(gens) != 1 {
		t.Errorf("generations after two unpacks: %v, want the live one only", gens)
	}
}

// unpackAsNobody unpacks the layout's image onto target as the current
// user, or, as root, in a child process as nobody (65534), who then owns
// everything under parent.
func unpackAsNobody(parent, layoutDir, target string) error {
	if os.Geteuid() != 0 {
		return childUnpack(layoutDir, target)
	}
	if err := filepath.Walk(parent, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, 65534, 65534)
	}); err != nil {
		return err
	}
	if err := os.Chmod(filepath.Dir(parent), 0o755); err != nil { // the test's temp dir, for nobody to enter
		return err
	}
	self := filepath.Join(parent, "unpack.test") // the build's directory may be closed to nobody
	if err := exec.Command("cp", os.Args[0], self).Run(); err != nil {
		return err
	}
	if err := os.Chmod(self, 0o755); err != nil {
		return err
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+layoutDir+"\n"+target)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
}
