package main

import (
	"archive/tar"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/jailimg/jailimg/internal/runtest"
	"github.com/jailimg/jailimg/internal/testutil"
	"github.com/jailimg/jailimg/pkg/layout"
)

// rcScript runs dist/jailimg-jail ACTION for the jail "bash" configured by conf.
func rcScript(t *testing.T, conf, action string) result {
	t.Helper()
	cmd := exec.Command("../../dist/jailimg-jail", action)
	cmd.Env = append(os.Environ(), "JAILIMG_NAME=bash", "JAILIMG_CONF="+conf)
	// A service that kept our pipes open would hang Run: fail instead.
	cmd.WaitDelay = time.Minute
	var r result
	r.stdout, r.stderr, r.code = testutil.Output(t, cmd)
	return r
}

// sleepJail builds the bash recipe plus /usr/bin/sleep into an OCI layout.
func sleepJail(t *testing.T) string {
	t.Helper()
	recipe := copyRecipe(t, "bash.yaml")
	raw, err := os.ReadFile(recipe)
	if err != nil {
		t.Fatal(err)
	}
	withSleep := strings.Replace(string(raw), "  - /usr/bin/ls\n", "  - /usr/bin/ls\n  - /usr/bin/sleep\n", 1)
	if withSleep == string(raw) {
		t.Fatal("bash.yaml no longer lists /usr/bin/ls; update the test")
	}
	if err := os.WriteFile(recipe, []byte(withSleep), 0o644); err != nil {
		t.Fatal(err)
	}
	layout := filepath.Join(t.TempDir(), "cache")
	mustJailimg(t, "", nil, "build", "-q", "-o", layout, recipe)
	return layout
}

// TestRCScript starts, checks and stops a jail with dist/jailimg-jail, from
// a registry and, with the registry unreachable, from the layout cache.
func TestRCScript(t *testing.T) {
	needRoot(t)
	cache := sleepJail(t)
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	ref := strings.TrimPrefix(srv.URL, "http://") + "/jails/bash:5.2"
	img, err := layout.Image(cache, "")
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct{ name, source, wantLog string }{
		{"registry", ref, ""},
		{"registry unreachable, from the cache", "127.0.0.1:1/jails/bash:5.2", "falling back to the cache"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			conf := filepath.Join(dir, "bash.conf")
			body := strings.Join([]string{
				"JAILIMG=" + jailimgBin, "SOURCE=" + tc.source, "CACHE=" + cache,
				"TARGET=" + filepath.Join(dir, "jail"), "STATE=" + filepath.Join(dir, "state"), `RUN_FLAGS="--user jail"`,
				`COMMAND="-c 'exec sleep 1000'"`, "PIDFILE=" + filepath.Join(dir, "bash.pid"),
				"LOGFILE=" + filepath.Join(dir, "bash.log"), ""}, "\n")
			if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			r := rcScript(t, conf, "start")
			t.Cleanup(func() { rcScript(t, conf, "stop") })
			if r.code != 0 || !strings.Contains(r.stderr, tc.wantLog) {
				t.Fatalf("start: exit %d, want 0 and %q\n%s", r.code, tc.wantLog, r.stderr)
			}
			if tc.wantLog == "" && strings.Contains(r.stderr, "falling back") {
				t.Fatalf("start fell back to the cache with the registry up:\n%s", r.stderr)
			}
			if r = rcScript(t, conf, "status"); r.code != 0 || !strings.Contains(r.stdout, "is running") {
				t.Fatalf("status: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			pid := servicePid(t, filepath.Join(dir, "bash.service.pid"))
			wantJailed(t, pid, filepath.Join(dir, "jail"))

			if r = rcScript(t, conf, "stop"); r.code != 0 {
				t.Fatalf("stop: exit %d\n%s", r.code, r.stderr)
			}
			if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
				t.Errorf("service pid %d after stop: %v, want it gone", pid, err)
			}
			if r = rcScript(t, conf, "status"); r.code != 3 {
				t.Fatalf("status after stop: exit %d, want 3\n%s", r.code, r.stdout)
			}
		})
	}
}

// servicePid reads the pid of the jail's init from the pidfile jailimg run
// wrote, and returns the service's, its child.
func servicePid(t *testing.T, pidfile string) int {
	t.Helper()
	raw, err := os.ReadFile(pidfile)
	if err != nil {
		t.Fatal(err)
	}
	initPid, _ := strconv.Atoi(strings.TrimSpace(string(raw)))
	pid, err := runtest.Service(initPid)
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// wantJailed checks that pid runs sleep as uid/gid 1000 chrooted in the
// live generation of target.
func wantJailed(t *testing.T, pid int, target string) {
	t.Helper()
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatalf("service pid %d: %v", pid, err)
	}
	for _, want := range []string{"Name:\tsleep\n", "Uid:\t1000\t1000\t1000\t1000\n", "Gid:\t1000\t1000\t1000\t1000\n"} {
		if !strings.Contains(string(status), want) {
			t.Errorf("service pid %d: status lacks %q:\n%s", pid, want, status)
		}
	}
	root, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/root")
	live, _ := filepath.EvalSymlinks(filepath.Join(target, "current", "rootfs"))
	if err != nil || root != live {
		t.Errorf("service root is %q (%v), want the live rootfs %q", root, err, live)
	}
}

