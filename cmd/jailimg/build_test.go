package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/jailimg/jailimg/internal/testutil"
)

// TestBuildReproducible builds each sample recipe twice from copies in two
// directories, under two umasks, at two times, and compares manifest digests.
func TestBuildReproducible(t *testing.T) {
	for _, name := range []string{"bash.yaml", "nginx.yaml"} {
		t.Run(name, func(t *testing.T) {
			if name == "nginx.yaml" {
				if _, err := os.Stat("/usr/sbin/nginx"); err != nil {
					needTool(t, "nginx")
				}
			}
			var digests []string
			for i, umask := range []int{0o022, 0o077} {
				r := copyRecipe(t, name)
				work := t.TempDir()
				old := syscall.Umask(umask) // inherited by the child
				out := mustJailimg(t, work, nil, "-q", "build", "-o", "out", r)
				syscall.Umask(old)
				digests = append(digests, strings.TrimSpace(out))
				if i == 0 {
					time.Sleep(1100 * time.Millisecond) // a different second on the clock
				}
				p, err := layout.FromPath(filepath.Join(work, "out"))
				if err != nil {
					t.Fatal(err)
				}
				idx, _ := p.ImageIndex()
				im, _ := idx.IndexManifest()
				img, err := idx.Image(im.Manifests[0].Digest)
				if err != nil {
					t.Fatal(err)
				}
				if err := validate.Image(img); err != nil {
					t.Errorf("validate.Image: %v", err)
				}
			}
			if digests[0] != digests[1] || !strings.HasPrefix(digests[0], "sha256:") {
				t.Errorf("digests differ: %q vs %q", digests[0], digests[1])
			}
		})
	}
}

// TestBuildFailureKeepsOutput checks a failed build leaves the previous
// layout untouched and no temporary directory behind.
func TestBuildFailureKeepsOutput(t *testing.T) {
	work := t.TempDir()
	r := copyRecipe(t, "bash.yaml")
	good := strings.TrimSpace(mustJailimg(t, work, nil, "-q", "build", "-o", "out", r))

	bad := filepath.Join(filepath.Dir(r), "bad.yaml")
	os.WriteFile(bad, []byte("name: bash\nbinaries: [/usr/bin/bash]\nfiles: [{src: missing.conf, dst: /etc/x}]\n"), 0o644)
	res := jailimg(t, work, nil, "build", "-o", "out", bad)
	if res.code != exitFailure && res.code != exitInput || !strings.Contains(res.stderr, "missing.conf") {
		t.Errorf("bad build: exit %d, stderr %q", res.code, res.stderr)
	}
	if got := dirNames(t, work); got != "out out.lock" {
		t.Errorf("work dir holds %s, want only out and its lock file", got)
	}
	res = jailimg(t, work, nil, "inspect", "--json", "out")
	var got inspectResult
	if err := json.Unmarshal([]byte(res.stdout), &got); err != nil || got.Digest != good {
		t.Errorf("after a failed build the layout holds %q (err %v), want %q", got.Digest, err, good)
	}

	// A directory that is not a layout is never replaced.
	os.MkdirAll(filepath.Join(work, "data"), 0o755)
	os.WriteFile(filepath.Join(work, "data", "keep"), []byte("x"), 0o644)
	res = jailimg(t, work, nil, "build", "-o", "data", r)
	if res.code == 0 || !strings.Contains(res.stderr, "not an OCI image layout") {
		t.Errorf("build over a non-layout dir: exit %d, %q", res.code, res.stderr)
	}
	if _, err := os.Stat(filepath.Join(work, "data", "keep")); err != nil {
		t.Error("build replaced a directory that was not a layout")
	}
}

