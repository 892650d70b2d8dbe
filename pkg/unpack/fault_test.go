package unpack

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/jailimg/jailimg/internal/testutil"
	"github.com/jailimg/jailimg/pkg/bundle"
)

const childEnv = "JAILIMG_UNPACK_CHILD" // "LAYOUT\nTARGET": run one unpack and exit

func TestMain(m *testing.M) {
	if dir := os.Getenv(chrootEnv); dir != "" {
		chrootAndWait(dir)
	}
	if v := os.Getenv(childEnv); v != "" {
		layoutDir, target, _ := strings.Cut(v, "\n")
		if err := childUnpack(layoutDir, target); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func childUnpack(layoutDir, target string) error {
	img, err := layoutImage(layoutDir)
	if err != nil {
		return err
	}
	_, err = Unpack(context.Background(), img, target)
	return err
}

func layoutImage(dir string) (v1.Image, error) {
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, err
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	return idx.Image(im.Manifests[0].Digest)
}

// faultImage is a few thousand small files, links and directories, so that
// an unpack takes long enough to be killed in every phase.
func faultImage(t *testing.T, tag string) v1.Image {
	var es []ent
	for d := 0; d < 20; d++ {
		es = append(es, dir(fmt.Sprintf("d%02d", d)))
		for f := 0; f < 100; f++ {
			es = append(es, file(fmt.Sprintf("d%02d/f%03d", d, f), strings.Repeat(tag, 1000+f)))
		}
		es = append(es, hardlink(fmt.Sprintf("d%02d/hl", d), fmt.Sprintf("d%02d/f000", d)),
			symlink(fmt.Sprintf("d%02d/sl", d), "f001"))
	}
	second := []ent{whiteout("d00/f000"), file("tag", tag)}
	return imageOf(t, true, gzLayer(t, es...), gzLayer(t, second...))
}

// TestKillDuringUnpack kills an unpacking child process at random moments,
// alternating two images, and checks after every kill that the live tree is
// complete and exactly one of the two images.
func TestKillDuringUnpack(t *testing.T) {
	testutil.Short(t, "kills unpack 30 times")
	parent := t.TempDir()
	target := filepath.Join(parent, "jail")
	imgs := map[string]v1.Image{}
	var dirs [2]string
	for i, tag := range []string{"A", "B"} {
		img := faultImage(t, tag)
		dirs[i] = filepath.Join(parent, "layout-"+tag)
		p, err := layout.Write(dirs[i], empty.Index)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.AppendImage(img); err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		imgs[d.String()] = img
	}
	run := func(i int, delay time.Duration) (killed bool) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+dirs[i%2]+"\n"+target)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("child unpack: %v", err)
			}
			return false
		case <-time.After(delay):
			cmd.Process.Signal(syscall.SIGKILL)
			<-done
			return true
		}
	}
	start := time.Now()
	run(0, time.Hour)
	full := time.Since(start) // scales the random delays; never asserted
	kills := 0
	for i := 1; i <= 30; i++ {
		// Cubed so that many kills land in the short extraction phase
		// before the (on a busy disk, long) syncfs.
		u := rand.Float64()
		delay := time.Duration(u * u * u * float64(full) * 1.2)
		if run(i, delay) {
			kills++
		}
		b, err := bundle.Open(target)
		if err != nil {
			t.Fatalf("after kill %d (%v): no live tree: %v", i, delay, err)
		}
		img := imgs[b.Meta.ManifestDigest]
		if img == nil {
			t.Fatalf("after kill %d: live tree is of unknown image %s", i, b.Meta.ManifestDigest)
		}
		drifts, err := Verify(context.Background(), img, target)
		if err != nil || len(drifts) != 0 {
			t.Fatalf("after kill %d (%v): live tree is not exactly %s: %v %v", i, delay, b.Meta.ManifestDigest, err, drifts)
		}
	}
	t.Logf("%d of 30 runs killed mid-way (full run %v)", kills, full)
	// One more complete run cleans every leftover.
	run(1, time.Hour)
	ents, _ := os.ReadDir(target)
	if len(ents) != 2 || !strings.HasPrefix(ents[1].Name(), bundle.GenPrefix) {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("after a clean run TARGET holds %v, want current and one generation", names)
	}
}
