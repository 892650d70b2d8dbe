package unpack

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// dirsOf is a directory entry for p and each of its parents.
func dirsOf(p string) []ent {
	var out []ent
	for i := range p {
		if p[i] == '/' {
			out = append(out, dir(p[:i]))
		}
	}
	return append(out, dir(p))
}

// breakout is a case of TestBreakouts. Its layers are built knowing o, the
// absolute path of a directory outside TARGET, and etc, o without its
// leading slash: where a symlink to o leads inside the root. The first
// layer of each case holds etc/passwd ("inside").
type breakout struct {
	name    string
	layers  func(o, etc string) [][]ent
	wantErr error
	wantMsg string
	check   func(t *testing.T, root, etc string)
}

func withEtc(etc string, more ...ent) []ent {
	return append(append(dirsOf(etc), file(etc+"/passwd", "inside")), more...)
}

func fileIs(p, body string) func(*testing.T, string, string) {
	return func(t *testing.T, root, etc string) {
		p := strings.ReplaceAll(p, "ETC", etc)
		if b, err := os.ReadFile(filepath.Join(root, p)); err != nil || string(b) != body {
			t.Errorf("%s = %q, %v; want %q", p, b, err, body)
		}
	}
}

func sameFile(p1, p2 string, want bool) func(*testing.T, string, string) {
	return func(t *testing.T, root, etc string) {
		p1, p2 := strings.ReplaceAll(p1, "ETC", etc), strings.ReplaceAll(p2, "ETC", etc)
		s1, err1 := os.Lstat(filepath.Join(root, p1))
		s2, err2 := os.Lstat(filepath.Join(root, p2))
		if err1 != nil || err2 != nil || !s1.Mode().IsRegular() || os.SameFile(s1, s2) != want {
			t.Errorf("%s and %s: same file %v (%v, %v), want %v", p1, p2, err1 == nil && err2 == nil && os.SameFile(s1, s2), err1, err2, want)
		}
	}
}

func typeIs(p string, mode os.FileMode) func(*testing.T, string, string) {
	return func(t *testing.T, root, etc string) {
		p := strings.ReplaceAll(p, "ETC", etc)
		fi, err := os.Lstat(filepath.Join(root, p))
		switch {
		case mode == 0 && !errors.Is(err, os.ErrNotExist):
			t.Errorf("%s exists (%v), want it gone", p, err)
		case mode != 0 && (err != nil || fi.Mode().Type() != mode&os.ModeType):
			t.Errorf("%s: %v %v, want %v", p, fi, err, mode)
		}
	}
}

func all(checks ...func(*testing.T, string, string)) func(*testing.T, string, string) {
	return func(t *testing.T, root, etc string) {
		for _, c := range checks {
			c(t, root, etc)
		}
	}
}

