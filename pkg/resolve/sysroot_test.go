package resolve

import (
	"context"
	"debug/elf"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const (
	mdir   = "/usr/lib/x86_64-linux-gnu"
	interp = "/lib64/ld-linux-x86-64.so.2"
	ldso   = mdir + "/ld-linux-x86-64.so.2"
	libc   = mdir + "/libc.so.6"
)

// debianBase is a Debian 12 style usrmerged root with a loader and libc.
func debianBase() tree {
	return tree{
		"/lib":                                link("usr/lib"),
		"/lib64":                              link("usr/lib64"),
		"/bin":                                link("usr/bin"),
		"/usr/lib64/ld-linux-x86-64.so.2":     link("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
		ldso:                                  elfSpec{soname: "ld-linux-x86-64.so.2"},
		libc:                                  elfSpec{soname: "libc.so.6", needed: []string{"ld-linux-x86-64.so.2"}},
		"/usr/lib/x86_64-linux-gnu/libz.so.1": link("libz.so.1.2.13"),
		mdir + "/libz.so.1.2.13":              elfSpec{soname: "libz.so.1", needed: []string{"libc.so.6"}},
	}
}

// app returns an executable using the base's interpreter.
func app(needed ...string) elfSpec {
	return elfSpec{typ: elf.ET_DYN, interp: interp, needed: needed}
}

func with(base tree, extra tree) tree {
	out := maps.Clone(base)
	maps.Copy(out, extra)
	return out
}

var baseLinks = []Link{
	{"/lib", "usr/lib"},
	{"/lib64", "usr/lib64"},
	{"/usr/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"},
}

// sysrootCase is one generated root, a request and what Resolve must return.
type sysrootCase struct {
	name      string
	tree      tree
	req       Request
	opts      []Option
	files     []string // want Closure.Files exactly
	links     []Link   // want Closure.Links exactly, if not nil
	missing   []missLib
	errIs     error  // want errors.Is(err, errIs)
	errSubstr string // want err to contain this
}

// searchCases cover the search order and dynamic string tokens.
func searchCases() []sysrootCase {
	return []sysrootCase{{
		name:  "interpreter and libraries through /lib and /lib64 symlinks",
		tree:  with(debianBase(), tree{"/usr/bin/app": app("libz.so.1", "libc.so.6")}),
		req:   Request{Binaries: []string{"/bin/app"}},
		files: []string{"/usr/bin/app", ldso, libc, mdir + "/libz.so.1.2.13"},
		links: append(slices.Clone(baseLinks), Link{"/bin", "usr/bin"}, Link{mdir + "/libz.so.1", "libz.so.1.2.13"}),
	}, {
		name: "DT_RPATH is inherited by dependencies",
		tree: with(debianBase(), tree{
			"/usr/bin/app":        elfSpec{interp: interp, needed: []string{"liba.so"}, rpath: "/opt/r"},
			"/opt/r/liba.so":      elfSpec{needed: []string{"libb.so"}},
			"/opt/r/libb.so":      elfSpec{},
			mdir + "/libb.so":     elfSpec{},
			"/opt/r/libunused.so": elfSpec{},
		}),
		req:   Request{Binaries: []string{"/usr/bin/app"}},
		files: []string{"/opt/r/liba.so", "/opt/r/libb.so", "/usr/bin/app", ldso},
	}, {
		name: "DT_RUNPATH is not inherited",
		tree: with(debianBase(), tree{
			"/usr/bin/app":    elfSpec{interp: interp, needed: []string{"liba.so"}, runpath: "/opt/r"},
			"/opt/r/liba.so":  elfSpec{needed: []string{"libb.so"}},
			"/opt/r/libb.so":  elfSpec{},
			mdir + "/libb.so": elfSpec{},
		}),
		req:   Request{Binaries: []string{"/usr/bin/app"}},
		files: []string{"/opt/r/liba.so", "/usr/bin/app", ldso, mdir + "/libb.so"},
	}, {
		name: "DT_RUNPATH not inherited: missing when only there",
		tree: with(debianBase(), tree{
			"/usr/bin/app":   elfSpec{interp: interp, needed: []string{"liba.so"}, runpath: "/opt/r"},
			"/opt/r/liba.so": elfSpec{needed: []string{"libb.so"}},
			"/opt/r/libb.so": elfSpec{},
		}),
		req:       Request{Binaries: []string{"/usr/bin/app"}},
		files:     []string{"/opt/r/liba.so", "/usr/bin/app", ldso},
		missing:   []missLib{{"libb.so", "/opt/r/liba.so"}},
		errSubstr: "resolving libb.so for /opt/r/liba.so: not found",
	}, {
		name: "DT_RUNPATH disables DT_RPATH of the same object",
		tree: with(debianBase(), tree{
			"/usr/bin/app":    elfSpec{interp: interp, needed: []string{"liba.so"}, rpath: "/opt/r", runpath: "/opt/rp"},
			"/opt/r/liba.so":  elfSpec{},
			"/opt/rp/liba.so": elfSpec{},
		}),
		req:   Request{Binaries: []string{"/usr/bin/app"}},
		files: []string{"/opt/rp/liba.so", "/usr/bin/app", ldso},
	}, {
		name: "DT_RUNPATH of a dependency disables the inherited DT_RPATH",
		tree: with(debianBase(), tree{
			"/usr/bin/app":   elfSpec{interp: interp, needed: []string{"liba.so"}, rpath: "/opt/r"},
			"/opt/r/liba.so": elfSpec{needed: []string{"libb.so"}, runpath: "/nowhere"},
			"/opt/r/libb.so": elfSpec{},
		}),
		req:     Request{Binaries: []string{"/usr/bin/app"}},
		files:   []string{"/opt/r/liba.so", "/usr/bin/app", ldso},
		missing: []missLib{{"libb.so", "/opt/r/liba.so"}},
	}, {
		name: "$ORIGIN and ${ORIGIN} from the real path of the program",
		tree: with(debianBase(), tree{
			"/usr/bin/app":          link("../../opt/app/bin/app"),
			"/opt/app/bin/app":      elfSpec{interp: interp, needed: []string{"liba.so", "libb.so"}, runpath: "$ORIGIN/../lib:${ORIGIN}/../lib2"},
			"/opt/app/lib/liba.so":  elfSpec{},
			"/opt/app/lib2/libb.so": elfSpec{},
		}),
		req:   Request{Binaries: []string{"/usr/bin/app"}},
		files: []string{"/opt/app/bin/app", "/opt/app/lib/liba.so", "/opt/app/lib2/libb.so", ldso},
		links: append(slices.Clone(baseLinks), Link{"/usr/bin/app", "../../opt/app/bin/app"}),
	}, {
		name: "$ORIGIN of a library is the directory it was found in",
		tree: with(debianBase(), tree{
			"/usr/bin/app":       elfSpec{interp: interp, needed: []string{"liba.so"}, rpath: "/opt/x"},
			"/opt/x":             link("/opt/y"),
			"/opt/y/liba.so":     elfSpec{needed: []string{"libb.so"}, runpath: "$ORIGIN/sub"},
			"/opt/y/sub/libb.so": elfSpec{},
		}),
		req:   Request{Binaries: []string{"/usr/bin/app"}},
		files: []string{"/opt/y/liba.so", "/opt/y/sub/libb.so", "/usr/bin/app", ldso},
		links: append(slices.Clone(baseLinks), Link{"/opt/x", "/opt/y"}),
	}, {
		name: "$LIB and $PLATFORM",
		tree: with(debianBase(), tree{
			"/usr/bin/app": elfSpec{interp: interp, needed: []string{"libp.so"}, rpath: "/opt/$LIB/${PLATFORM}"},
			"/opt/lib/x86_64-linux-gnu/x86_64/libp.so": elfSpec{},
		}),
		req:   Request{Binaries: []string{"/usr/bin/app"}},
		files: []string{"/opt/lib/x86_64-linux-gnu/x86_64/libp.so", "/usr/bin/app", ldso},
	}}
}

func TestSysroot(t *testing.T) {
	tests := append(searchCases(), moreSysrootCases()...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := mkTree(t, tc.tree)
			r, err := New(os.DirFS(root), tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			cl, err := r.Resolve(context.Background(), tc.req)
			switch {
			case tc.errIs != nil:
				if !errors.Is(err, tc.errIs) {
					t.Fatalf("err = %v, want %v", err, tc.errIs)
				}
			case tc.errSubstr != "":
				if err == nil || !strings.Contains(err.Error(), tc.errSubstr) {
					t.Fatalf("err = %v, want containing %q", err, tc.errSubstr)
				}
			case len(tc.missing) > 0:
				var me *MissingLibError
				if !errors.As(err, &me) || me.Soname != tc.missing[0].Soname || me.NeededBy != tc.missing[0].NeededBy {
					t.Fatalf("err = %v, want MissingLibError for %v", err, tc.missing[0])
				}
			case err != nil:
				t.Fatalf("Resolve: %v", err)
			}
			if cl == nil {
				t.Fatal("nil Closure")
			}
			if tc.files != nil && !slices.Equal(cl.Files, slices.Sorted(slices.Values(tc.files))) {
				t.Errorf("Files =\n%q\nwant\n%q", cl.Files, tc.files)
			}
			if tc.links != nil {
				want := slices.Clone(tc.links)
				slices.SortFunc(want, func(a, b Link) int { return strings.Compare(a.Path, b.Path) })
				if !slices.Equal(cl.Links, want) {
					t.Errorf("Links =\n%q\nwant\n%q", cl.Links, want)
				}
			}
			if !slices.Equal(missLibs(cl.Missing), tc.missing) {
				t.Errorf("Missing = %v, want %v", cl.Missing, tc.missing)
			}
			assertInsideRoot(t, root, cl)
		})
	}
}

// assertInsideRoot checks that every file is a regular file reached through
// real directories of root, and every link a symlink with real parents.
func assertInsideRoot(t *testing.T, root string, cl *Closure) {
	t.Helper()
	for _, f := range cl.Files {
		full := filepath.Join(root, f)
		if real, err := filepath.EvalSymlinks(full); err != nil || real != full {
			t.Errorf("file %s: real path %q, %v", f, real, err)
		} else if fi, err := os.Lstat(full); err != nil || !fi.Mode().IsRegular() {
			t.Errorf("file %s: not a regular file in root", f)
		}
	}
	for _, l := range cl.Links {
		full := filepath.Join(root, l.Path)
		if real, err := filepath.EvalSymlinks(filepath.Dir(full)); err != nil || real != filepath.Dir(full) {
			t.Errorf("link %s: parent not real: %q, %v", l.Path, real, err)
		}
		if target, err := os.Readlink(full); err != nil || target != l.Target {
			t.Errorf("link %s: target %q, %v; want %q", l.Path, target, err, l.Target)
		}
	}
}

// missLib is a MissingLib without the places searched.
type missLib struct{ Soname, NeededBy string }

func missLibs(ms []MissingLib) []missLib {
	var out []missLib
	for _, m := range ms {
		out = append(out, missLib{m.Soname, m.NeededBy})
	}
	return out
}
