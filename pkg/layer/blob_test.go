package layer

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/compression"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/jailimg/jailimg/internal/testutil"
	"github.com/jailimg/jailimg/pkg/tree"
)

// noise builds a tree of one file of size incompressible bytes, generated
// as they are read: the test itself holds none of them.
func noise(size int64, seed uint64) *tree.Tree {
	tr := tree.New()
	tr.Add(tree.Entry{Path: "/noise", Type: tree.Reg, Mode: 0o644, Size: size, Source: "noise",
		Open: func() (io.ReadCloser, error) {
			var key [32]byte
			key[0] = byte(seed)
			return io.NopCloser(io.LimitReader(rand.NewChaCha8(key), size)), nil
		}})
	return tr
}

// build is FromTree as a *Layer, closed when the test ends.
func build(t testing.TB, tr *tree.Tree, opts ...Option) *Layer {
	t.Helper()
	l, err := FromTree(context.Background(), tr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.(*Layer).Close() })
	return l.(*Layer)
}

// readConcurrently opens n compressed and n uncompressed readers at once,
// reads them all side by side and checks every one against the digests.
func readConcurrently(t *testing.T, l *Layer, n int) {
	t.Helper()
	type reader struct {
		open func() (io.ReadCloser, error)
		want v1.Hash
	}
	var readers []reader
	for range n {
		readers = append(readers, reader{l.Compressed, l.digest}, reader{l.Uncompressed, l.diffID})
	}
	rcs := make([]io.ReadCloser, len(readers))
	for i, r := range readers {
		rc, err := r.open()
		if err != nil {
			t.Fatal(err)
		}
		rcs[i] = rc
	}
	var wg sync.WaitGroup
	errs := make([]error, len(readers))
	for i, rc := range rcs {
		wg.Go(func() {
			defer rc.Close()
			h := sha256.New()
			if _, err := io.Copy(h, rc); err != nil {
				errs[i] = err
				return
			}
			if got := sum(h); got != readers[i].want {
				errs[i] = fmt.Errorf("reader %d read bytes of %s, want %s", i, got, readers[i].want)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Error(err)
	}
}

func TestConcurrentReaders(t *testing.T) {
	for _, c := range []compression.Compression{compression.GZip, compression.ZStd} {
		t.Run(string(c), func(t *testing.T) {
			readConcurrently(t, build(t, noise(3<<20, 1), WithCompression(c)), 4)
		})
	}
}

func TestTempDirStaysEmpty(t *testing.T) {
	dir := t.TempDir()
	l := build(t, sample(t), WithTempDir(dir))
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("temporary directory holds %v after FromTree", entries)
	}
	checkDigests(t, l)
}

func TestClose(t *testing.T) {
	l := build(t, noise(1<<20, 2))
	before, err := l.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer before.Close()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	for name, open := range map[string]func() (io.ReadCloser, error){"Compressed": l.Compressed, "Uncompressed": l.Uncompressed} {
		if _, err := open(); !errors.Is(err, fs.ErrClosed) {
			t.Errorf("%s after Close: %v, want fs.ErrClosed", name, err)
		}
	}
	if _, isFile := before.(*os.File); !isFile {
		return // readers share the layer's file: Close ends them
	}
	digest, _, err := v1.SHA256(before)
	if err != nil || digest != l.digest {
		t.Errorf("reader opened before Close: %s, %v; want %s", digest, err, l.digest)
	}
}

func TestTempDirErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, dir string
		want      error
	}{
		{"missing", filepath.Join(dir, "missing"), syscall.ENOENT},
		{"not a directory", file, syscall.ENOTDIR},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkBlobError(t, tc.dir, tc.want)
		})
	}
}

// checkBlobError builds a layer of 1 MiB in dir and wants the one-line
// error naming dir, wrapping want.
func checkBlobError(t *testing.T, dir string, want error) {
	t.Helper()
	l, err := FromTree(context.Background(), noise(1<<20, 3), WithTempDir(dir))
	if err == nil {
		l.(*Layer).Close()
		t.Fatalf("FromTree in %s: no error, want %v", dir, want)
	}
	if wantMsg := fmt.Sprintf("writing layer blob in %s: %v", dir, want); err.Error() != wantMsg || !errors.Is(err, want) {
		t.Errorf("FromTree in %s:\n got %v\nwant %s (wrapping %#v)", dir, err, wantMsg, want)
	}
}

// TestBlobNotInMemory builds a 64 MiB layer of incompressible bytes and
// checks that the heap does not hold it, nor ever did: neither the live
// heap after the build nor everything allocated during it comes near the
// blob's size.
func TestBlobNotInMemory(t *testing.T) {
	testutil.Short(t, "compresses 64 MiB")
	const size = 64 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	l, err := FromTree(context.Background(), noise(size, 4))
	if err != nil {
		t.Fatal(err)
	}
	defer l.(*Layer).Close()
	runtime.GC()
	runtime.ReadMemStats(&after)
	blob, _ := l.Size()
	if blob < size {
		t.Fatalf("blob of %d bytes, want incompressible data (>= %d)", blob, size)
	}
	live := int64(after.HeapInuse) - int64(before.HeapInuse)
	allocated := int64(after.TotalAlloc - before.TotalAlloc)
	t.Logf("blob %d bytes; live heap grew %d bytes; %d bytes allocated during the build", blob, live, allocated)
	if live > blob/4 {
		t.Errorf("live heap grew by %d bytes for a blob of %d: the blob is in memory", live, blob)
	}
	if allocated > blob/2 && !raceEnabled {
		t.Errorf("%d bytes allocated for a blob of %d: the blob went through the heap", allocated, blob)
	}
	runtime.KeepAlive(l)
}

// BenchmarkFromTree builds a layer of 16 MiB of incompressible bytes, the
// case where writing the blob to disk weighs most.
func BenchmarkFromTree(b *testing.B) {
	const size = 16 << 20
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		l, err := FromTree(context.Background(), noise(size, 5))
		if err != nil {
			b.Fatal(err)
		}
		l.(*Layer).Close()
	}
}
