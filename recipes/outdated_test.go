package recipes_test

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/jailimg/jailimg/internal/testutil"
)

// outdatedJSON is what jailimg outdated --json prints.
type outdatedJSON struct {
	Packages int `json:"packages"`
	Outdated []struct {
		Name, Version, Newest string
		Security              bool
	} `json:"outdated"`
}

func (o outdatedJSON) lines() []string {
	var out []string
	for _, f := range o.Outdated {
		out = append(out, f.Name+" "+f.Version+" -> "+f.Newest)
	}
	sort.Strings(out)
	return out
}

// runOutdated runs jailimg outdated --json on src and returns its result
// and exit code, failing the test on an exit other than 0 or 1.
func runOutdated(t *testing.T, src string) (outdatedJSON, int) {
	t.Helper()
	r := jailimg(t, "outdated", "--json", src)
	var o outdatedJSON
	if r.code > 1 || json.Unmarshal([]byte(r.stdout), &o) != nil {
		t.Fatalf("jailimg outdated %s: exit %d\n%s\n%s", src, r.code, r.stdout, r.stderr)
	}
	return o, r.code
}

// aptNewest is what apt itself says of a package: its candidate version
// (apt-cache policy) and whether a security suite offers that version
// (apt-cache madison).
func aptNewest(t *testing.T, pkg string) (candidate string, security bool) {
	t.Helper()
	for _, line := range strings.Split(sh(t, "apt-cache", "policy", pkg), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Candidate: "); ok {
			candidate = v
		}
	}
	for _, line := range strings.Split(sh(t, "apt-cache", "madison", pkg), "\n") {
		f := strings.Split(line, "|")
		if len(f) == 3 && strings.TrimSpace(f[1]) == candidate && strings.Contains(f[2], "-security") {
			security = true
		}
	}
	return candidate, security
}

// newer reports whether Debian version a is newer than b, as dpkg says.
func newer(a, b string) bool {
	return exec.Command("dpkg", "--compare-versions", a, "gt", b).Run() == nil
}

// TestOutdatedHostFiles builds recipes/nginx.yaml from the host's files
// (dpkg: true) and asks jailimg outdated which of its packages apt's
// sources have newer versions of. The expectation is computed from apt and
// dpkg themselves: each package the jail records, at the host's installed
// version, against apt-cache policy's candidate (on a host like the
// issue's, libssl3 and libpcre2-8-0, from bookworm-security).
func TestOutdatedHostFiles(t *testing.T) {
	testutil.NeedRoot(t, "the host-file build reads the whole host")
	needPackages(t, "/usr/sbin/nginx", "nginx-light")
	out := build(t, "nginx")
	var want []string
	wantSecurity := map[string]bool{}
	for _, p := range recordedPackages(t, out) {
		installed := sh(t, "dpkg-query", "-W", "-f", "${Version}", p)
		candidate, sec := aptNewest(t, p)
		if newer(candidate, installed) {
			want = append(want, p+" "+installed+" -> "+candidate)
			wantSecurity[p] = sec
		}
	}
	sort.Strings(want)
	got, code := runOutdated(t, out)
	t.Logf("apt says behind: %v", want)
	if strings.Join(got.lines(), "\n") != strings.Join(want, "\n") {
		t.Errorf("jailimg outdated:\n%s\nwant (from apt-cache policy):\n%s", strings.Join(got.lines(), "\n"), strings.Join(want, "\n"))
	}
	for _, f := range got.Outdated {
		if f.Security != wantSecurity[f.Name] {
			t.Errorf("%s: security %v, apt-cache madison says %v", f.Name, f.Security, wantSecurity[f.Name])
		}
	}
	if wantCode := min(len(want), 1); code != wantCode {
		t.Errorf("exit %d, want %d", code, wantCode)
	}
}

// recordedPackages lists the packages a layout's jail records, by the names
// of its status.d files as jailimg inspect lists them.
func recordedPackages(t *testing.T, layoutDir string) []string {
	t.Helper()
	var inspect struct {
		Files []struct{ Path string }
	}
	if err := json.Unmarshal([]byte(mustJailimg(t, "inspect", "--json", layoutDir)), &inspect); err != nil {
		t.Fatal(err)
	}
	var pkgs []string
	for _, f := range inspect.Files {
		if name, ok := strings.CutPrefix(f.Path, "/var/lib/dpkg/status.d/"); ok {
			name, _, _ = strings.Cut(name, ":")
			pkgs = append(pkgs, name)
		}
	}
	if len(pkgs) == 0 {
		t.Fatalf("%s records no packages", layoutDir)
	}
	return pkgs
}

// TestOutdatedPinned pins nginx-light to the oldest version apt's sources
// offer (Debian 12 has the point release's and the security update's):
// the jail builds, and jailimg outdated names nginx-light with both
// versions and exits 1. Unpinning the recipe makes its lock stale (an
// error naming the change); jailimg lock --update and a rebuild make
// jailimg outdated exit 0.
func TestOutdatedPinned(t *testing.T) {
	testutil.NeedRoot(t, "the package cache")
	testutil.NeedTool(t, "apt-get")
	var versions []string
	for _, line := range strings.Split(sh(t, "apt-cache", "madison", "nginx-light"), "\n") {
		if f := strings.Split(line, "|"); len(f) == 3 && !slices.Contains(versions, strings.TrimSpace(f[1])) {
			versions = append(versions, strings.TrimSpace(f[1]))
		}
	}
	sort.Slice(versions, func(i, j int) bool { return newer(versions[j], versions[i]) })
	if len(versions) < 2 {
		testutil.Skipf(t, "apt's sources offer one version of nginx-light (%v): nothing older to pin", versions)
	}
	oldest, newest := versions[0], versions[len(versions)-1]
	e := newPkgEnv(t)
	recipe := e.writeRecipe(t, "nginx-old", "nginx-light="+oldest, "base-files")
	e.must(t, "-q", "lock", recipe)
	out := filepath.Join(t.TempDir(), "nginx-old")
	e.must(t, "-q", "build", "--cache", e.cache, "-o", out, recipe)
	got, code := runOutdated(t, out)
	if code != 1 || !slices.Contains(got.lines(), "nginx-light "+oldest+" -> "+newest) {
		t.Errorf("outdated on nginx-light=%s: exit %d, %v; want exit 1 naming nginx-light %s -> %s", oldest, code, got.lines(), oldest, newest)
	}

	e.writeRecipe(t, "nginx-old", "nginx-light", "base-files")
	r := e.run(t, "lock", recipe)
	if r.code != 3 || !strings.Contains(r.stderr, "nginx-light (locked as nginx-light="+oldest+")") {
		t.Errorf("lock after unpinning: exit %d, %q; want exit 3 naming the change", r.code, r.stderr)
	}
	r = e.run(t, "build", "--cache", e.cache, "-o", out, recipe)
	if r.code != 3 || !strings.Contains(r.stderr, "no longer matches the recipe") {
		t.Errorf("build with a stale lock: exit %d, %q; want exit 3", r.code, r.stderr)
	}
	e.must(t, "-q", "lock", "--update", recipe)
	e.must(t, "-q", "build", "--cache", e.cache, "-o", out, recipe)
	if got, code := runOutdated(t, out); code != 0 || len(got.Outdated) != 0 {
		t.Errorf("outdated after lock --update and a rebuild: exit %d, %v; want 0", code, got.lines())
	}
}
