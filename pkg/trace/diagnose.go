package trace

import "path"

// Diagnosis returns what a command tried and could not get: the opens and
// execs that failed with ENOENT or ENOTDIR (without the loader's, dlopen's
// and the shell's search-path probing, nor paths found later), then the
// opens and execs refused with EACCES or EPERM. First failure per path, in
// call order. It is what `jailimg trace --root` prints for a jail.
func (res *Result) Diagnosis() []Record {
	out := misses(res, nil)
	seen := map[string]bool{}
	for _, r := range res.Failed {
		if (r.Kind == Open || r.Kind == Exec) && (r.Errno == "EACCES" || r.Errno == "EPERM") && !seen[r.Path] && !pseudo(r.Path) {
			seen[r.Path] = true
			out = append(out, r)
		}
	}
	return out
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
