package unpack

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/jailimg/jailimg/internal/testutil"
	"github.com/jailimg/jailimg/pkg/bundle"
	"github.com/jailimg/jailimg/pkg/policy"
)

// liveGen returns the absolute path of target's live generation, read
// from the current link.
func liveGen(t *testing.T, target string) string {
	t.Helper()
	g, err := os.Readlink(filepath.Join(target, bundle.Current))
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(target, g)
}

// editMeta rewrites the live generation's image.json through edit.
func editMeta(t *testing.T, target string, edit func(m *bundle.Meta)) {
	t.Helper()
	p := filepath.Join(liveGen(t, target), bundle.MetaFile)
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var m bundle.Meta
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	edit(&m)
	if raw, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestUnpackReplacesTampered tampers with the live generation of a bundle
// whose TARGET is sound, and checks that Verify no longer calls it clean,
// and that Unpack of the same image does not call it "already live" but
// writes a fresh, verified generation and removes the tampered one without
// following any symlink in it.
func TestUnpackReplacesTampered(t *testing.T) {
	ctx := context.Background()
	img := imageOf(t, true, gzLayer(t, dir("etc"), file("etc/motd", "hi\n")))
	for _, tc := range []struct {
		name   string
		root   bool
		tamper func(t *testing.T, gen, outside string)
		// drift is the What of the drift Verify reports; "" when Verify
		// refuses the bundle with bundle.ErrUnsafe instead.
		drift string
	}{
		{name: "config entrypoint", drift: "config", tamper: func(t *testing.T, gen, _ string) {
			editMeta(t, filepath.Dir(gen), func(m *bundle.Meta) { m.Config.Config.Entrypoint = []string{"/usr/bin/ls"} })
		}},
		{name: "config policy label", drift: "config", tamper: func(t *testing.T, gen, _ string) {
			editMeta(t, filepath.Dir(gen), func(m *bundle.Meta) {
				m.Config.Config.Labels = map[string]string{policy.Label: `{"accept":["setuid"]}`}
			})
		}},
		{name: "manifest digest", drift: "manifest digest", tamper: func(t *testing.T, gen, _ string) {
			editMeta(t, filepath.Dir(gen), func(m *bundle.Meta) { m.ManifestDigest = "sha256:" + strings.Repeat("0", 64) })
		}},
		{name: "symlinked gen", tamper: func(t *testing.T, gen, outside string) {
			must(t, os.Rename(gen, outside+"/gen"))
			must(t, os.Symlink(outside+"/gen", gen))
		}},
		{name: "symlinked rootfs", tamper: func(t *testing.T, gen, outside string) {
			must(t, os.RemoveAll(filepath.Join(gen, bundle.RootFS)))
			must(t, os.Symlink(outside, filepath.Join(gen, bundle.RootFS)))
		}},
		{name: "FIFO image.json", tamper: func(t *testing.T, gen, _ string) {
			must(t, os.Remove(filepath.Join(gen, bundle.MetaFile)))
			must(t, syscall.Mkfifo(filepath.Join(gen, bundle.MetaFile), 0o644))
		}},
		{name: "oversized image.json", tamper: func(t *testing.T, gen, _ string) {
			must(t, os.Truncate(filepath.Join(gen, bundle.MetaFile), bundle.MaxMetaSize+1))
		}},
		{name: "symlinked image.json", tamper: func(t *testing.T, gen, outside string) {
			must(t, os.Rename(filepath.Join(gen, bundle.MetaFile), outside+"/image.json"))
			must(t, os.Symlink(outside+"/image.json", filepath.Join(gen, bundle.MetaFile)))
		}},
		{name: "gen group-writable", tamper: func(t *testing.T, gen, _ string) {
			must(t, os.Chmod(gen, 0o775))
		}},
		{name: "gen owned by nobody", root: true, tamper: func(t *testing.T, gen, _ string) {
			must(t, os.Lchown(gen, 65534, 65534))
		}},
		{name: "image.json owned by nobody", root: true, tamper: func(t *testing.T, gen, _ string) {
			must(t, os.Lchown(filepath.Join(gen, bundle.MetaFile), 65534, 65534))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.root {
				testutil.NeedRoot(t, "chown to another uid")
			}
			target := filepath.Join(t.TempDir(), "jail")
			outside := t.TempDir()
			must(t, os.WriteFile(filepath.Join(outside, "keep"), []byte("keep"), 0o644))
			first := mustUnpack(t, img, target)
			tc.tamper(t, first.Gen, outside)

			drifts, err := Verify(ctx, img, target)
			if tc.drift == "" {
				if !errors.Is(err, bundle.ErrUnsafe) {
					t.Fatalf("Verify of the tampered bundle: %v, %v; want bundle.ErrUnsafe", drifts, err)
				}
			} else if err != nil || len(drifts) != 1 || drifts[0].Path != bundle.MetaFile || drifts[0].What != tc.drift {
				t.Fatalf("Verify of the tampered bundle: %v, %v; want one %s drift of %s", drifts, err, tc.drift, bundle.MetaFile)
			}

			res, err := Unpack(ctx, img, target)
			if err != nil {
				t.Fatalf("Unpack over the tampered bundle: %v", err)
			}
			if !res.Changed || res.Gen == first.Gen || liveGen(t, target) != res.Gen {
				t.Fatalf("Unpack over the tampered bundle: changed=%v gen=%s (was %s); want a fresh generation", res.Changed, res.Gen, first.Gen)
			}
			if drifts, err := Verify(ctx, img, target); err != nil || len(drifts) != 0 {
				t.Fatalf("Verify after the repair: %v, %v", drifts, err)
			}
			if _, err := os.Lstat(first.Gen); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("tampered generation %s left behind: %v", first.Gen, err)
			}
			if b, err := os.ReadFile(filepath.Join(outside, "keep")); err != nil || string(b) != "keep" {
				t.Errorf("file outside the bundle: %q, %v; removing the tampered generation followed a symlink", b, err)
			}
			if again := mustUnpack(t, img, target); again.Changed {
				t.Errorf("third unpack changed the bundle again")
			}
		})
	}
}

