package unpack

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	pkgprogress "github.com/jailimg/jailimg/pkg/progress"
)

// collect drains ch in its own goroutine and returns what it got once closed.
func collect(ch chan v1.Update) func() []v1.Update {
	done := make(chan []v1.Update)
	go func() {
		var got []v1.Update
		for u := range ch {
			got = append(got, u)
		}
		done <- got
	}()
	return func() []v1.Update { return <-done }
}

func TestProgress(t *testing.T) {
	big := make([]byte, 3<<20) // random, so gzip keeps it about this size
	rand.Read(big)
	l1 := gzLayer(t, dir("bin"), file("bin/big", string(big)))
	l2 := gzLayer(t, dir("etc"), file("etc/motd", "hi\n"))
	img := imageOf(t, true, l1, l2)
	total := l1.size + l2.size
	target := filepath.Join(t.TempDir(), "jail")

	t.Run("updates up to the total, then closed", func(t *testing.T) {
		ch := make(chan v1.Update)
		wait := collect(ch)
		if _, err := Unpack(context.Background(), img, target, WithProgress(ch)); err != nil {
			t.Fatal(err)
		}
		got := wait()
		if len(got) < 4 {
			t.Fatalf("%d updates for a 3 MiB layer, want one per MiB at least: %+v", len(got), got)
		}
		for i, u := range got {
			if u.Total != total || u.Error != nil || i > 0 && u.Complete < got[i-1].Complete {
				t.Fatalf("update %d is %+v (total %d, previous %+v)", i, u, total, got[max(i-1, 0)])
			}
		}
		if last := got[len(got)-1]; last.Complete != total {
			t.Fatalf("last update %+v, want complete %d", last, total)
		}
	})
	t.Run("a function sees each layer, in order", func(t *testing.T) {
		var got []pkgprogress.Update
		fresh := filepath.Join(t.TempDir(), "jail")
		if _, err := Unpack(context.Background(), img, fresh, WithProgressFunc(func(u pkgprogress.Update) { got = append(got, u) })); err != nil {
			t.Fatal(err)
		}
		if len(got) < 4 {
			t.Fatalf("%d updates for a 3 MiB layer: %+v", len(got), got)
		}
		for i, u := range got {
			l := u.Layers
			if u.Total != total || len(l) != 2 || l[0].Size != l1.size || l[1].Size != l2.size || l[1].Done > 0 && l[0].Done != l[0].Size {
				t.Fatalf("update %d is %+v", i, u)
			}
		}
		last := got[len(got)-1]
		if last.Done != total || last.Layers[0].Done != l1.size || last.Layers[1].Done != l2.size {
			t.Fatalf("last update %+v, want every layer done", last)
		}
	})
	t.Run("already live sends nothing", func(t *testing.T) {
		ch := make(chan v1.Update)
		wait := collect(ch)
		if _, err := Unpack(context.Background(), img, target, WithProgress(ch)); err != nil {
			t.Fatal(err)
		}
		if got := wait(); len(got) != 0 {
			t.Fatalf("updates for a live image: %+v", got)
		}
	})
	t.Run("the last update carries the error", func(t *testing.T) {
		bad := *l2
		bad.diffID = sha([]byte("not the tar"))
		ch := make(chan v1.Update)
		wait := collect(ch)
		_, err := Unpack(context.Background(), imageOf(t, false, l1, &bad), t.TempDir(), WithProgress(ch))
		got := wait()
		if !errors.Is(err, ErrDigest) || len(got) == 0 || !errors.Is(got[len(got)-1].Error, ErrDigest) {
			t.Fatalf("err %v, updates %+v; want ErrDigest in both", err, got)
		}
	})
}
