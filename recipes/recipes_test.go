package recipes_test

import (
	"encoding/json"
	"errors"
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
	query    func(t *testing.T, port int, what string) string // ask with the real client
	want     string                                           // in the answer
	findings []string                                         // `jailimg check` output lines, "" when clean
	exit     int                                              // jailimg run's status after SIGTERM
	// runtime is a directory that must be empty again at each start; log
	// a file kept under STATE whose first run's lines must survive a
	// restart (for a web server, the access log holds the first request).
	runtime, log string
	// rc: also started with dist/jailimg-jail's start; upgrade: also run
	// after an upgrade to a changed image.
	rc, upgrade bool
	// minRatio is how many times smaller than the closure the compressed
	// image must be: 10, except where the closure cannot be beaten (why).
	minRatio float64
	why      string
}

// curl fetches /WHAT over HTTP.
func curl(t *testing.T, port int, what string) string {
	return sh(t, "curl", "-sS", "-f", fmt.Sprintf("http://127.0.0.1:%d/?%s", port, what))
}

// dig asks for www.jail.test's A record.
func dig(t *testing.T, port int, _ string) string {
	return sh(t, "dig", "+short", "+tries=1", "@127.0.0.1", "-p", fmt.Sprint(port), "www.jail.test", "A")
}

var cases = []recipeCase{
	{name: "nginx", owner: "nginx", bin: "/usr/sbin/nginx", pkgs: []string{"nginx-light"}, closure: "nginx-light",
		port: 8080, uid: 33, gid: 33, query: curl, want: "<title>", minRatio: 10,
		runtime: "/run/nginx", log: "/var/log/nginx/access.log", rc: true, upgrade: true},
	{name: "apache2", owner: "apache2-bin", bin: "/usr/sbin/apache2", pkgs: []string{"apache2"}, closure: "apache2",
		port: 8081, uid: 33, gid: 33, query: curl, want: "apache2 in a jail", minRatio: 10,
		runtime: "/run/apache2", log: "/var/log/apache2/access.log"},
	{name: "lighttpd", owner: "lighttpd", bin: "/usr/sbin/lighttpd", pkgs: []string{"lighttpd"}, closure: "lighttpd",
		port: 8082, uid: 33, gid: 33, query: curl, want: "lighttpd in a jail", minRatio: 10,
		runtime: "/run/lighttpd", log: "/var/log/lighttpd/access.log"},
	{name: "bind9", owner: "bind9", bin: "/usr/sbin/named", pkgs: []string{"bind9"}, closure: "bind9",
		port: 5353, uid: 104, gid: 107, query: dig, want: "192.0.2.53",
		runtime: "/run/named", log: "/var/log/named/named.log", rc: true,
		minRatio: 5, why: "named needs libxml2, which needs ICU's 31 MB data library"},
	{name: "unbound", owner: "unbound", bin: "/usr/sbin/unbound", pkgs: []string{"unbound"}, closure: "unbound",
		port: 5354, uid: 103, gid: 106, query: dig, want: "192.0.2.54", minRatio: 10,
		runtime: "/run/unbound", log: "/var/log/unbound/unbound.log"},
	{name: "nsd", owner: "nsd", bin: "/usr/sbin/nsd", pkgs: []string{"nsd"}, closure: "nsd",
		port: 5355, uid: 105, gid: 108, query: dig, want: "192.0.2.55", minRatio: 10,
		runtime: "/run/nsd", log: "/var/log/nsd/nsd.log"},
	{name: "busybox", owner: "busybox-static", bin: "/bin/busybox", pkgs: []string{"busybox-static"}, closure: "busybox-static",
		port: 8083, uid: 1000, gid: 1000, query: curl, want: "busybox in a jail", runtime: "/tmp",
		findings: []string{
			"interpreter\t/usr/bin/busybox\tshell, interpreter or compiler (executable)\t(accepted)",
			"interpreter\t/usr/bin/sh\tshell, interpreter or compiler (symlink to busybox)\t(accepted)",
		},
		exit:     143, // busybox httpd does not catch SIGTERM
		minRatio: 1.5, why: "busybox-static is one static binary with no dependencies: the jail is the package"},
}