// breakouts ports containerd's pkg/archive TestBreakouts (absolute and
// relative symlinks pointing outside, ".." chains, hardlinks through
// symlinks, whiteouts of ".." and through symlinks), with the escape
// target a directory outside TARGET instead of /etc. A symlink in a parent
// directory is followed inside the root, as containerd does; names that
// are absolute or hold "..", and hardlinks to anything but a regular file,
// stay refused where containerd clamps or follows them.
func breakouts() []breakout {
	unbroken := fileIs("ETC/unbroken", "unbroken")
	one := func(f func(o, etc string) []ent) func(string, string) [][]ent {
		return func(o, etc string) [][]ent { return [][]ent{f(o, etc)} }
	}
	return []breakout{
		{name: "SymlinkAbsolute", layers: one(func(o, etc string) []ent {
			return withEtc(etc, symlink("localetc", o), file("localetc/unbroken", "unbroken"))
		}), check: all(unbroken, typeIs("localetc", os.ModeSymlink))},
		{name: "SymlinkUpAndOut", layers: one(func(o, etc string) []ent {
			return withEtc(etc, dir("dummy"), symlink("localetc", "/dummy/../"+etc), file("localetc/unbroken", "unbroken"))
		}), check: unbroken},
		{name: "SymlinkMultipleAbsolute", layers: one(func(o, etc string) []ent {
			return withEtc(etc, dir("dummy"), symlink("dummy/etc", o), symlink("localetc", "/dummy/etc"), file("dummy/etc/unbroken", "unbroken"))
		}), check: unbroken},
		{name: "SymlinkMultipleRelative", layers: one(func(o, etc string) []ent {
			return withEtc(etc, dir("dummy"), symlink("dummy/etc", o), symlink("localetc", "./dummy/etc"), file("localetc/unbroken", "unbroken"))
		}), check: unbroken},
		{name: "SymlinkRelativeOutOfRoot", layers: one(func(o, etc string) []ent {
			return withEtc(etc, symlink("localetc", strings.Repeat("../", 12)+etc), file("localetc/unbroken", "unbroken"))
		}), check: unbroken},
		{name: "SymlinkToDotDotChain", layers: one(func(o, etc string) []ent {
			return withEtc(etc, dir("a"), symlink("a/up", "../../../.."), file("a/up/a/up/escaped", "x"))
		}), check: fileIs("escaped", "x")},
		{name: "SymlinkEmptyFile", layers: one(func(o, etc string) []ent {
			return withEtc(etc, file(etc+"/emptied", "notempty"), symlink("localetc", o), file("localetc/emptied", ""))
		}), check: fileIs("ETC/emptied", "")},
		{name: "SymlinkDanglingOutside", layers: one(func(o, etc string) []ent {
			return []ent{symlink("localetc", o+"/new/dir"), file("localetc/unbroken", "unbroken")}
		}), check: fileIs("ETC/new/dir/unbroken", "unbroken")},
		{name: "SymlinkAcrossLayers", layers: func(o, etc string) [][]ent {
			return [][]ent{withEtc(etc, dir("d"), symlink("d/evil", o)), {dir("d/evil/sub"), file("d/evil/sub/unbroken", "unbroken")}}
		}, check: fileIs("ETC/sub/unbroken", "unbroken")},
		{name: "HardlinkRelative", layers: one(func(o, etc string) []ent {
			return withEtc(etc, dir("breakouts"), symlink("breakouts/d1", "../../"+etc), hardlink("breakouts/mypasswd", "breakouts/d1/passwd"))
		}), check: sameFile("breakouts/mypasswd", "ETC/passwd", true)},
		{name: "HardlinkDownAndOut", layers: one(func(o, etc string) []ent {
			return withEtc(etc, dir("breakouts"), dir("downandout"), symlink("breakouts/d1", "../downandout/../../"+etc),
				hardlink("breakouts/mypasswd", "breakouts/d1/passwd"))
		}), check: sameFile("breakouts/mypasswd", "ETC/passwd", true)},
		{name: "HardlinkAbsolute", layers: one(func(o, etc string) []ent {
			return withEtc(etc, symlink("localetc", o), hardlink("localpasswd", "localetc/passwd"))
		}), check: sameFile("localpasswd", "ETC/passwd", true)},
		{name: "HardlinkRelativeLong", layers: one(func(o, etc string) []ent {
			return withEtc(etc, symlink("localetc", "../../../../../../../"+etc), hardlink("localpasswd", "localetc/passwd"))
		}), check: sameFile("localpasswd", "ETC/passwd", true)},
		{name: "HardlinkRelativeUpAndOut", layers: one(func(o, etc string) []ent {
			return withEtc(etc, symlink("localetc", "upandout/../../../"+etc), hardlink("localpasswd", "localetc/passwd"))
		}), wantErr: ErrUnsafePath, wantMsg: "does not exist"},
		{name: "HardlinkDirectRelative", layers: one(func(o, etc string) []ent {
			return withEtc(etc, hardlink("localpasswd", "../../../../../"+etc+"/passwd"))
		}), wantErr: ErrUnsafePath, wantMsg: `".."`},
		{name: "HardlinkDirectAbsolute", layers: one(func(o, etc string) []ent {
			return withEtc(etc, hardlink("localpasswd", o+"/passwd"))
		}), wantErr: ErrUnsafePath, wantMsg: "absolute"},
		{name: "SymlinkParentDirectory", layers: one(func(o, etc string) []ent {
			return withEtc(etc, symlink("..", o), hardlink("localpasswd", etc+"/passwd"))
		}), wantErr: ErrUnsafePath, wantMsg: `".."`},
		{name: "SymlinkEmptyFilename", layers: one(func(o, etc string) []ent {
			return withEtc(etc, symlink("", o))
		}), wantErr: ErrUnsafePath, wantMsg: "empty name"},
		{name: "SymlinkParentRelative", layers: one(func(o, etc string) []ent {
			return withEtc(etc, symlink("localetc/sub/..", o))
		}), wantErr: ErrUnsafePath, wantMsg: `".."`},
		{name: "SymlinkOverrideDirectory", layers: func(o, etc string) [][]ent {
			return [][]ent{withEtc(etc, dir("localetc")), {symlink("localetc", o), hardlink("localetc/localpasswd", etc+"/passwd")}}
		}, check: all(typeIs("localetc", os.ModeSymlink), sameFile("ETC/localpasswd", "ETC/passwd", true))},
		{name: "SymlinkOverrideDirectoryRelative", layers: func(o, etc string) [][]ent {
			return [][]ent{withEtc(etc, dir("localetc")), {symlink("localetc", "../../"+etc), hardlink("localetc/localpasswd", etc+"/passwd")}}
		}, check: all(typeIs("localetc", os.ModeSymlink), sameFile("ETC/localpasswd", "ETC/passwd", true))},
		{name: "DirectoryOverrideSymlink", layers: func(o, etc string) [][]ent {
			return [][]ent{withEtc(etc, symlink("localetc", o)), {dir("localetc"), hardlink("localetc/localpasswd", etc+"/passwd")}}
		}, check: all(typeIs("localetc", os.ModeDir), sameFile("localetc/localpasswd", "ETC/passwd", true))},
		{name: "DirectoryOverrideSymlinkAndHardlink", layers: func(o, etc string) [][]ent {
			return [][]ent{withEtc(etc, symlink("localetc", etc), hardlink("localetc/localpasswd", etc+"/passwd")),
				{dir("localetc"), file("localetc/localpasswd", "different")}}
		}, check: all(sameFile("localetc/localpasswd", "ETC/passwd", false), sameFile("ETC/localpasswd", "ETC/passwd", true),
			fileIs("localetc/localpasswd", "different"))},
		{name: "WhiteoutRootParent", layers: one(func(o, etc string) []ent { return withEtc(etc, file(".wh...", "")) }),
			wantErr: ErrUnsafePath, wantMsg: "whiteout"},
		{name: "WhiteoutParent", layers: one(func(o, etc string) []ent { return withEtc(etc, file(etc+"/.wh...", "")) }),
			wantErr: ErrUnsafePath, wantMsg: "whiteout"},
		{name: "WhiteoutRoot", layers: one(func(o, etc string) []ent { return withEtc(etc, file(".wh..", "")) }),
			wantErr: ErrUnsafePath, wantMsg: "whiteout"},
		{name: "WhiteoutCurrentDirectory", layers: one(func(o, etc string) []ent { return withEtc(etc, file(etc+"/.wh..", "")) }),
			wantErr: ErrUnsafePath, wantMsg: "whiteout"},
		{name: "WhiteoutSymlink", layers: func(o, etc string) [][]ent {
			return [][]ent{withEtc(etc, symlink("localetc", o)), {whiteout("localetc")}}
		}, check: all(fileIs("ETC/passwd", "inside"), typeIs("localetc", 0))},
		{name: "WhiteoutSymlinkPath", layers: func(o, etc string) [][]ent {
			return [][]ent{withEtc(etc, file(etc+"/whitedout", "ahhhh whiteout"), symlink("localetc", o)), {whiteout("localetc/whitedout")}}
		}, check: all(fileIs("ETC/passwd", "inside"), typeIs("ETC/whitedout", 0))},
		{name: "OpaqueThroughSymlinkOut", layers: func(o, etc string) [][]ent {
			return [][]ent{withEtc(etc, symlink("localetc", o)), {opaque("localetc")}}
		}, check: all(typeIs("ETC/passwd", 0), typeIs("ETC", os.ModeDir))},
		{name: "WhiteoutDirectoryName", layers: one(func(o, etc string) []ent {
			return withEtc(etc, file(".wh.etc/somefile", "non-empty"))
		}), check: all(fileIs("ETC/passwd", "inside"), fileIs(".wh.etc/somefile", "non-empty"))},
		{name: "WhiteoutDeadSymlinkParent", layers: func(o, etc string) [][]ent {
			return [][]ent{withEtc(etc, symlink("localetc", o+"/dne")), {whiteout("localetc/passwd")}}
		}, check: fileIs("ETC/passwd", "inside")},
		{name: "WhiteoutRelativePath", layers: func(o, etc string) [][]ent {
			return [][]ent{withEtc(etc), {file("dne/../.wh.etc", "")}}
		}, wantErr: ErrUnsafePath, wantMsg: `".."`},
		{name: "HardlinkSymlinkBeforeCreateTarget", layers: one(func(o, etc string) []ent {
			return withEtc(etc, symlink("localpasswd", o+"/passwd"), hardlink("localpasswd-dup", "localpasswd"))
		}), wantErr: ErrUnsafePath, wantMsg: "not an existing regular file"},
		{name: "HardlinkSymlinkRelative", layers: one(func(o, etc string) []ent {
			return withEtc(etc, symlink("passwdlink", "../../../../../"+etc+"/passwd"), hardlink("localpasswd", "passwdlink"))
		}), wantErr: ErrUnsafePath, wantMsg: "not an existing regular file"},
		{name: "HardlinkSymlinkChmod", layers: one(func(o, etc string) []ent {
			return withEtc(etc, symlink(o+"/also-exists-outside-root", o+"/passwd"), hardlink("sketchylink", o+"/also-exists-outside-root"))
		}), wantErr: ErrUnsafePath, wantMsg: "absolute"},
	}
}

