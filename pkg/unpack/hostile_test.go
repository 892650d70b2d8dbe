package unpack

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
)

// hostileCase builds its layers knowing the absolute path of a directory
// outside TARGET that an attack would like to reach.
type hostileCase struct {
	name    string
	layers  func(t *testing.T, outside string) []v1.Layer
	opts    []Option
	wantErr error
	wantMsg string
}

// ents is a shortcut for cases made of honest gzip layers.
func ents(layers ...[]ent) func(*testing.T, string) []v1.Layer {
	return func(t *testing.T, _ string) []v1.Layer {
		var out []v1.Layer
		for _, l := range layers {
			out = append(out, gzLayer(t, l...))
		}
		return out
	}
}

// withOutside is like ents for layers that name the outside directory.
func withOutside(f func(outside string) [][]ent) func(*testing.T, string) []v1.Layer {
	return func(t *testing.T, outside string) []v1.Layer { return ents(f(outside)...)(t, outside) }
}

func raw(f func(t *testing.T) *rawLayer) func(*testing.T, string) []v1.Layer {
	return func(t *testing.T, _ string) []v1.Layer { return []v1.Layer{gzLayer(t, file("ok", "ok")), f(t)} }
}

func hostileCases() []hostileCase {
	big := strings.Repeat("x", 5000)
	return []hostileCase{
		// Names.
		{"dotdot traversal", ents([]ent{file("../escape", "x")}), nil, ErrUnsafePath, `"../escape"`},
		{"dotdot inside name", ents([]ent{file("a/../../escape", "x")}), nil, ErrUnsafePath, `"a/../../escape"`},
		{"absolute name", ents([]ent{file("/etc/escape", "x")}), nil, ErrUnsafePath, "absolute"},
		{"huge PAX name", ents([]ent{file(strings.Repeat("a/", 35000)+"x", "x")}), nil, ErrUnsafePath, "longer than 4095"},
		{"long component", ents([]ent{file(strings.Repeat("n", 300), "x")}), nil, ErrUnsafePath, "longer than 255"},
		{"root as a file", ents([]ent{{Name: ".", Type: tar.TypeReg}}), nil, ErrUnsafePath, "root must be a directory"},
		// Symlinks: followed inside the root in parent directories (see
		// TestBreakouts), but not in circles.
		{"symlink loop", ents([]ent{symlink("a", "b"), symlink("b", "a"), file("a/x", "x")}), nil, ErrUnsafePath, "too many levels of symlinks"},
		{"dangling symlink then dotdot", ents([]ent{symlink("a", "missing/../.."), file("a/x", "x")}), nil, ErrUnsafePath, `missing directory "missing"`},
		{"write through a file", ents([]ent{file("f", "x"), file("f/x", "x")}), nil, ErrUnsafePath, "not a directory"},
		// Hardlinks.
		{"hardlink with dotdot", ents([]ent{hardlink("h", "../sentinel")}), nil, ErrUnsafePath, `"../sentinel"`},
		{"absolute hardlink outside", withOutside(func(o string) [][]ent {
			return [][]ent{{hardlink("h", o+"/victim")}}
		}), nil, ErrUnsafePath, "absolute"},
		{"hardlink through symlink", withOutside(func(o string) [][]ent {
			return [][]ent{{symlink("evil", o)}, {hardlink("h", "evil/victim")}}
		}), nil, ErrUnsafePath, `"evil/victim" does not exist`},
		{"hardlink to symlink pointing out", withOutside(func(o string) [][]ent {
			return [][]ent{{symlink("s", o+"/victim"), hardlink("h", "s")}}
		}), nil, ErrUnsafePath, "not an existing regular file"},
		{"hardlink to a directory", ents([]ent{dir("d"), hardlink("h", "d")}), nil, ErrUnsafePath, "not an existing regular file"},
		{"hardlink to nothing", ents([]ent{hardlink("h", "missing")}), nil, ErrUnsafePath, "not an existing regular file"},
		// Whiteouts.
		{"whiteout of dotdot", ents([]ent{dir("a"), file("a/.wh..", "")}), nil, ErrUnsafePath, "whiteout"},
		{"whiteout name with dotdot", ents([]ent{file("../.wh.sentinel", "")}), nil, ErrUnsafePath, `".."`},
		// Whiteouts whose effect would depend on the order of the layer's entries.
		{"whiteout through a symlink the layer replaced", ents(
			[]ent{dir("usr/lib"), file("usr/lib/x", "x"), symlink("lib", "usr/lib")},
			[]ent{dir("lib"), whiteout("lib/x")}), nil, ErrCorrupt, `order of its layer's entries: "lib" is "/usr/lib" in the lower layers and "/lib"`},
		{"whiteout of a symlink the layer went through", ents(
			[]ent{dir("usr/lib"), symlink("lib", "usr/lib")},
			[]ent{file("lib/y", "y"), whiteout("lib")}), nil, ErrCorrupt, `hides "lib", which an earlier entry of the same layer went through`},
		{"opaque hides a file the layer hardlinked to", ents(
			[]ent{dir("d"), file("d/f", "f")},
			[]ent{hardlink("h", "d/f"), opaque("d")}), nil, ErrCorrupt, `hides "d/f"`},
		{"special whiteout", ents([]ent{file(".wh..wh.plnk", "")}), nil, ErrCorrupt, "special whiteout"},
		// Policy.
		{"block device", ents([]ent{{Name: "sda", Type: tar.TypeBlock, Major: 8, Mode: 0o600}}), nil, ErrPolicy, "block device b:8:0"},
		{"kernel memory char device", ents([]ent{chardev("mem", 1, 1)}), nil, ErrPolicy, "c:1:1"},
		{"unusual char device", ents([]ent{chardev("tun", 10, 200)}), nil, ErrPolicy, "c:10:200"},
		{"setuid", ents([]ent{{Name: "su", Body: "x", Mode: 0o4755}}), nil, ErrPolicy, "setuid"},
		{"setgid directory", ents([]ent{{Name: "g/", Type: tar.TypeDir, Mode: 0o2755}}), nil, ErrPolicy, "setgid"},
		{"file capabilities", ents([]ent{{Name: "ping", Body: "x", PAX: map[string]string{"SCHILY.xattr.security.capability": "\x01\x00\x00\x02"}}}), nil, ErrPolicy, "capabilities"},
		{"fifo", ents([]ent{{Name: "fifo", Type: tar.TypeFifo}}), nil, ErrPolicy, "FIFO"},
		// Malformed streams.
		{"duplicate entries of different types", ents([]ent{dir("x"), file("x", "")}), nil, ErrCorrupt, "duplicate"},
		{"truncated tar", raw(func(t *testing.T) *rawLayer {
			tb := tarOf(t, file("big", big))[:1500]
			return honest(tb, gz(t, tb), types.OCILayer)
		}), nil, ErrCorrupt, "unexpected EOF"},
		{"trailing garbage after tar", raw(func(t *testing.T) *rawLayer {
			tb := append(tarOf(t, file("f", "x")), "garbage"...)
			return honest(tb, gz(t, tb), types.OCILayer)
		}), nil, ErrCorrupt, "trailing data"},
		{"garbage instead of end of archive", raw(func(t *testing.T) *rawLayer {
			tb := tarOf(t, file("f", "x"))
			tb = append(tb[:len(tb)-1024], bytes.Repeat([]byte("garbage!"), 128)...)
			return honest(tb, gz(t, tb), types.OCILayer)
		}), nil, ErrCorrupt, "tar"},
		{"truncated gzip", raw(func(t *testing.T) *rawLayer {
			tb := tarOf(t, file("big", big))
			blob := gz(t, tb)
			return honest(tb, blob[:len(blob)/2], types.OCILayer)
		}), nil, ErrCorrupt, "EOF"},
		{"truncated gzip, another tool's", raw(func(t *testing.T) *rawLayer {
			tb := tarOf(t, file("big", big))
			blob := gzForeign(t, tb)
			return honest(tb, blob[:len(blob)/2], types.OCILayer)
		}), nil, ErrCorrupt, "EOF"},
		{"truncated at a gzip member's end", raw(func(t *testing.T) *rawLayer {
			tb := tarOf(t, file("big", strings.Repeat(big, 100)))
			blob := gz(t, tb)
			return honest(tb, blob[:binary.LittleEndian.Uint32(blob[16:20])], types.OCILayer)
		}), nil, ErrCorrupt, "EOF"},
		{"gzip member shorter than its length says", raw(func(t *testing.T) *rawLayer {
			tb := tarOf(t, file("f", big))
			blob := gz(t, tb)
			binary.LittleEndian.PutUint32(blob[16:20], binary.LittleEndian.Uint32(blob[16:20])+1)
			return honest(tb, blob, types.OCILayer)
		}), nil, ErrCorrupt, "gzip member at byte 0"},
		{"gzip member longer than its length says", raw(func(t *testing.T) *rawLayer {
			tb := tarOf(t, file("f", big))
			blob := gz(t, tb)
			binary.LittleEndian.PutUint32(blob[16:20], binary.LittleEndian.Uint32(blob[16:20])-1)
			return honest(tb, blob, types.OCILayer)
		}), nil, ErrCorrupt, "runs past its length"},
		{"gzip member of more than 256 KiB", raw(func(t *testing.T) *rawLayer {
			tb := tarOf(t, file("big", strings.Repeat(big, 100)))
			var buf bytes.Buffer
			w := gzip.NewWriter(&buf)
			w.Header = gzip.Header{OS: 255, Extra: []byte{'J', 'M', 4, 0, 0, 0, 0, 0}}
			w.Write(tb)
			w.Close()
			blob := buf.Bytes()
			binary.LittleEndian.PutUint32(blob[16:20], uint32(len(blob)))
			return honest(tb, blob, types.OCILayer)
		}), nil, ErrCorrupt, "more than 262144 bytes"},
		{"gzip claimed, zstd given", raw(func(t *testing.T) *rawLayer {
			tb := tarOf(t, file("f", "x"))
			return honest(tb, zst(t, tb), types.OCILayer)
		}), nil, ErrCorrupt, "gzip"},
		{"unknown media type", raw(func(t *testing.T) *rawLayer {
			l := gzLayer(t, file("f", "x"))
			l.mt = "application/x-evil"
			return l
		}), nil, ErrCorrupt, "media type"},
		// Digests.
		{"blob digest mismatch", raw(func(t *testing.T) *rawLayer {
			l := gzLayer(t, file("planted", "x"))
			l.digest = sha([]byte("something else"))
			return l
		}), nil, ErrDigest, "manifest says"},
		{"blob larger than its size", raw(func(t *testing.T) *rawLayer {
			l := gzLayer(t, file("planted", "x"))
			l.size -= 10
			return l
		}), nil, ErrDigest, "size"},
		{"diff_id mismatch", raw(func(t *testing.T) *rawLayer {
			l := gzLayer(t, file("planted", "x"))
			l.diffID = sha([]byte("something else"))
			return l
		}), nil, ErrDigest, "diff_id"},
		// Limits.
		{"too many bytes", ents([]ent{file("f", big)}), []Option{WithLimits(Limits{MaxBytes: 4096})}, ErrLimit, "more than 4096"},
		{"too many entries", ents([]ent{file("a", ""), file("b", ""), file("c", "")}), []Option{WithLimits(Limits{MaxEntries: 2})}, ErrLimit, "entries"},
	}
}

