package trace

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/jailimg/jailimg/pkg/resolve"
)

// Diagnosis is what a command tried and could not get.
type Diagnosis struct {
	// Missing are the opens and execs that failed with ENOENT or ENOTDIR,
	// without the loader's, dlopen's and the shell's search-path probing
	// and without paths found later: first failure per path, in call order.
	Missing []Record `json:"missing"`
	// Libraries are the shared objects looked for and found nowhere.
	Libraries []LibraryMiss `json:"libraries"`
	// Denied are the opens and execs refused with EACCES or EPERM, first
	// failure per path, in call order.
	Denied []Record `json:"denied"`
}

// LibraryMiss is a shared object the loader or dlopen looked for, in every
// directory of its search path, and did not find.
type LibraryMiss struct {
	// Soname is the name looked for ("libsqlite3.so.0").
	Soname string `json:"soname"`
	// NeededBy is the object whose DT_NEEDED names it (an interpreter's
	// extension module, a plugin, a library), "" when the caller asked
	// dlopen for the name itself.
	NeededBy string `json:"neededBy,omitempty"`
	// Exe is the program that was loading it.
	Exe string `json:"exe"`
	// Searched are the directories probed, in order.
	Searched []string `json:"searched"`
}

// String describes the miss in one line: "libsqlite3.so.0 (needed by
// MODULE, loaded by EXE; searched DIR, DIR)".
func (l LibraryMiss) String() string {
	by := "dlopen()ed by " + l.Exe
	if l.NeededBy != "" {
		by = "needed by " + l.NeededBy + ", loaded by " + l.Exe
	}
	return fmt.Sprintf("%s (%s; searched %s)", l.Soname, by, strings.Join(l.Searched, ", "))
}

// Diagnose returns what the command tried and could not get. fsys is the
// root it ran in (os.DirFS of a jail's rootfs, or of "/"); it must
// implement fs.ReadLinkFS. Each missing shared object is attributed to the
// object that needed it as package resolve would, over the objects the
// command opened: "libsqlite3.so.0, needed by
// .../lib-dynload/_sqlite3....so", not a list of the paths the loader
// probed. It is what `jailimg trace --root` prints for a jail.
func (res *Result) Diagnose(ctx context.Context, fsys fs.FS) (*Diagnosis, error) {
	r, err := resolve.New(fsys)
	if err != nil {
		return nil, err
	}
	libs, err := res.missingLibraries(ctx, r)
	if err != nil {
		return nil, err
	}
	d := &Diagnosis{Libraries: libs}
	for _, r := range misses(res, nil) {
		if !sharedObjectName(r.Path) {
			d.Missing = append(d.Missing, r)
		}
	}
	seen := map[string]bool{}
	for _, r := range res.Failed {
		if (r.Kind == Open || r.Kind == Exec) && (r.Errno == "EACCES" || r.Errno == "EPERM") && !seen[r.Path] && !pseudo(r.Path) {
			seen[r.Path] = true
			d.Denied = append(d.Denied, r)
		}
	}
	return d, nil
}

// missingLibraries groups the shared-object opens that found nothing, by
// name, when the name was found nowhere, and names the object needing each.
func (res *Result) missingLibraries(ctx context.Context, r *resolve.Resolver) ([]LibraryMiss, error) {
	foundBase := map[string]bool{}
	for _, r := range res.Accessed {
		foundBase[path.Base(r.Path)] = true
	}
	var out []LibraryMiss
	index := map[string]int{}
	for _, r := range res.Missing {
		name := path.Base(r.Path)
		if r.Kind != Open || !sharedObjectName(r.Path) || foundBase[name] || loaderState(r.Path) {
			continue
		}
		i, ok := index[name]
		if !ok {
			i, index[name] = len(out), len(out)
			out = append(out, LibraryMiss{Soname: name, Exe: r.Exe})
		}
		if dir := path.Dir(r.Path); !slices.Contains(out[i].Searched, dir) {
			out[i].Searched = append(out[i].Searched, dir)
		}
	}
	for i := range out {
		out[i].Searched = slices.DeleteFunc(out[i].Searched, func(d string) bool { return legacySubdir(d, out[i].Searched) })
	}
	if len(out) == 0 {
		return nil, nil
	}
	needed, err := neededBy(ctx, r, res)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].NeededBy = needed[out[i].Soname]
	}
	return out, nil
}

// legacySubdirs are the subdirectory names the loader appends to each
// directory of its search path when there is no ld.so.cache: "tls" and
// the platform names.
var legacySubdirs = map[string]bool{"tls": true, "x86_64": true, "haswell": true, "xeon_phi": true, "i686": true, "i586": true}

// legacySubdir reports whether dir is another searched directory with only
// legacy subdirectory names after it: a probe not worth naming.
func legacySubdir(dir string, searched []string) bool {
	for _, s := range searched {
		rest, ok := strings.CutPrefix(dir, s+"/")
		if !ok || s == "/" {
			continue
		}
		if !slices.ContainsFunc(strings.Split(rest, "/"), func(c string) bool { return !legacySubdirs[c] }) {
			return true
		}
	}
	return false
}

// neededBy resolves, with r, the closure of the programs executed and of
// the shared objects opened, and returns which object needed each library
// that closure misses.
func neededBy(ctx context.Context, r *resolve.Resolver, res *Result) (map[string]string, error) {
	var bins, objs []string
	seen := map[string]bool{}
	for _, rec := range res.Accessed {
		p := rec.Path
		switch {
		case seen[p] || pseudo(p):
			continue
		case rec.Kind == Exec:
			bins = append(bins, p)
		case rec.Kind == Open && !rec.Write && sharedObjectName(p):
			objs = append(objs, p)
		default:
			continue
		}
		seen[p] = true
	}
	cl, err := r.Resolve(ctx, resolve.Request{Binaries: bins, Libraries: objs})
	if cl == nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	out := map[string]string{}
	for _, m := range cl.Missing {
		if _, ok := out[m.Soname]; !ok && m.NeededBy != resolve.NeededByRequest {
			out[m.Soname] = m.NeededBy
		}
	}
	return out, nil
}

// misses filters res.Missing: search-path probing (a shared-object name
// found elsewhere or in known, a program found further down PATH), paths
// found later, /proc and /sys and loader state go; the first failure per
// path stays.
func misses(res *Result, known map[string]bool) []Record {
	found := map[string]bool{}
	foundBase := map[string]bool{}
	for _, r := range res.Accessed {
		found[r.Path] = true
		foundBase[path.Base(r.Path)] = true
	}
	for p := range known {
		foundBase[path.Base(p)] = true
	}
	var out []Record
	seen := map[string]bool{}
	for _, r := range res.Missing {
		switch {
		case seen[r.Path] || found[r.Path]:
		case pseudo(r.Path) && path.Dir(r.Path) != "/dev":
		case loaderState(r.Path):
		case sharedObjectName(r.Path) && foundBase[path.Base(r.Path)]:
		case r.Kind == Exec && foundBase[path.Base(r.Path)]:
		default:
			out = append(out, r)
		}
		seen[r.Path] = true
	}
	return out
}