// TestBreakouts unpacks each case over a live tree. A refused case leaves
// the tree live and exact; an accepted one puts everything inside the root.
// Either way nothing beside TARGET changes: not the sentinel, not the
// outside directory the symlinks point at, which holds files of the same
// names.
func TestBreakouts(t *testing.T) {
	ctx := context.Background()
	for _, tc := range breakouts() {
		t.Run(tc.name, func(t *testing.T) {
			parent, target, outside := hostileDir(t, "outside/passwd", "outside/whitedout", "outside/emptied")
			good := imageOf(t, true, gzLayer(t, dir("etc"), file("etc/passwd", "root:x:0:0")))
			before := mustUnpack(t, good, target)
			state := outsideState(t, parent)
			etc := outside[1:]
			var layers []v1.Layer
			for _, l := range tc.layers(outside, etc) {
				layers = append(layers, gzLayer(t, l...))
			}
			img := imageOf(t, false, layers...)
			_, err := Unpack(ctx, img, target)
			if d := diffSnap(state, outsideState(t, parent)); d != "" {
				t.Errorf("outside TARGET changed (unpack error %v):\n%s", err, d)
			}
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("unpack: %v", err)
				}
				if drifts, err := Verify(ctx, img, target); err != nil || len(drifts) != 0 {
					t.Errorf("verify: %v %v", drifts, err)
				}
				tc.check(t, rootfs(target), etc)
				return
			}
			if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("unpack error = %v; want %v containing %q", err, tc.wantErr, tc.wantMsg)
			}
			if b, _ := os.Readlink(filepath.Join(target, "current")); filepath.Join(target, b) != before.Gen {
				t.Errorf("failed unpack switched current to %s", b)
			}
			if drifts, err := Verify(ctx, good, target); err != nil || len(drifts) != 0 {
				t.Errorf("previous tree not intact: %v %v", drifts, err)
			}
		})
	}
}
