package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/compression"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/jailimg/jailimg/pkg/tree"
)

// content returns an Open func yielding s.
func content(s string) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(s)), nil }
}

// sample builds a small tree of every entry type, with a hardlinked pair.
func sample(t testing.TB) *tree.Tree {
	tr := tree.New()
	for _, e := range []tree.Entry{
		{Path: "/usr/bin/tool", Type: tree.Reg, Mode: 0o755, Size: 5, Open: content("tool\n"), ID: tree.FileID{Dev: 1, Ino: 7}},
		{Path: "/usr/bin/alias", Type: tree.Reg, Mode: 0o755, Size: 5, Open: content("tool\n"), ID: tree.FileID{Dev: 1, Ino: 7}},
		{Path: "/usr/bin/other", Type: tree.Reg, Mode: 0o700, Size: 5, Open: content("tool\n"), ID: tree.FileID{Dev: 1, Ino: 7}},
		{Path: "/etc/passwd", Type: tree.Reg, Mode: 0o444, Size: 3, Open: content("x:\n")},
		{Path: "/var/log/svc", Type: tree.Dir, Mode: 0o750, UID: 101, GID: 102},
		{Path: "/tmp", Type: tree.Dir, Mode: 0o777 | fs.ModeSticky},
		{Path: "/lib", Type: tree.Symlink, Target: "usr/lib"},
		{Path: "/dev/null", Type: tree.CharDev, Mode: 0o666, Major: 1, Minor: 3},
	} {
		e.Source = "test"
		if err := tr.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	return tr
}

func readTar(t *testing.T, r io.Reader) []*tar.Header {
	var hdrs []*tar.Header
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return hdrs
		}
		if err != nil {
			t.Fatal(err)
		}
		hdrs = append(hdrs, h)
	}
}

func TestHeadersAreNormalised(t *testing.T) {
	mtime := time.Unix(1700000000, 0)
	l, err := FromTree(context.Background(), sample(t), WithModTime(mtime))
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Layer(l); err != nil {
		t.Fatalf("validate.Layer: %v", err)
	}
	rc, _ := l.Uncompressed()
	defer rc.Close()
	var names []string
	for _, h := range readTar(t, rc) {
		names = append(names, h.Name)
		// No PAX record means no xattr either: archive/tar reads xattrs
		// only from SCHILY.xattr.* PAX records (the deprecated Xattrs).
		if h.Uname != "" || h.Gname != "" || !h.ModTime.Equal(mtime) || !h.AccessTime.IsZero() || !h.ChangeTime.IsZero() || len(h.PAXRecords) != 0 {
			t.Errorf("%s: header not normalised: %+v", h.Name, h)
		}
		switch h.Name {
		case "var/log/svc/":
			if h.Uid != 101 || h.Gid != 102 || h.Mode != 0o750 {
				t.Errorf("%s: owner/mode %d:%d %o", h.Name, h.Uid, h.Gid, h.Mode)
			}
		case "tmp/":
			if h.Mode != 0o1777 {
				t.Errorf("tmp mode %o, want 1777", h.Mode)
			}
		case "usr/bin/tool":
			if h.Typeflag != tar.TypeLink || h.Linkname != "usr/bin/alias" {
				t.Errorf("second path of an inode is not a hardlink to the first in walk order: %+v", h)
			}
		case "usr/bin/other":
			if h.Typeflag != tar.TypeReg {
				t.Errorf("same inode with another mode must be a copy, got type %c", h.Typeflag)
			}
		case "dev/null":
			if h.Typeflag != tar.TypeChar || h.Devmajor != 1 || h.Devminor != 3 {
				t.Errorf("dev/null: %+v", h)
			}
		}
	}
	want := "dev/ dev/null etc/ etc/passwd lib tmp/ usr/ usr/bin/ usr/bin/alias usr/bin/other usr/bin/tool var/ var/log/ var/log/svc/"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("entries:\n got %s\nwant %s", got, want)
	}
}