// TestUnpackRefusesUnsafeTarget checks that a TARGET others may write, or
// that someone else owns, is refused, naming it, and left as it was.
func TestUnpackRefusesUnsafeTarget(t *testing.T) {
	ctx := context.Background()
	img := imageOf(t, true, gzLayer(t, dir("etc"), file("etc/motd", "hi\n")))
	other := imageOf(t, true, gzLayer(t, dir("etc"), file("etc/motd", "other\n")))
	for _, tc := range []struct {
		name   string
		root   bool
		tamper func(target string) error
		want   string
	}{
		{name: "mode 0777", tamper: func(p string) error { return os.Chmod(p, 0o777) }, want: "writable by group or others (mode 0777)"},
		{name: "mode 0775", tamper: func(p string) error { return os.Chmod(p, 0o775) }, want: "writable by group or others (mode 0775)"},
		{name: "mode 1777", tamper: func(p string) error { return syscall.Chmod(p, 0o1777) }, want: "writable by group or others (mode 01777)"},
		{name: "owned by nobody", root: true, tamper: func(p string) error { return os.Lchown(p, 65534, 65534) }, want: "owned by uid 65534"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.root {
				testutil.NeedRoot(t, "chown to another uid")
			}
			target := filepath.Join(t.TempDir(), "jail")
			first := mustUnpack(t, img, target)
			must(t, tc.tamper(target))
			for i, src := range []v1.Image{img, other} {
				name := [...]string{"same image", "other image"}[i]
				_, err := Unpack(ctx, src, target)
				if !errors.Is(err, bundle.ErrUnsafe) || !strings.Contains(err.Error(), target+": ") || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("Unpack %s: %v; want bundle.ErrUnsafe naming %s and saying %q", name, err, target, tc.want)
				}
			}
			if liveGen(t, target) != first.Gen {
				t.Errorf("current changed to %s", liveGen(t, target))
			}
			if _, err := Verify(ctx, img, target); !errors.Is(err, bundle.ErrUnsafe) {
				t.Errorf("Verify: %v, want bundle.ErrUnsafe", err)
			}
		})
	}
}

// TestUnpackNewTargetMode checks that a TARGET Unpack creates is trusted
// whatever the umask.
func TestUnpackNewTargetMode(t *testing.T) {
	old := syscall.Umask(0o002)
	defer syscall.Umask(old)
	img := imageOf(t, true, gzLayer(t, dir("etc"), file("etc/motd", "hi\n")))
	target := filepath.Join(t.TempDir(), "jail")
	mustUnpack(t, img, target)
	fi, err := os.Stat(target)
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("new TARGET: %v, %v; want mode 0755", fi.Mode(), err)
	}
	if _, err := bundle.Open(target); err != nil {
		t.Fatalf("bundle.Open of a fresh unpack under umask 002: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