// TestSystemdUnit checks the unit template with systemd-analyze verify.
func TestSystemdUnit(t *testing.T) {
	analyze := testutil.NeedTool(t, "systemd-analyze")
	raw, err := os.ReadFile("../../dist/systemd/jailimg@.service")
	if err != nil {
		t.Fatal(err)
	}
	script, _ := filepath.Abs("../../dist/jailimg-jail")
	unit := strings.NewReplacer("/usr/local/bin/jailimg", jailimgBin, "/usr/local/lib/jailimg/jailimg-jail", script).Replace(string(raw))
	p := filepath.Join(t.TempDir(), "jailimg@bash.service")
	if err := os.WriteFile(p, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", p).CombinedOutput(); err != nil || len(out) != 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestRCScriptSampleConf starts the jail with the shipped sample config
// (paths filled in for this machine): the service runs under seccomp, a
// default the sample relies on. The sample's former unquoted
// RUN_FLAGS=--seccomp --network host ran "--network" as a command and
// started the service without the flags; the script now refuses such a file.
func TestRCScriptSampleConf(t *testing.T) {
	needRoot(t)
	cache := sleepJail(t)
	dir := t.TempDir()
	set := map[string]string{
		"JAILIMG": jailimgBin, "SOURCE": "", "CACHE": cache, "CACHE_REFRESH": "no",
		"TARGET": filepath.Join(dir, "jail"), "STATE": filepath.Join(dir, "state"), "COMMAND": `"-c 'exec sleep 1000'"`,
		"PIDFILE": filepath.Join(dir, "bash.pid"), "LOGFILE": filepath.Join(dir, "bash.log"),
	}
	conf := filepath.Join(dir, "bash.conf")
	if err := os.WriteFile(conf, []byte(runtest.SampleConf(t, "../../dist/jailimg.conf.example", set)), 0o644); err != nil {
		t.Fatal(err)
	}
	r := rcScript(t, conf, "start")
	t.Cleanup(func() { rcScript(t, conf, "stop") })
	if r.code != 0 {
		t.Fatalf("start with the sample conf: exit %d\n%s", r.code, r.stderr)
	}
	status, err := os.ReadFile("/proc/" + strconv.Itoa(servicePid(t, filepath.Join(dir, "bash.service.pid"))) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(status), "\nSeccomp:\t2\n") {
		t.Errorf("service started with the sample conf runs without seccomp:\n%s", status)
	}
	if r := rcScript(t, conf, "stop"); r.code != 0 {
		t.Fatalf("stop: exit %d\n%s", r.code, r.stderr)
	}

	t.Run("unquoted value refused", func(t *testing.T) {
		set["RUN_FLAGS"] = "--seccomp --network host"
		bad := filepath.Join(dir, "bad.conf")
		if err := os.WriteFile(bad, []byte(runtest.SampleConf(t, "../../dist/jailimg.conf.example", set)), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, action := range []string{"start", "status", "unpack"} {
			r := rcScript(t, bad, action)
			if r.code != 6 || !strings.Contains(r.stderr, bad+" does not read cleanly") {
				t.Errorf("%s with an unquoted RUN_FLAGS: exit %d, want 6 naming the file\n%s", action, r.code, r.stderr)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "bash.pid")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a refused config started something: %v", err)
		}
	})
}

// TestRCScriptLogsCause: the rc script says "refused" only when jailimg
// unpack blames the image (exit 3). A DEVICE that does not exist is this
// host's failure (exit 1); before, it was exit 3 and logged as "the image
// was refused".
func TestRCScriptLogsCause(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	good := trueLayout(t, dir)
	evil := layoutOf(t, &tar.Header{Name: "../escape", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1})
	for _, tc := range []struct {
		name, source, device, want string
	}{
		{"missing device", good, "/dev/jailimg-no-such-disk", "unpacking " + good + " failed on this host (exit 1"},
		{"unsafe image", evil, "", "the image from " + evil + " was refused (exit 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := filepath.Join(t.TempDir(), "bash.conf")
			body := "JAILIMG=" + jailimgBin + "\nSOURCE=" + tc.source + "\nTARGET=" + filepath.Join(t.TempDir(), "jail") +
				"\nDEVICE=" + tc.device + "\nPIDFILE=" + filepath.Join(dir, "pid") + "\nLOGFILE=" + filepath.Join(dir, "log") + "\n"
			if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			r := rcScript(t, conf, "unpack")
			if r.code == 0 || !strings.Contains(r.stderr, tc.want) || tc.device != "" && strings.Contains(r.stderr, "refused") {
				t.Errorf("unpack: exit %d, want a failure logging %q (and \"refused\" only for an image):\n%s", r.code, tc.want, r.stderr)
			}
		})
	}
}
