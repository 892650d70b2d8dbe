package recipes_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/jailimg/jailimg/internal/testutil"
	"github.com/jailimg/jailimg/pkg/lock"
)

// pkgEnv is what the package tests share: a copy of recipes/ to lock and
// build in, the package cache, and the jailimg binary.
type pkgEnv struct {
	dir   string // copy of recipes/
	cache string
}

func newPkgEnv(t *testing.T) *pkgEnv {
	t.Helper()
	e := &pkgEnv{dir: filepath.Join(t.TempDir(), "recipes"), cache: filepath.Join(t.TempDir(), "cache")}
	sh(t, "cp", "-a", ".", e.dir)
	return e
}

// run runs jailimg in the recipes copy.
func (e *pkgEnv) run(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(jailimgBin, args...)
	cmd.Dir = e.dir
	var r result
	r.stdout, r.stderr, r.code = testutil.Output(t, cmd)
	return r
}

func (e *pkgEnv) must(t *testing.T, args ...string) string {
	t.Helper()
	r := e.run(t, args...)
	if r.code != 0 {
		t.Fatalf("jailimg %s: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	return strings.TrimSpace(r.stdout)
}

// writeRecipe writes recipes/nginx-pkg.yaml's copy as NAME.yaml with its
// packages: replaced by pkgs.
func (e *pkgEnv) writeRecipe(t *testing.T, name string, pkgs ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.dir, "nginx-pkg.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	start := strings.Index(s, "packages:\n")
	end := strings.Index(s, "binaries:")
	s = s[:start] + "packages: [" + strings.Join(pkgs, ", ") + "]\n" + s[end:]
	s = strings.Replace(s, "name: nginx-pkg", "name: "+name, 1)
	p := filepath.Join(e.dir, name+".yaml")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPackages locks recipes/nginx-pkg.yaml and builds it three times, to
// one manifest digest: normally; offline in a mount namespace where the
// host's /usr/sbin, /usr/lib/x86_64-linux-gnu and /var/lib/dpkg are empty
// tmpfs mounts and there is no network; offline inside a second machine, a
// fresh Debian 12 made by mmdebstrap, from a copy of the cache. The jail
// then serves a page through jailimg run, its SBOM fetched back from a
// registry passes syft convert, and a .deb changed by one byte is refused.
func TestPackages(t *testing.T) {
	testutil.NeedRoot(t, "mount namespaces, chroot, jailimg run")
	testutil.NeedTool(t, "apt-get")
	testutil.NeedTool(t, "mmdebstrap")
	testutil.NeedTool(t, "syft")
	e := newPkgEnv(t)
	os.Remove(filepath.Join(e.dir, "nginx-pkg.lock.json")) // lock afresh from apt's sources now
	if out := e.must(t, "-q", "lock", "nginx-pkg.yaml"); out != "nginx-pkg.lock.json" {
		t.Fatalf("jailimg lock printed %q", out)
	}
	l, err := lock.Read(filepath.Join(e.dir, "nginx-pkg.lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "nginx-pkg")
	digest := e.must(t, "-q", "build", "--cache", e.cache, "-o", out, "nginx-pkg.yaml")

	t.Run("offline, host hidden", func(t *testing.T) {
		if got := hiddenHostBuild(t, e); got != digest {
			t.Errorf("offline build with the host hidden: %s, want %s", got, digest)
		}
	})
	t.Run("second machine", func(t *testing.T) {
		if got := secondMachineBuild(t, e); got != digest {
			t.Errorf("offline build in a fresh Debian 12: %s, want %s", got, digest)
		}
	})
	t.Run("serves", func(t *testing.T) { servePage(t, out) })
	t.Run("sbom", func(t *testing.T) { sbomFromRegistry(t, out, digest, l) })
	t.Run("tampered", func(t *testing.T) { tamperedDeb(t, e, l) })
}

// hiddenHostBuild builds nginx-pkg.yaml --offline from e's cache with the
// host's binaries, libraries and package database hidden and no network,
// after checking that nothing dynamically linked can run there.
func hiddenHostBuild(t *testing.T, e *pkgEnv) string {
	t.Helper()
	hide := "/usr/sbin,/usr/lib/x86_64-linux-gnu,/var/lib/dpkg"
	hidden := func(args ...string) result {
		cmd := exec.Command(testutil.StaticProgram(t, "./testdata/hidehost"), append([]string{hide}, args...)...)
		cmd.Dir = e.dir
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWNET}
		var r result
		r.stdout, r.stderr, r.code = testutil.Output(t, cmd)
		return r
	}
	if r := hidden("/usr/bin/apt-get", "--version"); r.code == 0 {
		t.Fatalf("apt-get runs with the host hidden: the namespace hides nothing\n%s", r.stdout)
	}
	out := filepath.Join(t.TempDir(), "nginx-pkg")
	r := hidden(jailimgBin, "-q", "build", "--offline", "--cache", e.cache, "-o", out, "nginx-pkg.yaml")
	if r.code != 0 {
		t.Fatalf("offline build with the host hidden: exit %d\n%s", r.code, r.stderr)
	}
	return strings.TrimSpace(r.stdout)
}

// secondMachineBuild makes a fresh Debian 12 with mmdebstrap, copies into
// it the jailimg binary, the recipes and the cached .deb files (not the
// extracted roots), and builds there offline, without network.
func secondMachineBuild(t *testing.T, e *pkgEnv) string {
	t.Helper()
	machine := filepath.Join(t.TempDir(), "debian12")
	cmd := exec.Command("mmdebstrap", "--quiet", "--variant=essential", "bookworm", machine)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mmdebstrap: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(machine, "usr/sbin/nginx")); err == nil {
		t.Fatal("the second machine has nginx installed")
	}
	sh(t, "cp", jailimgBin, filepath.Join(machine, "jailimg"))
	sh(t, "cp", "-a", e.dir, filepath.Join(machine, "recipes"))
	sh(t, "mkdir", "-p", filepath.Join(machine, "cache"))
	sh(t, "cp", "-a", filepath.Join(e.cache, "debs"), filepath.Join(machine, "cache/debs"))
	cmd = exec.Command("/jailimg", "-q", "build", "--offline", "--cache", "/cache", "-o", "/out/nginx-pkg", "/recipes/nginx-pkg.yaml")
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: machine, Cloneflags: syscall.CLONE_NEWNET}
	cmd.Dir = "/"
	stdout, stderr, code := testutil.Output(t, cmd)
	if code != 0 {
		t.Fatalf("build in the second machine: exit %d\n%s", code, stderr)
	}
	return strings.TrimSpace(stdout)
}

// servePage unpacks the image onto a partition with `jailimg unpack
// --device`, which leaves it read-only, and has its nginx answer through a
// plain `jailimg run`, which mounts what the recipe's run: asks.
func servePage(t *testing.T, layoutDir string) {
	target := filepath.Join(t.TempDir(), "nginx-pkg")
	unpackDevice(t, partition(t), layoutDir, target)
	s := start(t, "--state", filepath.Join(t.TempDir(), "state"), target)
	if err := s.waitReady(8080); err != nil {
		t.Fatal(err)
	}
	if page := curl(t, 8080, "pkg"); !strings.Contains(page, "<title>") {
		t.Errorf("nginx from packages answered %q", page)
	}
	if code := s.stop(t); code != 0 {
		t.Errorf("jailimg run exited %d after SIGTERM\n%s", code, s.stderr.String())
	}
}

// tamperedDeb builds from a copy of the cache in which the .deb of nginx
// differs by one byte: the build must fail naming the package, and write
// nothing.
func tamperedDeb(t *testing.T, e *pkgEnv, l *lock.Lock) {
	cache := filepath.Join(t.TempDir(), "cache")
	sh(t, "cp", "-a", e.cache, cache)
	i := slices.IndexFunc(l.Packages, func(p lock.Package) bool { return p.Name == "nginx" })
	if i < 0 {
		t.Fatalf("nginx is not in the lock: %+v", l.Packages)
	}
	deb := filepath.Join(cache, "debs", l.Packages[i].SHA256+".deb")
	b, err := os.ReadFile(deb)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x01
	if err := os.WriteFile(deb, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "nginx-pkg")
	r := e.run(t, "build", "--offline", "--cache", cache, "-o", out, "nginx-pkg.yaml")
	want := "nginx=" + l.Packages[i].Version
	if r.code != 3 || !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "the lock says") {
		t.Errorf("build from a changed .deb: exit %d, stderr %q; want exit 3 naming %s", r.code, r.stderr, want)
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("the refused build wrote %s", out)
	}
}

// syftDoc is what syft convert -o syft-json writes, in part.
type syftDoc struct {
	Artifacts []struct {
		Name, Version, PURL string
	}
}

// syftConvert runs syft convert on an SPDX document and returns its packages.
func syftConvert(t *testing.T, spdx []byte) syftDoc {
	t.Helper()
	f := filepath.Join(t.TempDir(), "sbom.spdx.json")
	if err := os.WriteFile(f, spdx, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("syft", "convert", f, "-q", "-o", "syft-json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("syft convert: %v\n%s", err, stderr.String())
	}
	var doc syftDoc
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatalf("syft convert's output: %v", err)
	}
	return doc
}
