package main

import (
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jailimg/jailimg/internal/testutil"
)

// wwwData declares the user nginx and lighttpd switch to.
const wwwData = `users:
  - {name: www-data, uid: 33, gid: 33}
groups:
  - {name: www-data, gid: 33}
`

// buildJail builds recipe text in dir and unpacks it; it returns the rootfs.
func buildJail(t *testing.T, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	mustJailimg(t, dir, nil, "-q", "build", "-o", name+".oci", path)
	mustJailimg(t, dir, nil, "-q", "unpack", name+".oci", name+".jail")
	return filepath.Join(dir, name+".jail", "current", "rootfs")
}

// inJail runs argv chrooted into rootfs and returns its combined output.
func inJail(rootfs string, argv ...string) (string, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: rootfs}
	cmd.Dir = "/"
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestTraceFragment traces a daemon's config check on the host, includes the
// fragment in a recipe that declares only the users, and checks the check
// passes chrooted into the built jail, while the recipe with the binary
// alone (its ELF closure) fails.
func TestTraceFragment(t *testing.T) {
	needRoot(t)
	tests := []struct {
		name, bin, conf string
		args            func(conf string) []string
	}{
		{"nginx", "/usr/sbin/nginx", `user www-data;
pid PIDFILE;
error_log /var/log/nginx/error.log;
events { worker_connections 64; }
http {
    include /etc/nginx/mime.types;
    access_log /var/log/nginx/access.log;
    server { listen 127.0.0.1:8089; root /var/www/html; }
}
`, func(conf string) []string { return []string{"-t", "-c", conf} }},
		{"lighttpd", "/usr/sbin/lighttpd", `server.document-root = "/var/www/html"
server.port = 8093
server.bind = "127.0.0.1"
server.username = "www-data"
server.groupname = "www-data"
mimetype.assign = (".html" => "text/html")
`, func(conf string) []string { return []string{"-tt", "-f", conf} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			needTool(t, filepath.Base(tt.bin))
			dir := t.TempDir()
			conf := filepath.Join(dir, tt.name+".conf")
			text := strings.ReplaceAll(tt.conf, "PIDFILE", filepath.Join(dir, "pid"))
			if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			argv := append([]string{tt.bin}, tt.args(conf)...)
			mustJailimg(t, dir, nil, append([]string{"-q", "trace", "-o", "frag.yaml", "--"}, argv...)...)
			frag, err := os.ReadFile(filepath.Join(dir, "frag.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"binaries:\n  - " + tt.bin + "\n", "#   " + conf + "\n"} {
				if !strings.Contains(string(frag), want) {
					t.Errorf("fragment lacks %q:\n%s", want, frag)
				}
			}
			// The config named on the command line is in the test's
			// directory, a host-specific path: listed for the user to map,
			// not copied to its host path.
			if strings.Contains(string(frag), "{src: "+conf) {
				t.Errorf("fragment copies the host-specific %s:\n%s", conf, frag)
			}
			// The fragment is used as written, through include:, with the
			// user's mapping of the config.
			with := "name: " + tt.name + "-traced\n" + wwwData + "include: [frag.yaml]\nfiles: [{src: " + conf + ", dst: " + conf + "}]\n"
			if out, err := inJail(buildJail(t, dir, "with", with), argv...); err != nil {
				t.Errorf("%s in the jail with the fragment: %v\n%s\nfragment:\n%s", tt.name, err, out, frag)
			}
			without := "name: " + tt.name + "-bare\n" + wwwData + "binaries: [" + tt.bin + "]\n" +
				"files: [{src: " + conf + ", dst: " + conf + "}]\n"
			if out, err := inJail(buildJail(t, dir, "without", without), argv...); err == nil {
				t.Errorf("%s in the jail without the fragment succeeded:\n%s", tt.name, out)
			}
		})
	}
}

// TestTraceDiagnose runs id in jails with and without /etc/passwd and
// checks the one line that names the missing file.
func TestTraceDiagnose(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	bare := buildJail(t, dir, "bare", "name: bare\nbinaries: [/usr/bin/id]\n")
	res := jailimg(t, dir, nil, "-q", "trace", "--root", bare, "--user", "65534:65534", "--", "/usr/bin/id", "nobody")
	// id fails (no such user), and jailimg trace exits with its status.
	if want := "missing: /etc/passwd (open by /usr/bin/id)\n"; res.code != 1 || !strings.Contains(res.stdout, want) {
		t.Errorf("diagnosis of a jail without /etc/passwd: exit %d, want 1 (id's), stdout %q, want a line %q\n%s", res.code, res.stdout, want, res.stderr)
	}
	if !strings.Contains(res.stderr, "nobody") {
		t.Errorf("id's own complaint is not on stderr: %q", res.stderr)
	}

	users := buildJail(t, dir, "users", "name: users\nbinaries: [/usr/bin/id]\nusers:\n  - {name: nobody, uid: 65534, gid: 65534}\ngroups:\n  - {name: nogroup, gid: 65534}\n")
	res = jailimg(t, dir, nil, "-q", "trace", "--root", users, "--user", "nobody", "--", "/usr/bin/id")
	if res.code != 0 || strings.Contains(res.stdout, "/etc/passwd") || !strings.Contains(res.stderr, "uid=65534(nobody)") {
		t.Errorf("diagnosis of a jail with users: exit %d, stdout %q, stderr %q", res.code, res.stdout, res.stderr)
	}

	res = jailimg(t, dir, nil, "trace", "--root", users, "--user", "www-data", "--", "/usr/bin/id")
	if res.code != exitInput || !strings.Contains(res.stderr, "www-data") {
		t.Errorf("unknown --user: exit %d, stderr %q", res.code, res.stderr)
	}
	// On the host, --user is a user of the host's /etc/passwd, with the
	// groups run would give it (dir "/": the test's directory is root's).
	res = jailimg(t, "/", nil, "-q", "trace", "--user", "nobody", "--", "/usr/bin/id")
	if res.code != 0 || !strings.Contains(res.stderr, "uid=65534(nobody)") {
		t.Errorf("--user on the host: exit %d, stderr %q", res.code, res.stderr)
	}
}

// onConsole runs jailimg with a console as its controlling terminal and
// stdin, as from an operator's terminal, and returns what it printed.
func onConsole(t *testing.T, con *testutil.Console, args ...string) result {
	t.Helper()
	cmd := exec.Command(jailimgBin, args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	con.Attach(cmd)
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// TestTraceConfines runs a program that reports its own credentials,
// capability sets, bounding set, no_new_privs, seccomp mode, session and
// terminal, umask, rlimits, workdir and environment, once with jailimg run
// and once with jailimg trace --root, from an operator's terminal: the two
// reports are the same, byte for byte, with the image's user and with
// --user. Then uid 0 is refused without --allow-root.
func TestTraceConfines(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	jail := probeJail(t, dir, "creds", "run:\n  seccomp: true\n  landlock: true\n  rlimits: {nofile: 64}\n")
	tests := []struct {
		name  string
		flags []string
		want  []string // lines the report must hold
	}{
		{"image's user", nil, []string{"UID 1000 1000 1000", "GID 1000 1000 1000", "GROUPS [2000]"}},
		{"--user", []string{"--user", "other"}, []string{"UID 1001 1001 1001", "GID 1001 1001 1001", "GROUPS [2000]"}},
		{"--allow-root", []string{"--user", "0:0", "--allow-root"}, []string{"UID 0 0 0", "GID 0 0 0", "GROUPS []"}},
	}
	confined := []string{"CAPEFF 0000000000000000", "CAPPRM 0000000000000000", "CAPINH 0000000000000000",
		"CAPBND []", "NO_NEW_PRIVS 1", "SECCOMP 2", "SESSION_LEADER false", "FD0 ISATTY false CTTY false", // the terminal is not passed
		"UMASK 077", "NOFILE 64 64", "CORE 0 0", "NPROC 4096 4096"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			con := testutil.NewConsole(t)
			ran := onConsole(t, con, append(append([]string{"-q", "run"}, tt.flags...), jail)...)
			traced := onConsole(t, con, append(append([]string{"-q", "trace", "--root", jail}, tt.flags...), "--", "/bin/probe", "creds")...)
			if ran.code != 0 || traced.code != 0 {
				t.Fatalf("run: exit %d, stderr %q; trace: exit %d, stderr %q", ran.code, ran.stderr, traced.code, traced.stderr)
			}
			// trace passes the command's stdout to its own stderr.
			if ran.stdout != traced.stderr {
				t.Errorf("the traced program saw another confinement than run gives it:\nrun:\n%s\ntrace:\n%s", ran.stdout, traced.stderr)
			}
			for _, want := range append(tt.want, confined...) {
				if !strings.Contains(traced.stderr, want+"\n") {
					t.Errorf("the traced program did not report %q:\n%s", want, traced.stderr)
				}
			}
		})
	}

	t.Run("host: a new session", func(t *testing.T) {
		res := onConsole(t, testutil.NewConsole(t), "-q", "trace", "--", filepath.Join(dir, "creds-probe"), "creds")
		for _, want := range []string{"SESSION_LEADER true", "FD0 ISATTY true CTTY false"} {
			if res.code != 0 || !strings.Contains(res.stderr, want+"\n") {
				t.Errorf("trace of a host program: exit %d, want a report with %q:\n%s", res.code, want, res.stderr)
			}
		}
	})
	t.Run("run's flags: --no-seccomp --pid host", func(t *testing.T) {
		con := testutil.NewConsole(t)
		flags := []string{"--no-seccomp", "--pid", "host"}
		ran := onConsole(t, con, append(append([]string{"-q", "run"}, flags...), jail)...)
		traced := onConsole(t, con, append(append([]string{"-q", "trace", "--root", jail}, flags...), "--", "/bin/probe", "creds")...)
		if ran.code != 0 || traced.code != 0 || ran.stdout != traced.stderr || !strings.Contains(traced.stderr, "SECCOMP 0\n") {
			t.Errorf("trace --root with run's opt-outs: exit %d, report:\n%s\nwant exit 0, SECCOMP 0 and the report of run with them:\n%s", traced.code, traced.stderr, ran.stdout)
		}
		res := jailimg(t, dir, nil, "trace", "--no-seccomp", "--", "/bin/true")
		if res.code != 2 || !strings.Contains(res.stderr, "--no-seccomp confines a jail: give --root too") {
			t.Errorf("trace --no-seccomp without --root: exit %d, stderr %q; want 2 and a usage error", res.code, res.stderr)
		}
	})
	t.Run("uid 0 refused", func(t *testing.T) {
		res := jailimg(t, dir, nil, "trace", "--root", jail, "--user", "0", "--", "/bin/probe", "creds")
		if res.code != 125 || !strings.Contains(res.stderr, "--allow-root") || strings.Contains(res.stderr, "UID") {
			t.Errorf("trace as uid 0 without --allow-root: exit %d, want 125 and a refusal; stderr %q", res.code, res.stderr)
		}
	})
}

// TestTraceDaemon traces nginx serving in the foreground, as a daemon is
// traced to learn what it needs: it never exits on its own, so the trace is
// ended by Ctrl-C (SIGINT to jailimg: exit 130) or by --duration (exit 0),
// and both still write the fragment, with what nginx opened while serving.
func TestTraceDaemon(t *testing.T) {
	needRoot(t)
	needTool(t, "nginx")
	tests := []struct {
		name  string
		flags []string
		stop  bool // send SIGINT once nginx serves
		code  int
	}{
		{"SIGINT", nil, true, 130},
		{"--duration", []string{"--duration", "3s"}, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			port := freePort(t)
			conf := filepath.Join(dir, "nginx.conf")
			text := "daemon off;\npid " + filepath.Join(dir, "pid") + ";\nerror_log " + filepath.Join(dir, "error.log") + ";\n" +
				"events { worker_connections 16; }\nhttp {\n  include /etc/nginx/mime.types;\n  access_log off;\n" +
				"  server { listen 127.0.0.1:" + port + "; root " + dir + "; }\n}\n"
			if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			frag := filepath.Join(dir, "frag.yaml")
			cmd := exec.Command(jailimgBin, append(append([]string{"-q", "trace", "-o", frag}, tt.flags...), "--", "/usr/sbin/nginx", "-c", conf)...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			ended := make(chan error, 1)
			go func() { ended <- cmd.Wait() }()
			var err error
			if tt.stop {
				if !serves(t, "http://127.0.0.1:"+port+"/", ended) {
					t.Fatalf("jailimg trace ended before nginx served:\n%s", stderr.String())
				}
				if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
					t.Fatal(err)
				}
			}
			err = <-ended
			if code := cmd.ProcessState.ExitCode(); code != tt.code {
				t.Errorf("jailimg trace of a daemon: exit %d (%v), want %d\n%s", code, err, tt.code, stderr.String())
			}
			got, rerr := os.ReadFile(frag)
			if rerr != nil {
				t.Fatalf("no fragment written: %v\n%s", rerr, stderr.String())
			}
			for _, want := range []string{"binaries:\n  - /usr/sbin/nginx\n", "  - {src: /etc/nginx/mime.types, dst: /etc/nginx/mime.types}\n", "#   " + conf + "\n"} {
				if !strings.Contains(string(got), want) {
					t.Errorf("fragment lacks %q:\n%s", want, got)
				}
			}
		})
	}
}