// outsideState records everything beside TARGET, to prove it untouched.
func outsideState(t *testing.T, parent string) map[string]string {
	t.Helper()
	s := snapshot(t, parent)
	for k := range s {
		if k == "jail" || strings.HasPrefix(k, "jail/") {
			delete(s, k)
		}
	}
	for _, p := range []string{"sentinel", "outside/victim"} {
		fi, err := os.Lstat(filepath.Join(parent, p))
		if err != nil {
			t.Fatal(err)
		}
		s[p] += " mtime=" + fi.ModTime().String()
	}
	return s
}

// hostileDir makes a directory holding a sentinel, outside/victim and
// outside/NAME for each name, all "untouched", and returns its path, the
// path of TARGET in it (not created) and of outside.
func hostileDir(t *testing.T, names ...string) (parent, target, outside string) {
	parent = t.TempDir()
	target, outside = filepath.Join(parent, "jail"), filepath.Join(parent, "outside")
	if err := os.Mkdir(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range append([]string{"sentinel", "outside/victim"}, names...) {
		if err := os.WriteFile(filepath.Join(parent, p), []byte("untouched"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return parent, target, outside
}

func TestUnpackHostile(t *testing.T) {
	ctx := context.Background()
	for _, tc := range hostileCases() {
		t.Run(tc.name, func(t *testing.T) {
			parent, target, outside := hostileDir(t)
			good := imageOf(t, true, gzLayer(t, dir("etc"), file("etc/passwd", "root:x:0:0")))
			before := mustUnpack(t, good, target)
			state := outsideState(t, parent)

			_, err := Unpack(ctx, imageOf(t, false, tc.layers(t, outside)...), target, tc.opts...)
			if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("unpack error = %v; want %v containing %q", err, tc.wantErr, tc.wantMsg)
			}
			t.Logf("rejected: %v", err)
			if d := diffSnap(state, outsideState(t, parent)); d != "" {
				t.Errorf("outside TARGET changed:\n%s", d)
			}
			names, _ := os.ReadDir(target)
			if len(names) != 2 || filepath.Join(target, names[1].Name()) != before.Gen {
				t.Errorf("TARGET holds %v, want current and %s only", names, filepath.Base(before.Gen))
			}
			drifts, err := Verify(ctx, good, target)
			if err != nil || len(drifts) != 0 {
				t.Errorf("previous tree not intact: %v %v", drifts, err)
			}
		})
	}
}

// TestSymlinkReplacedNotFollowed: an entry that lands on a symlink replaces
// the symlink; it never writes through it.
func TestSymlinkReplacedNotFollowed(t *testing.T) {
	parent := t.TempDir()
	victim := filepath.Join(parent, "victim")
	if err := os.WriteFile(victim, []byte("untouched"), 0o644); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(parent, "jail")
	img := imageOf(t, true, gzLayer(t, dir("etc"), symlink("etc/passwd", victim)),
		gzLayer(t, file("etc/passwd", "pwned"), symlink("dev", victim)), gzLayer(t, chardev("dev", 1, 3)))
	mustUnpack(t, img, target)
	if b, _ := os.ReadFile(victim); string(b) != "untouched" {
		t.Errorf("victim = %q", b)
	}
	got := snapshot(t, rootfs(target))
	if got["etc/passwd"] != "f 0644 0:0 n=1 pwned" || got["dev"] != "c 1:3 0666 0:0" {
		t.Errorf("tree = %v", got)
	}
}

// countingLayer counts the compressed bytes read from a layer.
type countingLayer struct {
	*rawLayer
	n atomic.Int64
}

func (l *countingLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(&countReader{bytes.NewReader(l.blob), &l.n}), nil
}

type countReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func TestGzipBombStopsEarly(t *testing.T) {
	tb := tarOf(t, file("zeros", string(make([]byte, 64<<20))))
	l := &countingLayer{rawLayer: honest(tb, gz(t, tb), types.OCILayer)}
	target := filepath.Join(t.TempDir(), "jail")
	_, err := Unpack(context.Background(), imageOf(t, false, l), target)
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "ratio") {
		t.Fatalf("unpack error = %v; want a ratio limit", err)
	}
	if n := l.n.Load(); n >= int64(len(l.blob))/2 {
		t.Errorf("read %d of %d compressed bytes before stopping", n, len(l.blob))
	}
	ents, _ := os.ReadDir(target)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	if len(names) != 0 {
		t.Errorf("TARGET holds %v after a failed first unpack", names)
	}
}
