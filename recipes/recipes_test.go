package recipes_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jailimg/jailimg/internal/runtest"
)

// recipeCase is one sample recipe and how to prove it works.
type recipeCase struct {
	name     string   // recipes/NAME.yaml
	bin      string   // host file the build needs; missing means install pkgs
	pkgs     []string // Debian packages to install
	closure  string   // Debian package whose dependency closure the jail replaces
	owner    string   // Debian package of bin, recorded in the jail for scanners
	port     int
	uid, gid uint32
	query    func(t *testing.T, port int) string // ask with the real client
	want     string                              // in the answer
	findings []string                            // `jailimg check` output lines, "" when clean
	exit     int                                 // jailimg run's status after SIGTERM
	// minRatio is how many times smaller than the closure the compressed
	// image must be: 10, except where the closure cannot be beaten (why).
	minRatio float64
	why      string
}

// curl fetches / over HTTP.
func curl(t *testing.T, port int) string {
	return sh(t, "curl", "-sS", "-f", fmt.Sprintf("http://127.0.0.1:%d/", port))
}

// dig asks for www.jail.test's A record.
func dig(t *testing.T, port int) string {
	return sh(t, "dig", "+short", "+tries=1", "@127.0.0.1", "-p", fmt.Sprint(port), "www.jail.test", "A")
}

var cases = []recipeCase{
	{name: "nginx", owner: "nginx", bin: "/usr/sbin/nginx", pkgs: []string{"nginx-light"}, closure: "nginx-light",
		port: 8080, uid: 33, gid: 33, query: curl, want: "<title>", minRatio: 10},
	{name: "apache2", owner: "apache2-bin", bin: "/usr/sbin/apache2", pkgs: []string{"apache2"}, closure: "apache2",
		port: 8081, uid: 33, gid: 33, query: curl, want: "apache2 in a jail", minRatio: 10},
	{name: "lighttpd", owner: "lighttpd", bin: "/usr/sbin/lighttpd", pkgs: []string{"lighttpd"}, closure: "lighttpd",
		port: 8082, uid: 33, gid: 33, query: curl, want: "lighttpd in a jail", minRatio: 10},
	{name: "bind9", owner: "bind9", bin: "/usr/sbin/named", pkgs: []string{"bind9"}, closure: "bind9",
		port: 5353, uid: 104, gid: 107, query: dig, want: "192.0.2.53",
		minRatio: 5, why: "named needs libxml2, which needs ICU's 31 MB data library"},
	{name: "unbound", owner: "unbound", bin: "/usr/sbin/unbound", pkgs: []string{"unbound"}, closure: "unbound",
		port: 5354, uid: 103, gid: 106, query: dig, want: "192.0.2.54", minRatio: 10},
	{name: "nsd", owner: "nsd", bin: "/usr/sbin/nsd", pkgs: []string{"nsd"}, closure: "nsd",
		port: 5355, uid: 105, gid: 108, query: dig, want: "192.0.2.55", minRatio: 10},
	{name: "busybox", owner: "busybox-static", bin: "/bin/busybox", pkgs: []string{"busybox-static"}, closure: "busybox-static",
		port: 8083, uid: 1000, gid: 1000, query: curl, want: "busybox in a jail",
		findings: []string{
			"interpreter\t/usr/bin/busybox\tshell, interpreter or compiler (executable)\t(accepted)",
			"interpreter\t/usr/bin/sh\tshell, interpreter or compiler (symlink to busybox)\t(accepted)",
		},
		exit:     143, // busybox httpd does not catch SIGTERM
		minRatio: 1.5, why: "busybox-static is one static binary with no dependencies: the jail is the package"},
}

// TestRecipes builds, unpacks, runs, queries, audits and stops every sample
// recipe in turn.
func TestRecipes(t *testing.T) {
	runtest.NeedRoot(t, "jailimg run chroots; the jails are loop-mounted")
	for _, tool := range []string{"curl", "dig", "mkfs.ext4", "losetup", "apt-cache", "dpkg-query", "syft"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing; hack/deps.sh installs it", tool)
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { testRecipe(t, c) })
	}
}

