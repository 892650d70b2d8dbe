package registry_test

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
	"github.com/jailimg/jailimg/internal/imagetest"
	"github.com/jailimg/jailimg/internal/registrytest"
	"github.com/jailimg/jailimg/pkg/layout"
	"github.com/jailimg/jailimg/pkg/registry"
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
	img := imagetest.Image(t, 200_000, 100_000)
	want := imagetest.Digest(t, img)
	ref := imagetest.Ref(t, reg.Ref("jails/many:1"))
	if _, err := registry.Push(ctx, ref, img); err != nil {
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
			_, errs[i] = registry.Pull(ctx, ref, dir, fmt.Sprintf("t%d", i))
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
	imagetest.AssertNoStaging(t, dir)
}

// TestConcurrentWriteAndPulls runs layout.Write (what build -o does) and
// seven pulls into one layout at once, layout.Write starting once the first
// pull is downloading blobs into its copy of the layout. Whatever order the
// lock gives them, the result must be one a serial order could give:
// layout.Write starts a new layout, so its tag is kept, the older tag is
// gone and a pull's tag is kept exactly when that pull came after it.
// Without the lock the pull that was under way swaps its copy of the old
// layout in after layout.Write, and the built image is lost.
func TestConcurrentWriteAndPulls(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.Start(t)
	pulled := imagetest.Image(t, 200_000)
	built := imagetest.Image(t, 150_000, 1000)
	ref := imagetest.Ref(t, reg.Ref("jails/mixed:1"))
	if _, err := registry.Push(ctx, ref, pulled); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "layout")
	if err := layout.Write(ctx, dir, imagetest.Image(t, 100), "old"); err != nil {
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
			_, errs[i] = registry.Pull(ctx, ref, dir, fmt.Sprintf("p%d", i), registry.WithTransport(signal))
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
	if tags["built"] != imagetest.Digest(t, built) {
		t.Errorf("layout has tags %v, lost the built image", sortedKeys(tags))
	}
	if _, ok := tags["old"]; ok {
		t.Errorf("layout has tags %v: the tag layout.Write replaced is back", sortedKeys(tags))
	}
	imagetest.AssertNoStaging(t, dir)
}