func TestReproducible(t *testing.T) {
	for _, c := range []compression.Compression{compression.GZip, compression.ZStd} {
		t.Run(string(c), func(t *testing.T) {
			a, err := FromTree(context.Background(), sample(t), WithCompression(c))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := FromTree(context.Background(), sample(t), WithCompression(c))
			da, _ := a.Digest()
			db, _ := b.Digest()
			if da != db {
				t.Errorf("two builds of one tree: %s != %s", da, db)
			}
			checkDigests(t, a)
		})
	}
}

// checkDigests recomputes a layer's digest, size and diff ID from its bytes
// (validate.Layer only knows gzip).
func checkDigests(t *testing.T, l v1.Layer) {
	t.Helper()
	rc, _ := l.Compressed()
	digest, size, err := v1.SHA256(rc)
	if err != nil {
		t.Fatal(err)
	}
	rc, _ = l.Uncompressed()
	diffID, _, err := v1.SHA256(rc)
	if err != nil {
		t.Fatal(err)
	}
	wantDigest, _ := l.Digest()
	wantDiffID, _ := l.DiffID()
	wantSize, _ := l.Size()
	if digest != wantDigest || diffID != wantDiffID || size != wantSize {
		t.Errorf("layer claims %s/%s/%d, bytes say %s/%s/%d", wantDigest, wantDiffID, wantSize, digest, diffID, size)
	}
}

func TestFileChangedDuringBuild(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	os.WriteFile(p, []byte("longer than said"), 0o644)
	for _, size := range []int64{3, 100} {
		tr := tree.New()
		tr.Add(tree.Entry{Path: "/f", Type: tree.Reg, Mode: 0o644, Size: size, Source: p,
			Open: func() (io.ReadCloser, error) { return os.Open(p) }})
		_, err := FromTree(context.Background(), tr)
		if !errors.Is(err, ErrChanged) || !strings.Contains(err.Error(), p) {
			t.Errorf("size %d: err = %v, want ErrChanged naming %s", size, err, p)
		}
	}
}

// TestCancel: a build whose context is cancelled fails with it, and
// leaves none of the compressor's goroutines behind, for either
// compression.
func TestCancel(t *testing.T) {
	before := runtime.NumGoroutine()
	for _, c := range []compression.Compression{compression.GZip, compression.ZStd} {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := FromTree(ctx, sample(t), WithCompression(c)); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: FromTree with a cancelled context: %v", c, err)
		}
	}
	for i := 0; runtime.NumGoroutine() > before; i++ {
		if i == 500 {
			t.Fatalf("%d goroutines left after cancelled builds, %d before", runtime.NumGoroutine(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestUnknownCompression(t *testing.T) {
	if _, err := FromTree(context.Background(), sample(t), WithCompression("xz")); err == nil {
		t.Error("no error for xz")
	}
}

func TestWriteTarDeterministicBytes(t *testing.T) {
	var a, b bytes.Buffer
	if err := WriteTar(&a, sample(t), time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	WriteTar(&b, sample(t), time.Unix(0, 0))
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("WriteTar is not deterministic")
	}
}

// TestIndependentOfCores builds a layer of many compression blocks with one
// and with four goroutines: the bytes must not depend on the machine.
func TestIndependentOfCores(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 6<<20) // 24 gzip members, half random, half text
	for i := range data {
		if i%2 == 0 {
			data[i] = byte(rnd.IntN(256))
		} else {
			data[i] = "jail "[i%5]
		}
	}
	mk := func() *tree.Tree {
		tr := tree.New()
		tr.Add(tree.Entry{Path: "/big", Type: tree.Reg, Mode: 0o644, Size: int64(len(data)),
			Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }})
		return tr
	}
	for _, c := range []compression.Compression{compression.GZip, compression.ZStd} {
		var digests []v1.Hash
		for _, procs := range []int{1, 4} {
			old := runtime.GOMAXPROCS(procs)
			l, err := FromTree(context.Background(), mk(), WithCompression(c))
			runtime.GOMAXPROCS(old)
			if err != nil {
				t.Fatal(err)
			}
			checkDigests(t, l)
			d, _ := l.Digest()
			digests = append(digests, d)
		}
		if digests[0] != digests[1] {
			t.Errorf("%s: GOMAXPROCS 1 and 4 give %s and %s", c, digests[0], digests[1])
		}
	}
}