func testRecipe(t *testing.T, c recipeCase) {
	needPackages(t, c.bin, c.pkgs...)
	out := build(t, c.name)

	mnt := loopMount(t)
	target := filepath.Join(mnt, c.name)
	b := unpackOnto(t, out, target)
	remountRO(t, mnt)
	recordsPackage(t, b.RootFS(), c.owner)
	policy, err := b.Policy()
	if err != nil {
		t.Fatal(err)
	}

	res := jailimg(t, "check", target)
	got := strings.Split(strings.TrimSpace(res.stdout), "\n")
	wantCode := 0 // every recipe passes; a debug jail's findings are accepted by its policy
	if c.findings == nil {
		got = got[:0]
		if s := strings.TrimSpace(res.stdout); s != "" {
			got = strings.Split(s, "\n")
		}
	}
	if res.code != wantCode || strings.Join(got, "\n") != strings.Join(c.findings, "\n") {
		t.Errorf("jailimg check %s: exit %d, findings:\n%s\nwant exit %d, findings:\n%s\nstderr: %s",
			c.name, res.code, res.stdout, wantCode, strings.Join(c.findings, "\n"), res.stderr)
	}

	tmpfsOver(t, b.RootFS(), policy.Writable)
	s := start(t, target)
	if err := s.waitReady(c.port); err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	pid, err := s.pid()
	if err != nil {
		t.Fatal(err)
	}
	if answer := c.query(t, c.port); !strings.Contains(answer, c.want) {
		t.Errorf("%s answered %q, want %q in it", c.name, answer, c.want)
	}
	confined(t, pid, c.uid, c.gid)
	if code := s.stop(t); code != c.exit {
		t.Errorf("jailimg run exited %d after SIGTERM, want %d\nstderr: %s", code, c.exit, s.stderr.String())
	}
	sizes(t, c, out, b.RootFS())
}

// sizes logs the image's and the closure's sizes and checks the ratio.
func sizes(t *testing.T, c recipeCase, layoutDir, rootfs string) {
	t.Helper()
	image, _ := treeSize(t, filepath.Join(layoutDir, "blobs"))
	unpacked, files := treeSize(t, rootfs)
	kib, n := closureKiB(t, c.closure)
	closure := kib * 1024
	ratio := float64(closure) / float64(image)
	t.Logf("image %d B compressed, %d B in %d entries unpacked; Debian closure of %s: %d packages, %d KiB installed; %.1fx (unpacked %.1fx)",
		image, unpacked, files, c.closure, n, kib, ratio, float64(closure)/float64(unpacked))
	if ratio < c.minRatio {
		t.Errorf("image %d B is only %.1fx smaller than %s's closure (%d B), want %.1fx", image, ratio, c.closure, closure, c.minRatio)
	}
}

// recordsPackage checks that the jail names, for vulnerability scanners, the
// Debian package its service comes from, at the host's installed version:
// in its status.d, and as syft (the cataloger of grype) reads the jail.
func recordsPackage(t *testing.T, rootfs, pkg string) {
	t.Helper()
	version := strings.TrimSpace(sh(t, "dpkg-query", "-W", "-f", "${Version}", pkg))
	para, err := os.ReadFile(filepath.Join(rootfs, "var/lib/dpkg/status.d", pkg))
	if err != nil || !strings.Contains(string(para), "Package: "+pkg+"\n") || !strings.Contains(string(para), "Version: "+version+"\n") {
		t.Errorf("status.d/%s: %v\n%s\nwant the paragraph of %s %s", pkg, err, para, pkg, version)
	}
	var sbom struct {
		Artifacts []struct{ Name, Version, Type string }
		Distro    struct{ ID, VersionID string }
	}
	out := sh(t, "syft", "scan", "dir:"+rootfs, "-q", "-o", "json")
	if err := json.Unmarshal([]byte(out), &sbom); err != nil {
		t.Fatalf("syft's output: %v", err)
	}
	found := slices.ContainsFunc(sbom.Artifacts, func(a struct{ Name, Version, Type string }) bool {
		return a.Name == pkg && a.Version == version && a.Type == "deb"
	})
	if !found || sbom.Distro.ID != "debian" {
		t.Errorf("syft finds in the jail %+v on %+v; want the deb %s %s on debian", sbom.Artifacts, sbom.Distro, pkg, version)
	}
}
