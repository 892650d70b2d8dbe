package image

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/jailimg/jailimg/internal/registrytest"
	"github.com/jailimg/jailimg/pkg/layout"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
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
		img, err := layout.Image(dir, tag)
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
	if err := layout.Write(ctx, dir, testImage(t, 100), "old"); err != nil {
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
		errs[pulls] = layout.Write(ctx, dir, built, "built")
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
