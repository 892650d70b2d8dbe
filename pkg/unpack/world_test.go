package unpack

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/jailimg/jailimg/internal/testutil"
)

// TestWorldWritable unpacks foreign layers with world-writable entries:
// by default o+w is masked off files and directories without the sticky
// bit, with one warning giving the count and the first path, and Verify
// agrees with the result; WithStrict refuses the image, naming the layer
// and entry, and keeps the live tree. The positive control (a 1777
// directory, a 0666 device, 0644 files) is kept as is in both modes.
func TestWorldWritable(t *testing.T) {
	testutil.NeedRoot(t, "owners and device nodes")
	control := []ent{{Name: "tmp/", Type: tar.TypeDir, Mode: 0o1777}, chardev("dev/null", 1, 3), file("etc/motd", "hi"),
		symlink("etc/link", "motd")}
	controlWant := map[string]string{".": "d 0755 0:0", "tmp": "d 1777 0:0", "dev": "d 0755 0:0", "dev/null": "c 1:3 0666 0:0",
		"etc": "d 0755 0:0", "etc/motd": "f 0644 0:0 n=1 hi", "etc/link": "l -> motd"}
	for _, tc := range []struct {
		name   string
		layers [][]ent
		want   map[string]string // added to controlWant
		first  string            // the first masked path, "" for none
		count  int
		entry  string // the entry --strict refuses, in layer 1
	}{
		{name: "control", layers: [][]ent{control}},
		{name: "world-writable file", layers: [][]ent{control, {{Name: "etc/conf", Body: "c", Mode: 0o666}}},
			want: map[string]string{"etc/conf": "f 0664 0:0 n=1 c"}, first: "/etc/conf", count: 1, entry: "etc/conf"},
		{name: "world-writable directories and root", layers: [][]ent{control, {{Name: "./", Type: tar.TypeDir, Mode: 0o777},
			{Name: "var/spool/", Type: tar.TypeDir, Mode: 0o777}, {Name: "var/spool/x", Body: "x", Mode: 0o606},
			hardlink("var/spool/y", "var/spool/x")}},
			want: map[string]string{".": "d 0775 0:0", "var": "d 0755 0:0", "var/spool": "d 0775 0:0",
				"var/spool/x": "f 0604 0:0 n=2 x", "var/spool/y": "f 0604 0:0 n=2 x"},
			first: "/", count: 3, entry: "./"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var layers []v1.Layer
			for _, l := range tc.layers {
				layers = append(layers, gzLayer(t, l...))
			}
			img := imageOf(t, true, layers...)
			want := map[string]string{}
			for k, v := range controlWant {
				want[k] = v
			}
			for k, v := range tc.want {
				want[k] = v
			}

			target := filepath.Join(t.TempDir(), "jail")
			logOpt, log := withLog()
			mustUnpack(t, img, target, logOpt) // and Verify finds no drift
			if d := diffSnap(want, snapshot(t, rootfs(target))); d != "" {
				t.Errorf("tree after a default unpack:\n%s", d)
			}
			warned := strings.Contains(log.String(), "o+w masked")
			if warned != (tc.count > 0) || tc.count > 0 && (strings.Count(log.String(), "o+w masked") != 1 ||
				!strings.Contains(log.String(), fmt.Sprintf("entries=%d first=%s\n", tc.count, tc.first))) {
				t.Errorf("log, want one warning with entries=%d first=%s:\n%s", tc.count, tc.first, log)
			}

			strictTarget := filepath.Join(t.TempDir(), "jail")
			mustUnpack(t, imageOf(t, true, layers[0]), strictTarget, WithStrict())
			before := snapshot(t, rootfs(strictTarget))
			_, err := Unpack(context.Background(), img, strictTarget, WithStrict())
			if tc.entry == "" {
				if err != nil {
					t.Fatalf("strict unpack of the control: %v", err)
				}
				return
			}
			var ee *EntryError
			if !errors.As(err, &ee) || !errors.Is(err, ErrPolicy) || ee.Layer != 1 || ee.Name != tc.entry ||
				!strings.Contains(err.Error(), "world-writable") {
				t.Fatalf("strict unpack: %v, want an ErrPolicy EntryError for layer 1, entry %q", err, tc.entry)
			}
			if d := diffSnap(before, snapshot(t, rootfs(strictTarget))); d != "" {
				t.Errorf("live tree changed by a refused unpack:\n%s", d)
			}
			if _, err := Verify(context.Background(), img, strictTarget, WithStrict()); !errors.Is(err, ErrPolicy) {
				t.Errorf("strict verify: %v, want ErrPolicy", err)
			}
		})
	}
}