// TestRecipes builds, unpacks, runs, queries, audits, restarts and stops
// every sample recipe in turn, from a read-only loop-device partition,
// with nothing mounted by the test: jailimg run provides what the
// service writes.
func TestRecipes(t *testing.T) {
	runtest.NeedRoot(t, "jailimg run chroots; the jails are on loop devices")
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
	dev := partition(t)
	target := filepath.Join(t.TempDir(), c.name)
	b := unpackDevice(t, dev, out, target)
	if b.Meta.Name != c.name {
		t.Errorf("image.json names the image %q, want %q", b.Meta.Name, c.name)
	}
	recordsPackage(t, b.RootFS(), c.owner)
	audit(t, c, target)
	sizes(t, c, out, b.RootFS())

	state := filepath.Join(t.TempDir(), "state") // run makes it root's, 0700
	firstLog := firstRun(t, c, state, target)
	restart(t, c, state, target, firstLog)
	if c.upgrade {
		changed := build(t, c.name, "SOURCE_DATE_EPOCH=1234567")
		old := b.Meta.ManifestDigest
		if b = unpackDevice(t, dev, changed, target); b.Meta.ManifestDigest == old {
			t.Fatal("the changed image has the same digest")
		}
		restart(t, c, state, target, firstLog)
	}
	if c.rc {
		rcStart(t, c, out, dev, state, target)
	}
}

// audit runs jailimg check on the bundle.
func audit(t *testing.T, c recipeCase, target string) {
	t.Helper()
	res := jailimg(t, "check", target)
	got := strings.Split(strings.TrimSpace(res.stdout), "\n")
	if c.findings == nil {
		got = got[:0]
		if s := strings.TrimSpace(res.stdout); s != "" {
			got = strings.Split(s, "\n")
		}
	}
	// every recipe passes; a debug jail's findings are accepted by its policy
	if res.code != 0 || strings.Join(got, "\n") != strings.Join(c.findings, "\n") {
		t.Errorf("jailimg check %s: exit %d, findings:\n%s\nwant exit 0, findings:\n%s\nstderr: %s",
			c.name, res.code, res.stdout, strings.Join(c.findings, "\n"), res.stderr)
	}
}

