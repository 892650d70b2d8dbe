package recipes_test

import (
	"io/fs"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// closureKiB sums the Installed-Size (KiB) of the installed packages in the
// recursive Depends/Pre-Depends closure of pkg, as hack/recipes-table.sh
// does: what `apt-get install --no-install-recommends pkg` puts on a
// machine. Alternatives that are not installed do not count.
func closureKiB(t *testing.T, pkg string) (kib int64, n int) {
	t.Helper()
	out, err := exec.Command("apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
		"--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances", pkg).Output()
	if err != nil {
		t.Fatalf("apt-cache depends %s: %v", pkg, err)
	}
	seen := map[string]bool{}
	for _, l := range strings.Split(string(out), "\n") {
		if l != "" && !strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "<") {
			seen[l] = true
		}
	}
	var names []string
	for p := range seen {
		names = append(names, p)
	}
	sort.Strings(names)
	q := exec.Command("dpkg-query", append([]string{"-W", "-f", "${db:Status-Abbrev} ${Installed-Size}\n"}, names...)...)
	out, _ = q.Output() // exits 1 when a name is unknown to dpkg; the rest still prints
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) == 2 && f[0] == "ii" {
			v, _ := strconv.ParseInt(f[1], 10, 64)
			kib += v
			n++
		}
	}
	if n == 0 {
		t.Fatalf("closure of %s: no installed package", pkg)
	}
	return kib, n
}

// treeSize returns the apparent size of the regular files and symlinks
// under dir, and the number of entries below it.
func treeSize(t *testing.T, dir string) (bytes int64, files int) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		files++
		if d.Type().IsRegular() || d.Type()&fs.ModeSymlink != 0 {
			info, err := d.Info()
			if err != nil {
				return err
			}
			bytes += info.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return bytes, files
}
