package image

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/jailimg/jailimg/internal/registrytest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// layoutTags lists the tags of the layout at dir, sorted, and checks the
// image each names is whole.
func layoutTags(t *testing.T, dir string) map[string]v1.Hash {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	im, err := v1.ParseIndexManifest(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	tags := map[string]v1.Hash{}
	for _, d := range im.Manifests {
		tag := d.Annotations[ocispec.AnnotationRefName]
		if _, dup := tags[tag]; dup {
			t.Errorf("tag %q twice in %s", tag, dir)
		}
		img, err := FromLayout(dir, tag)
		if err != nil {
			t.Fatalf("tag %q: %v", tag, err)
		}
		if err := validate.Image(img); err != nil {
			t.Errorf("tag %q: %v", tag, err)
		}
		tags[tag] = d.Digest
	}
	return tags
}

func sortedKeys(m map[string]v1.Hash) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestConcurrentPulls pulls one image from docker-registry into one layout
// under eight tags at once: every pull must succeed and every tag be kept.
// Without the layout lock each pull swaps in its own copy of the layout
// and only the last few tags survive.
func TestConcurrentPulls(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.Start(t)
	img := testImage(t, 200_000, 100_000)
	want := digestOf(t, img)
	ref := mustRef(t, reg.Ref("jails/many:1"))
	if _, err := Push(ctx, ref, img); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "layout")
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = Pull(ctx, ref, dir, fmt.Sprintf("t%d", i))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("pull %d: %v", i, err)
		}
	}
	tags := layoutTags(t, dir)
	if len(tags) != n {
		t.Errorf("layout has tags %v, want t0 to t%d", sortedKeys(tags), n-1)
	}
	for tag, d := range tags {
		if d != want {
			t.Errorf("tag %s names %s, want %s", tag, d, want)
		}
	}
	assertNoStaging(t, dir)
}

// TestConcurrentWriteAndPulls runs WriteLayout (what build -o does) and
// seven pulls into one layout at once, WriteLayout starting once the first
// pull is downloading blobs into its copy of the layout. Whatever order the
// lock gives them, the result must be one a serial order could give:
// WriteLayout starts a new layout, so its tag is kept, the older tag is
// gone and a pull's tag is kept exactly when that pull came after it.
// Without the lock the pull that was under way swaps its copy of the old
// layout in after WriteLayout, and the built image is lost.
func TestConcurrentWriteAndPulls(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.Start(t)
	pulled := testImage(t, 200_000)
	built := testImage(t, 150_000, 1000)
	ref := mustRef(t, reg.Ref("jails/mixed:1"))
	if _, err := Push(ctx, ref, pulled); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "layout")
	if err := WriteLayout(ctx, dir, testImage(t, 100), "old"); err != nil {
		t.Fatal(err)
	}
	downloading := make(chan struct{})
	var once sync.Once
	signal := &tripwire{inner: http.DefaultTransport, fault: func() { once.Do(func() { close(downloading) }) }}
	const pulls = 7
	var wg sync.WaitGroup
	errs := make([]error, pulls+1)
	for i := range pulls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = Pull(ctx, ref, dir, fmt.Sprintf("p%d", i), WithTransport(signal))
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-downloading
		errs[pulls] = WriteLayout(ctx, dir, built, "built")
	}()
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	tags := layoutTags(t, dir)
	if tags["built"] != digestOf(t, built) {
		t.Errorf("layout has tags %v, lost the built image", sortedKeys(tags))
	}
	if _, ok := tags["old"]; ok {
		t.Errorf("layout has tags %v: the tag WriteLayout replaced is back", sortedKeys(tags))
	}
	assertNoStaging(t, dir)
}

// assertNoStaging checks only the layout and its lock file are left in
// the layout's parent directory.
func assertNoStaging(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != filepath.Base(dir) && e.Name() != filepath.Base(dir)+".lock" {
			t.Errorf("left behind in the parent: %s", e.Name())
		}
	}
}

// TestLayoutLockFile checks the lock file: created beside the layout with
// mode 0600; a symlink or FIFO in its place is refused (without following
// or blocking) and the layout left alone; a writer waiting for the lock
// gives up when its context is canceled.
func TestLayoutLockFile(t *testing.T) {
	ctx := context.Background()
	img := testImage(t, 1000)

	t.Run("created beside", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "out")
		if err := WriteLayout(ctx, dir, img, "1"); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Lstat(dir + ".lock")
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
			t.Errorf("lock file %s: %v, %v; want a regular file of mode 0600", dir+".lock", fi, err)
		}
	})

	for _, tc := range []struct {
		name  string
		plant func(string) error
		want  string
	}{
		{"symlink", func(p string) error { return os.Symlink("/etc/passwd", p) }, "symlink"},
		{"fifo", func(p string) error { return syscall.Mkfifo(p, 0o600) }, "not a regular file"},
		{"directory", func(p string) error { return os.Mkdir(p, 0o700) }, "is a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			if err := WriteLayout(ctx, dir, img, "1"); err != nil {
				t.Fatal(err)
			}
			os.Remove(dir + ".lock")
			if err := tc.plant(dir + ".lock"); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, dir)
			err := WriteLayout(ctx, dir, testImage(t, 2000), "2")
			t.Logf("error: %v", err)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), dir) {
				t.Errorf("error %v, want one naming %s and saying %q", err, dir, tc.want)
			}
			if after := snapshot(t, dir); after != before {
				t.Errorf("layout changed:\nbefore\n%s\nafter\n%s", before, after)
			}
		})
	}

	t.Run("canceled while waiting", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "out")
		if err := WriteLayout(ctx, dir, img, "1"); err != nil {
			t.Fatal(err)
		}
		holder, err := os.Open(dir + ".lock")
		if err != nil {
			t.Fatal(err)
		}
		defer holder.Close()
		if err := unix.Flock(int(holder.Fd()), unix.LOCK_EX); err != nil {
			t.Fatal(err)
		}
		canceled, cancel := context.WithCancel(ctx)
		done := make(chan error)
		go func() {
			done <- UpdateLayout(canceled, dir, func(layout.Path) error { return nil })
		}()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("UpdateLayout waiting for the lock: %v, want context.Canceled", err)
		}
		holder.Close() // the abandoned wait takes the lock and lets it go
		if err := WriteLayout(ctx, dir, img, "2"); err != nil {
			t.Errorf("WriteLayout after the holder let go: %v", err)
		}
	})
}