// TestBuildErrorsAreOneLine runs bad recipes through the CLI: one line on
// stderr naming the cause (with -q: no progress lines), and exit code 3
// for bad input, which a missing library is too (it was 1).
func TestBuildErrorsAreOneLine(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink("/etc/hostname", filepath.Join(dir, "esc")); err != nil { // leads out of the recipe's directory
		t.Fatal(err)
	}
	suid := filepath.Join(dir, "suid-true")
	testutil.CopyFile(t, "/usr/bin/true", suid, 0o755)
	if err := os.Chmod(suid, 0o755|os.ModeSetuid); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, recipe, want string }{
		{"missing library", "name: x\nbinaries: [/usr/bin/true]\nlibraries: [libnope.so.3]\n",
			"r.yaml:3: libraries[0]: resolving libnope.so.3 for /usr/bin/true: not found in "},
		{"missing library's suggestion", "name: x\nbinaries: [/usr/bin/true]\nlibraries: [libnope.so.3]\n",
			"/usr/lib/ (a library elsewhere on the build host goes under libraries: by its absolute path)"},
		{"setuid binary", "name: x\nbinaries: [" + suid + "]\n",
			"r.yaml:2: binaries[0]: " + suid + " is setuid or setgid (mode 04755); give it mode: 0755 in the recipe"},
		{"missing source, no statat", "name: x\nfiles: [{src: nothere, dst: /x}]\n", "r.yaml:2: files[0]: nothere: stat nothere: no such file"},
		{"entrypoint not in the jail", "name: x\nbinaries: [/usr/bin/true]\nentrypoint: [/usr/bin/false]\n",
			"r.yaml:3: entrypoint[0]: /usr/bin/false is not in the jail"},
		{"unknown key", "name: x\nbinarys: [/usr/bin/true]\n", "r.yaml:2: binarys: unknown key"},
		{"missing binary", "name: x\nbinaries: [/usr/bin/no-such-daemon]\n", "/usr/bin/no-such-daemon"},
		{"escape", "name: x\nfiles: [{src: ../../etc/shadow, dst: /etc/shadow}]\n", "escapes the recipe directory"},
		{"duplicate", "name: x\nsymlinks: [{path: /a, target: b}, {path: /a, target: c}]\n", "duplicate destination"},
		{"device source", "name: x\nfiles: [{src: /dev/zero, dst: /zero}]\n", "/dev/zero is a character device"},
		{"symlink source out", "name: x\nfiles: [{src: esc, dst: /x}]\n", "files[0]: esc"},
		{"epoch", "name: x\nepoch: 999999999999999999\n", "r.yaml:2: epoch:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, "r.yaml")
			os.WriteFile(p, []byte(tc.recipe), 0o644)
			res := jailimg(t, dir, nil, "-q", "build", "-o", filepath.Join(dir, "out"), p) // -q: no progress, only the error
			lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
			if res.code != exitInput || len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and one line naming %q", res.code, res.stderr, exitInput, tc.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
				t.Error("a failed build created the output directory")
			}
		})
	}
}

// TestUmociUnpackAndChroot is the interop proof: umoci (a peer, from Debian)
// unpacks the bash jail, and bash runs in it under chroot.
func TestUmociUnpackAndChroot(t *testing.T) {
	needRoot(t)
	umoci := needTool(t, "umoci")
	work := t.TempDir()
	mustJailimg(t, work, nil, "-q", "build", "-o", "out", copyRecipe(t, "bash.yaml"))
	bundle := filepath.Join(work, "bundle")
	if out, err := exec.Command(umoci, "unpack", "--image", filepath.Join(work, "out")+":5.2", bundle).CombinedOutput(); err != nil {
		t.Fatalf("umoci unpack: %v\n%s", err, out)
	}
	rootfs := filepath.Join(bundle, "rootfs")
	out, err := exec.Command("chroot", rootfs, "/usr/bin/bash", "-c", "echo ok").CombinedOutput()
	if err != nil || string(out) != "ok\n" {
		t.Fatalf("chroot bash -c 'echo ok': %v: %q", err, out)
	}
	out, err = exec.Command("chroot", "--userspec=1000:1000", rootfs, "/usr/bin/bash", "-c", "cd /home/jail && ls -ld . /etc/shadow /nonexistent 2>&1; exit 0").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "jail jail") || !strings.Contains(string(out), "No such file") {
		t.Errorf("as the jail user, names resolve through the jail's own passwd: %v\n%s", err, out)
	}
	passwd, _ := os.ReadFile(filepath.Join(rootfs, "etc/passwd"))
	if string(passwd) != "jail:x:1000:1000::/home/jail:/usr/sbin/nologin\n" {
		t.Errorf("/etc/passwd holds more or other than the recipe's user:\n%s", passwd)
	}
	for name, want := range map[string][2]uint32{"null": {1, 3}, "zero": {1, 5}, "urandom": {1, 9}, "tty": {5, 0}} {
		var st syscall.Stat_t
		if err := syscall.Stat(filepath.Join(rootfs, "dev", name), &st); err != nil {
			t.Errorf("/dev/%s: %v", name, err)
			continue
		}
		major, minor := uint32(st.Rdev>>8&0xfff), uint32(st.Rdev&0xff|(st.Rdev>>12)&0xfff00)
		if st.Mode&syscall.S_IFMT != syscall.S_IFCHR || major != want[0] || minor != want[1] {
			t.Errorf("/dev/%s: mode %o, %d:%d; want a char device %d:%d", name, st.Mode, major, minor, want[0], want[1])
		}
	}
}

// TestBuildUsageErrors: flags that cannot work exit 2 with one line naming
// the flag, before anything is written.
func TestBuildUsageErrors(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "r.yaml")
	if err := os.WriteFile(p, []byte("name: x\nbinaries: [/usr/bin/true]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"output is the cwd", []string{"build", "-o", ".", p}, `-o "."`},
		{"output is ..", []string{"build", "-o", "sub/..", p}, `-o "sub/.."`},
		{"missing root", []string{"build", "--root", "/nonexistent", "-o", "out", p}, `--root "/nonexistent"`},
		{"epoch past 9999", []string{"build", "-o", "out", p}, "SOURCE_DATE_EPOCH"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var env []string
			if tc.want == "SOURCE_DATE_EPOCH" {
				env = []string{"SOURCE_DATE_EPOCH=253402300800"}
			}
			res := jailimg(t, dir, env, tc.args...)
			lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
			if res.code != exitUsage || len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and one line naming %q", res.code, res.stderr, exitUsage, tc.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("the failed build wrote into %s: %v", dir, entries)
			}
		})
	}
}