// firstRun starts the jail with `jailimg run --state STATE TARGET`, asks
// it, checks its confinement and its mounts (in its namespace only),
// leaves a file in its runtime directory and stops it. It returns the log
// the run left under STATE.
func firstRun(t *testing.T, c recipeCase, state, target string) string {
	t.Helper()
	args := []string{"--state", state, target}
	var host *syslogHost
	if c.name == "nginx" { // its errors go to syslog: a syslog socket the test owns
		host = listenSyslog(t)
		args = append([]string{"--syslog-socket", host.path}, args...)
	}
	s := start(t, args...)
	if err := s.waitReady(c.port); err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	if answer := c.query(t, c.port, "first-run"); !strings.Contains(answer, c.want) {
		t.Errorf("%s answered %q, want %q in it", c.name, answer, c.want)
	}
	pid, err := s.pid()
	if err != nil {
		t.Fatal(err)
	}
	confined(t, pid, c.uid, c.gid)
	checkMounts(t, c, pid, target)
	if err := os.WriteFile(filepath.Join(s.root(t), c.runtime, "left-by-the-first-run"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if host != nil {
		sh(t, "curl", "-sS", "-o", "/dev/null", fmt.Sprintf("http://127.0.0.1:%d/no-such-page", c.port))
		host.wantLine(t, "jailimg/nginx: ", `open() "/srv/www/no-such-page" failed`)
	}
	if code := s.stop(t); code != c.exit {
		t.Errorf("jailimg run exited %d after SIGTERM, want %d\nstderr: %s", code, c.exit, s.stderr.String())
	}
	if m := runtest.HostMountsUnder(t, target); len(m) != 0 {
		t.Errorf("after the service stopped, the host has mounts in the jail: %v", m)
	}
	if c.log == "" {
		return ""
	}
	log, err := os.ReadFile(filepath.Join(state, c.log))
	if err != nil || len(log) == 0 {
		t.Fatalf("the first run left no %s under %s: %v", c.log, state, err)
	}
	if strings.Contains(c.log, "access") && !strings.Contains(string(log), "first-run") {
		t.Errorf("%s%s lacks the first request:\n%s", state, c.log, log)
	}
	return string(log)
}

// checkMounts checks the service's mounts: in its own namespace, the root
// read-only, the runtime directory a tmpfs and the log directory a bind,
// both writable but nosuid, nodev, noexec; in the host's, none of them.
func checkMounts(t *testing.T, c recipeCase, pid int, target string) {
	t.Helper()
	if m := runtest.HostMountsUnder(t, target); len(m) != 0 {
		t.Errorf("while the service runs, the host has mounts in the jail: %v", m)
	}
	mounts := runtest.Mounts(t, pid)
	want := map[string]string{"/": "ro,nosuid,nodev", c.runtime: "rw,nosuid,nodev,noexec tmpfs"}
	if c.log != "" {
		want[filepath.Dir(c.log)] = "rw,nosuid,nodev,noexec ext4"
	}
	for dir, opts := range want {
		if got, ok := mounts[dir]; !ok || !strings.HasPrefix(got, strings.Fields(opts)[0]) || !strings.Contains(got, strings.TrimPrefix(opts, strings.Fields(opts)[0])) {
			t.Errorf("the jail's %s is mounted %q (present %v), want %q", dir, got, ok, opts)
		}
	}
}

// restart starts the jail again on the same STATE: the runtime directory
// is empty again, and the log still holds what the first run wrote.
func restart(t *testing.T, c recipeCase, state, target, firstLog string) {
	t.Helper()
	s := start(t, "--state", state, target)
	if err := s.waitReady(c.port); err != nil {
		t.Fatalf("%s restarted: %v", c.name, err)
	}
	if answer := c.query(t, c.port, "again"); !strings.Contains(answer, c.want) {
		t.Errorf("%s restarted answered %q, want %q in it", c.name, answer, c.want)
	}
	if _, err := os.Stat(filepath.Join(s.root(t), c.runtime, "left-by-the-first-run")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the runtime dir %s keeps a file of the first run: %v", c.runtime, err)
	}
	if c.log != "" {
		if log, err := os.ReadFile(filepath.Join(state, c.log)); err != nil || !strings.HasPrefix(string(log), firstLog) {
			t.Errorf("%s%s after a restart: %v; it lost the first run's lines:\n%s", state, c.log, err, log)
		}
	}
	if code := s.stop(t); code != c.exit {
		t.Errorf("restarted jailimg run exited %d after SIGTERM, want %d\nstderr: %s", code, c.exit, s.stderr.String())
	}
}

// rcStart starts the jail with the rc script and the shipped sample config
// (this machine's paths filled in), asks it and stops it.
func rcStart(t *testing.T, c recipeCase, layoutDir, dev, state, target string) {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, c.name+".conf")
	body := runtest.SampleConf(t, "../dist/jailimg.conf.example", map[string]string{"JAILIMG": jailimgBin, "SOURCE": "", "CACHE": layoutDir,
		"CACHE_REFRESH": "no", "TARGET": target, "DEVICE": dev, "STATE": state,
		"PIDFILE": filepath.Join(dir, c.name+".pid"), "LOGFILE": filepath.Join(dir, c.name+".log")})
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := rcScript(t, c.name, conf, "start"); code != 0 {
		t.Fatalf("rc script start: exit %d\n%s", code, out)
	}
	t.Cleanup(func() { rcScript(t, c.name, conf, "stop") })
	waitPort(t, c.port)
	if answer := c.query(t, c.port, "rc-script"); !strings.Contains(answer, c.want) {
		t.Errorf("%s started by the rc script answered %q, want %q in it", c.name, answer, c.want)
	}
	if out, code := rcScript(t, c.name, conf, "stop"); code != 0 {
		t.Errorf("rc script stop: exit %d\n%s", code, out)
	}
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