// serves polls url until it answers (true) or ended reports the server's
// supervisor gone (false, the error put back for the caller).
func serves(t *testing.T, url string, ended chan error) bool {
	t.Helper()
	for {
		select {
		case err := <-ended:
			ended <- err
			return false
		default:
		}
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// TestTraceDiagnoseLibrary imports a Python extension module in a jail that
// has the module but not the library it links (closure: false, as a recipe
// may say for a file it trusts to need nothing): the diagnosis names the
// library with the module that needed it, once, not the loader's probes.
func TestTraceDiagnoseLibrary(t *testing.T) {
	needRoot(t)
	// By its real path: python3.11 on a developer's PATH may be a shim.
	py := "/usr/bin/python3.11"
	testutil.NeedFile(t, py, "python3.11")
	dir := t.TempDir()
	module := "/usr/lib/python3.11/lib-dynload/_sqlite3.cpython-311-x86_64-linux-gnu.so"
	rootfs := buildJail(t, dir, "py", "name: py\nbinaries: ["+py+"]\nfiles:\n"+
		"  - {src: /usr/lib/python3.11/os.py, dst: /usr/lib/python3.11/os.py}\n"+
		"  - {src: /usr/lib/python3.11/encodings, dst: /usr/lib/python3.11/encodings}\n"+
		"  - {src: "+module+", dst: "+module+", closure: false}\n"+
		"users:\n  - {name: app, uid: 1000, gid: 1000}\ngroups:\n  - {name: app, gid: 1000}\n")
	res := jailimg(t, dir, nil, "-q", "trace", "--root", rootfs, "--user", "app", "--", py, "-S", "-c", "import _sqlite3")
	want := "missing library: libsqlite3.so.0 (needed by " + module + ", loaded by " + py + "; searched "
	if res.code != 1 || !strings.Contains(res.stdout, want) {
		t.Errorf("diagnosis of a module's missing library: exit %d, want 1 (python's), and a line %q:\n%s\n%s", res.code, want, res.stdout, res.stderr)
	}
	if strings.Contains(res.stdout, "missing: /usr/lib/x86_64-linux-gnu/libsqlite3.so.0") {
		t.Errorf("the loader's probes are listed one by one:\n%s", res.stdout)
	}
}
