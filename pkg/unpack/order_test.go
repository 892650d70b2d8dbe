package unpack

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestWriteOrder holds the disk applier's writers to their ordering rules
// (see writers): each file write is slowed down, and when it is done its
// file must still be linked exactly once. An entry that removed or replaced
// the file while it was being written (a duplicate, a file, symlink or
// whiteout over its directory) leaves it unlinked (0); a hardlink made to
// it before its write finished leaves it linked twice. The tree must then
// be the oracle's, as a one-goroutine unpack makes it.
func TestWriteOrder(t *testing.T) {
	big := strings.Repeat("x", 200<<10)
	cases := []struct {
		name   string
		layers [][]ent
	}{
		{"duplicate file", [][]ent{{file("a", big), file("a", "second")}}},
		{"duplicate through a lower symlink", [][]ent{
			{dir("d"), symlink("l", "d")},
			{file("d/x", big), file("l/x", "second")}}},
		{"file over the directory it was written in", [][]ent{{file("d/x", big), file("d/y", big), file("d", "file")}}},
		{"symlink over the directory it was written in", [][]ent{{file("d/x", big), symlink("d", "e")}}},
		{"hardlink to a file being written", [][]ent{{file("a", big), hardlink("b", "a"), hardlink("c", "b")}}},
		{"whiteout of a lower layer's file", [][]ent{{dir("d"), file("d/x", big)}, {whiteout("d/x"), file("d/y", "y")}}},
		{"opaque directory", [][]ent{{dir("d"), file("d/x", big), file("d/z", big)}, {opaque("d"), file("d/y", big)}}},
		{"whiteout of a lower directory", [][]ent{{file("d/e/x", big)}, {whiteout("d"), file("d", big)}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var tars [][]byte
			for _, l := range c.layers {
				tars = append(tars, tarOf(t, l...))
			}
			root := t.TempDir()
			if bad := applyObserved(t, root, tars...); bad != "" {
				t.Error(bad)
			}
			o := newOracle()
			if err := o.layers(tars...); err != nil {
				t.Fatal(err)
			}
			if d := treeDiff(o.tree(), diskTree(t, root), false); d != "" {
				t.Errorf("tree differs from the oracle's:\n%s", d)
			}
		})
	}
}

// applyObserved applies the tar streams to root as extract does, with every
// write slowed down and checked when done; it returns what went wrong.
func applyObserved(t *testing.T, root string, tars ...[]byte) string {
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	d := newDisk(fd)
	defer d.close()
	var mu sync.Mutex
	var bad []string
	d.w.observe = func(j *fileJob, done bool) {
		if !done {
			time.Sleep(20 * time.Millisecond) // let the walk go on meanwhile
			return
		}
		var st unix.Stat_t
		if err := unix.Fstat(j.fd, &st); err != nil {
			t.Error(err)
			return
		}
		if st.Nlink != 1 {
			mu.Lock()
			bad = append(bad, fmt.Sprintf("%s: %d links when its write was done", j.path, st.Nlink))
			mu.Unlock()
		}
	}
	b := &budget{lim: DefaultLimits}
	for i, tb := range tars {
		if err := applyTar(context.Background(), i, bytes.NewReader(tb), b, makeOptions(nil).devices, &worldWritable{applier: d}); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.finish(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	return strings.Join(bad, "\n")
}
