package resolve

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"io/fs"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jailimg/jailimg/internal/testutil"
)

// TestHostLDCache parses the host's /etc/ld.so.cache and compares every
// x86-64 entry with what `ldconfig -p` prints.
func TestHostLDCache(t *testing.T) {
	b, err := os.ReadFile("/etc/ld.so.cache")
	if err != nil {
		testutil.Skipf(t, "no host ld.so.cache: %v", err)
	}
	out, err := exec.Command("ldconfig", "-p").Output()
	if err != nil {
		testutil.Skipf(t, "ldconfig -p: %v", err)
	}
	c, err := parseLDCache(b)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		// "\tlibz.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libz.so.1"
		line := strings.TrimSpace(sc.Text())
		key, rest, ok := strings.Cut(line, " (")
		if !ok {
			continue
		}
		kind, value, ok := strings.Cut(rest, ") => ")
		if !ok || kind != "libc6,x86-64" {
			continue
		}
		var values []string
		for _, e := range c[key] {
			if e.flags == 0x0303 && e.hwname == "" {
				values = append(values, e.value)
			}
		}
		if !slices.Contains(values, value) {
			t.Errorf("%s => %s: parsed %v", key, value, values)
		}
		n++
	}
	if n == 0 {
		t.Fatal("ldconfig -p listed no x86-64 entries")
	}
	t.Logf("%d entries agree", n)
}

// TestHWCapsMatchLoader compares the detected x86-64 levels with what the
// host's ld.so says it searches.
func TestHWCapsMatchLoader(t *testing.T) {
	out, err := exec.Command("/lib64/ld-linux-x86-64.so.2", "--help").Output()
	if err != nil {
		testutil.Skipf(t, "ld.so --help: %v", err)
	}
	var want []string
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if name, ok := strings.CutSuffix(line, " (supported, searched)"); ok && strings.HasPrefix(name, "x86-64-v") {
			want = append(want, name)
		}
	}
	if got := x86Levels(); !slices.Equal(got, want) {
		t.Fatalf("x86Levels() = %v, ld.so searches %v", got, want)
	}
}

func TestParseLDCacheRejects(t *testing.T) {
	good := buildLDCache([]cacheEnt{{"liba.so", "/a/liba.so", 0x0303, ""}})
	tests := map[string][]byte{
		"empty":          nil,
		"old format":     append([]byte("ld.so-1.7.0"), make([]byte, 64)...),
		"truncated":      good[:cacheHeaderSize+4],
		"bad endianness": func() []byte { b := slices.Clone(good); b[28] = 7; return b }(),
		"huge count":     func() []byte { b := slices.Clone(good); b[23] = 0x7f; return b }(),
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := parseLDCache(b); err == nil {
				t.Fatal("parsed")
			}
		})
	}
	if c, err := parseLDCache(good); err != nil || c["liba.so"][0].value != "/a/liba.so" {
		t.Fatalf("good cache: %v %v", c, err)
	}
}

func TestExpandDST(t *testing.T) {
	a := &abi{lib: "lib/x86_64-linux-gnu", platform: "x86_64"}
	tests := []struct {
		in, origin, want string
		ok               bool
	}{
		{"$ORIGIN/../lib", "/opt/app/bin", "/opt/app/bin/../lib", true},
		{"${ORIGIN}/x", "/o", "/o/x", true},
		{"/usr/$LIB/$PLATFORM", "", "/usr/lib/x86_64-linux-gnu/x86_64", true},
		{"/a/$ORIGINAL", "/o", "/a/$ORIGINAL", true}, // not a token: kept
		{"/a/$ORIGIN_X", "/o", "/a/$ORIGIN_X", true},
		{"/cost/$5", "/o", "/cost/$5", true},
		{"$ORIGIN/x", "", "", false}, // no origin: element unusable
		{"/plain", "", "/plain", true},
		{"/${LIB}x", "", "/lib/x86_64-linux-gnux", true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := expandDST(tc.in, tc.origin, a)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("expandDST(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// openOnly hides everything but Open.
type openOnly struct{ fs.FS }

func TestNewNeedsReadLinkFS(t *testing.T) {
	if _, err := New(openOnly{fstest.MapFS{}}); err == nil {
		t.Fatal("New accepted an fs.FS without ReadLink")
	}
	fsys := fstest.MapFS{
		"usr/bin/app": {Data: buildELF(elfSpec{typ: elf.ET_EXEC, static: true})},
		"bin":         {Data: []byte("usr/bin"), Mode: os.ModeSymlink},
	}
	r, err := New(fsys)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := r.Resolve(context.Background(), Request{Binaries: []string{"/bin/app"}})
	if err != nil || !slices.Equal(cl.Files, []string{"/usr/bin/app"}) || len(cl.Links) != 1 {
		t.Fatalf("MapFS: %+v %v", cl, err)
	}
}
