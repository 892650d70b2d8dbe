package bundle

import (
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestOpen(t *testing.T) {
	for _, tc := range []struct {
		name    string
		current string // target of TARGET/current; "" for none
		meta    string // contents of the generation's image.json; "" for none
		want    string // error text, "" for success
		// notBundle: the error wraps ErrNotBundle
		notBundle bool
	}{
		{name: "no current", want: "no current link", notBundle: true},
		{name: "escaping link", current: "../etc", want: `current points to "../etc"`, notBundle: true},
		{name: "absolute link", current: "/gen-1", want: `current points to "/gen-1"`, notBundle: true},
		{name: "root link", current: "/", want: `current points to "/"`, notBundle: true},
		{name: "nested link", current: "gen-1/rootfs", want: `current points to "gen-1/rootfs"`, notBundle: true},
		{name: "missing meta", current: "gen-1", want: "reading image.json"},
		{name: "bad meta", current: "gen-1", meta: "{", want: "parsing image.json"},
		{name: "good", current: "gen-1", meta: goodMeta},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			mkdir(t, filepath.Join(dir, "gen-1"), 0o755)
			mkdir(t, filepath.Join(dir, "gen-1", RootFS), 0o755)
			if tc.current != "" {
				symlink(t, tc.current, filepath.Join(dir, Current))
			}
			if tc.meta != "" {
				write(t, filepath.Join(dir, "gen-1", MetaFile), tc.meta, 0o644)
			}
			b, err := Open(dir)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), dir) {
					t.Fatalf("Open: %v, want an error naming %s and %q", err, dir, tc.want)
				}
				if errors.Is(err, ErrNotBundle) != tc.notBundle {
					t.Errorf("Open: %v; wraps ErrNotBundle: %v, want %v", err, !tc.notBundle, tc.notBundle)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b.RootFS() != filepath.Join(dir, "gen-1", RootFS) || b.Meta.ManifestDigest != "sha256:ab" || b.Meta.Config.Config.User != "www" {
				t.Errorf("Open = %+v", b)
			}
			if p, err := b.Root(); err != nil || p != b.RootFS() {
				t.Errorf("Root() = %q, %v; want %q", p, err, b.RootFS())
			}
		})
	}
}

func TestOpenNotADirectory(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{filepath.Join(dir, "missing"), filepath.Join(dir, "file")} {
		write(t, filepath.Join(dir, "file"), "x", 0o644)
		if _, err := Open(p); !errors.Is(err, ErrNotBundle) || !strings.Contains(err.Error(), p) {
			t.Errorf("Open(%s): %v, want ErrNotBundle naming it", p, err)
		}
	}
}

// TestRootID checks that RootID is the identity of the rootfs Open checked,
// and stays so when the path is swapped for another directory afterwards.
func TestRootID(t *testing.T) {
	dir := goodBundle(t)
	b, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Lstat(b.RootFS(), &st); err != nil {
		t.Fatal(err)
	}
	checked := FileID{Dev: st.Dev, Ino: st.Ino}
	if b.RootID() != checked {
		t.Fatalf("RootID() = %+v, want the rootfs's %+v", b.RootID(), checked)
	}
	rename(t, b.RootFS(), b.RootFS()+".old")
	mkdir(t, b.RootFS(), 0o755)
	if err := syscall.Lstat(b.RootFS(), &st); err != nil {
		t.Fatal(err)
	}
	if id := b.RootID(); id != checked || id == (FileID{Dev: st.Dev, Ino: st.Ino}) {
		t.Errorf("after the swap RootID() = %+v, want the checked %+v, not the new directory's", id, checked)
	}
}
