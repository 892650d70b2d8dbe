package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/jailimg/jailimg/internal/testutil"
)

// probeBinary builds testdata/probe statically, once per test binary.
func probeBinary(t *testing.T) string { return testutil.StaticProgram(t, "./testdata/probe") }

// probeJail builds and unpacks a jail whose entrypoint is the probe, run
// as svc (uid 1000, also in group extra), with run policy runText (a
// recipe "run:" section, or ""); it returns the bundle.
func probeJail(t *testing.T, dir, name, runText string) string {
	t.Helper()
	mustJailimg(t, dir, nil, "-q", "unpack", probeLayout(t, dir, name, runText), name+".jail")
	return filepath.Join(dir, name+".jail")
}

// probeLayout builds the probe's jail as probeJail does, into the OCI
// layout it returns, DIR/NAME.oci; extra is YAML added to the recipe
// (dirs:, a run: section).
func probeLayout(t *testing.T, dir, name, extra string) string {
	t.Helper()
	testutil.CopyFile(t, probeBinary(t), filepath.Join(dir, name+"-probe"), 0o755)
	recipe := "name: " + name + `
files:
  - {src: ` + name + `-probe, dst: /bin/probe, mode: 0755}
users:
  - {name: svc, uid: 1000, gid: 1000}
  - {name: other, uid: 1001, gid: 1001}
groups:
  - {name: svc, gid: 1000}
  - {name: other, gid: 1001}
  - {name: extra, gid: 2000, members: [svc, other]}
entrypoint: [/bin/probe]
cmd: [creds]
user: svc
` + extra
	path := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(path, []byte(recipe), 0o644); err != nil {
		t.Fatal(err)
	}
	mustJailimg(t, dir, nil, "-q", "build", "-o", name+".oci", path)
	return filepath.Join(dir, name+".oci")
}

// operatorShell starts an interactive sh on a new console, as an operator's
// root shell on a terminal, and returns the console.
func operatorShell(t *testing.T) *testutil.Console {
	t.Helper()
	con := testutil.NewConsole(t)
	sh := exec.Command("/bin/sh", "-i")
	sh.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "PS1=$ ", "HOME=/root", "TERM=dumb"}
	sh.Dir = "/"
	con.Attach(sh)
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sh.Process.Kill()
		sh.Wait()
	})
	return con
}

// status matches the report of a command line's exit status that type adds.
var status = regexp.MustCompile(`STATUS-([0-9]+)-DONE`)

// typeLine types line into the operator's shell, followed by a report of
// its exit status (status).
func typeLine(t *testing.T, con *testutil.Console, line string) {
	t.Helper()
	con.Type(t, line+`; echo "STATUS-$?-DONE"`+"\n")
}

// shell types line and waits for its exit status; it returns the screen
// offset after it and the status.
func shell(t *testing.T, con *testutil.Console, from int, line string) (int, string) {
	t.Helper()
	typeLine(t, con, line)
	end, m := con.WaitFor(t, from, status)
	return end, m[1]
}

// await waits for re on the screen from offset from, failing t when the
// command line typed ends first.
func await(t *testing.T, con *testutil.Console, from int, re string) (int, []string) {
	t.Helper()
	end, m := con.WaitFor(t, from, regexp.MustCompile(re+"|"+status.String()))
	if status.MatchString(m[0]) {
		t.Fatalf("the command ended (%s) before showing %q:\n%s", m[0], re, con.Screen(0))
	}
	return end, m
}

// injected matches the pushed line once the operator's shell has run it:
// the pushed text itself reads "$(id -u)", never a number.
var injected = regexp.MustCompile(`INJECTED-AS-[0-9]`)

// TestTIOCSTI plays an operator at an interactive root shell on a real
// terminal who runs a jail whose program pushes "echo INJECTED-AS-$(id -u)"
// into its standard input with TIOCSTI, also with high bits set in the
// command. Nothing may reach the operator's shell, with every confinement
// flag or none, and the program must see the ioctl fail. The control runs
// the same program directly in the operator's session, where the shell
// does run the pushed line: the harness sees an injection when there is one.
func TestTIOCSTI(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	jail := probeJail(t, dir, "tiocsti", "")
	probe := filepath.Join(dir, "tiocsti-probe")
	for _, high := range []string{"", " high"} {
		tests := []struct {
			name, line string
			inject     bool
		}{
			{"control: directly in the operator's session", probe + " tiocsti" + high, true},
			{"run: no confinement flag", jailimgBin + " run " + jail + " tiocsti" + high, false},
			{"run: --seccomp --landlock", jailimgBin + " run --seccomp --landlock " + jail + " tiocsti" + high, false},
		}
		for _, tt := range tests {
			t.Run(tt.name+high, func(t *testing.T) {
				con := operatorShell(t)
				end, code := shell(t, con, 0, tt.line)
				// Whatever was pushed is read by the shell before this line.
				con.Type(t, "echo END-$((40+2))\n")
				last, _ := con.WaitFor(t, end, regexp.MustCompile(`END-42`))
				screen := con.Screen(0)[:last]
				report := regexp.MustCompile(`TIOCSTI (pushed|failed: \w+)`).FindStringSubmatch(string(screen))
				if code != "0" || report == nil {
					t.Fatalf("%s: exit status %s, no report from the program:\n%s", tt.line, code, screen)
				}
				if got := injected.Match(screen); got != tt.inject {
					t.Errorf("operator's shell ran the pushed line: %v, want %v; the program reported %q; screen:\n%s", got, tt.inject, report[0], screen)
				}
				if failed := strings.HasPrefix(report[1], "failed"); failed == tt.inject {
					t.Errorf("the program reported %q, want the ioctl to fail: %v", report[0], !tt.inject)
				}
			})
		}
	}
}

// TestRunTTY runs `jailimg run -t` from an operator's shell on a real
// terminal: the service gets a terminal of its own as stdin and controlling
// terminal, its output is relayed, the window size follows the operator's
// (also on SIGWINCH), the operator's input reaches it, its exit status
// comes back, and the operator's terminal mode is restored.
func TestRunTTY(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	jail := probeJail(t, dir, "tty", "run:\n  seccomp: true\n  landlock: true\n")

	t.Run("stdin not a terminal", func(t *testing.T) {
		res := jailimg(t, dir, nil, "run", "-t", jail, "tty")
		if res.code != exitUsage || !strings.Contains(res.stderr, "-t: stdin is not a terminal") {
			t.Errorf("run -t with stdin /dev/null: exit %d, want %d; stderr %q", res.code, exitUsage, res.stderr)
		}
	})

	con := operatorShell(t)
	con.SetSize(t, 37, 91)
	con.WaitFor(t, 0, regexp.MustCompile(`\$ `))
	before, err := unix.IoctlGetTermios(int(con.Slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(con.Slave.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	operator := fmt.Sprintf("%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))

	typeLine(t, con, jailimgBin+" run -t "+jail+" tty")
	ready, _ := await(t, con, 0, `READY`)
	screen := string(con.Screen(0)[:ready])
	for _, want := range []string{"ISATTY true", "CTTY true", "SIZE 37x91"} {
		if !strings.Contains(screen, want) {
			t.Errorf("service did not report %q:\n%s", want, screen)
		}
	}
	rdev := regexp.MustCompile(`RDEV ([0-9]+):([0-9]+)`).FindStringSubmatch(screen)
	if rdev == nil {
		t.Fatalf("no RDEV line:\n%s", screen)
	}
	if major, _ := strconv.Atoi(rdev[1]); rdev[1]+":"+rdev[2] == operator || major < 136 || major > 143 {
		t.Errorf("service's terminal is %s:%s, want a pty slave (major 136-143) other than the operator's %s", rdev[1], rdev[2], operator)
	}

	con.SetSize(t, 50, 120)
	winch, _ := await(t, con, ready, `WINCH \S+`)
	if got := string(con.Screen(ready)[:winch-ready]); !strings.Contains(got, "WINCH 50x120") {
		t.Errorf("after the operator's terminal was resized: %q, want WINCH 50x120", got)
	}
	con.Type(t, "7\n")
	_, m := con.WaitFor(t, winch, status)
	if m[1] != "7" {
		t.Errorf("exit status %s, want 7 (the number typed)\n%s", m[1], con.Screen(0))
	}
	after, err := unix.IoctlGetTermios(int(con.Slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if *after != *before {
		t.Errorf("terminal mode not restored:\nbefore %+v\nafter  %+v", before, after)
	}
	if bytes.Contains(con.Screen(0), []byte("BAD INPUT")) {
		t.Errorf("the service misread the input:\n%s", con.Screen(0))
	}
}

// TestRunCtrlC types Ctrl-C at the operator's terminal while a service
// runs: without -t the terminal signals jailimg, which forwards SIGINT to
// the service in its own session; with -t the byte reaches the service's
// own terminal, which signals it. Either way the service dies of SIGINT
// and jailimg exits 130.
func TestRunCtrlC(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	jail := probeJail(t, dir, "ctrlc", "")
	for _, flag := range []string{"", "-t "} {
		t.Run("run "+flag, func(t *testing.T) {
			con := operatorShell(t)
			typeLine(t, con, jailimgBin+" run "+flag+jail+" sleep")
			ready, _ := await(t, con, 0, `READY`)
			con.Type(t, "\x03")
			if _, m := con.WaitFor(t, ready, status); m[1] != "130" {
				t.Errorf("exit status %s after Ctrl-C, want 130:\n%s", m[1], con.Screen(0))
			}
		})
	}
}

// ttyReport matches the probe's ttyioctl report of one descriptor.
var ttyReport = regexp.MustCompile(`TTYIOCTL ([0-2]) TIOCSETD=(\w+) TCSETS=(\w+) TCXONC=(\w+)`)

// TestRunTerminalNotPassed runs, from an operator's shell on a real
// terminal, a jail whose program tries on its stdin, stdout and stderr the
// terminal ioctls that would let it change the operator's line discipline
// and modes or stop the terminal's output (in harmless forms that show the
// access), and reads its stdin. Without -t the service gets no terminal:
// every ioctl fails with ENOTTY, stdin reads end of file (it cannot take
// keystrokes meant for the shell), its output still reaches the screen, and
// the operator's terminal mode is unchanged. The control runs the program
// directly in the operator's session, where the ioctls succeed.
func TestRunTerminalNotPassed(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	jail := probeJail(t, dir, "ttyio", "")
	probe := filepath.Join(dir, "ttyio-probe")
	for _, tt := range []struct {
		name, line string
		want       string // every result, and the STDIN line
	}{
		{"control: directly in the operator's session", probe + " ttyioctl", "ok"},
		{"run", jailimgBin + " run " + jail + " ttyioctl", "ENOTTY"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			con := operatorShell(t)
			con.WaitFor(t, 0, regexp.MustCompile(`\$ `))
			before, err := unix.IoctlGetTermios(int(con.Slave.Fd()), unix.TCGETS)
			if err != nil {
				t.Fatal(err)
			}
			end, code := shell(t, con, 0, tt.line)
			screen := string(con.Screen(0)[:end])
			reports := ttyReport.FindAllStringSubmatch(screen, -1)
			if code != "0" || len(reports) != 3 {
				t.Fatalf("%s: exit status %s, %d TTYIOCTL reports, want 0 and 3:\n%s", tt.line, code, len(reports), screen)
			}
			for _, r := range reports {
				if r[2] != tt.want || r[3] != tt.want || r[4] != tt.want {
					t.Errorf("fd %s: %s, want every ioctl %s", r[1], r[0], tt.want)
				}
			}
			stdin := "STDIN terminal"
			if tt.want == "ENOTTY" {
				stdin = "STDIN EOF"
			}
			if !strings.Contains(screen, stdin) {
				t.Errorf("the program did not report %q:\n%s", stdin, screen)
			}
			after, err := unix.IoctlGetTermios(int(con.Slave.Fd()), unix.TCGETS)
			if err != nil {
				t.Fatal(err)
			}
			if *after != *before {
				t.Errorf("terminal mode changed:\nbefore %+v\nafter  %+v", before, after)
			}
		})
	}
}

// TestRunLogFileRelayed runs a jail whose program, given a log file as
// stdout and stderr (`>> LOG 2>&1`, as dist/jailimg-jail starts jails),
// tries to rewrite it: clear O_APPEND, write at offset 0, truncate. jailimg
// relays a file through a pipe, so the attempt fails (ESPIPE, EINVAL), what
// the log held before is kept and the program's report is appended. The
// control gives the program the file directly, and the log is rewritten.
func TestRunLogFileRelayed(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	jail := probeJail(t, dir, "logw", "")
	probe := filepath.Join(dir, "logw-probe")
	const earlier = "EARLIER RUNS: kept\n"
	for _, tt := range []struct {
		name, cmd string
		relayed   bool
	}{
		{"control: the file given directly", probe + " logrewrite", false},
		{"run", jailimgBin + " run " + jail + " logrewrite", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			log := filepath.Join(t.TempDir(), "jail.log")
			if err := os.WriteFile(log, []byte(earlier), 0o644); err != nil {
				t.Fatal(err)
			}
			sh := exec.Command("/bin/sh", "-c", tt.cmd+` >>"$1" 2>&1`, "sh", log)
			if out, err := sh.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v: %s", tt.cmd, err, out)
			}
			b, err := os.ReadFile(log)
			if err != nil {
				t.Fatal(err)
			}
			got := string(b)
			want := "LOG F_SETFL=ok PWRITE=ESPIPE FTRUNCATE=EINVAL\n"
			if tt.relayed && got != earlier+want {
				t.Errorf("the log after the jail tried to rewrite it: %q, want %q", got, earlier+want)
			}
			if !tt.relayed && strings.HasPrefix(got, earlier) {
				t.Errorf("control: the program given the file did not rewrite it: %q", got)
			}
		})
	}
}

// TestRunHostPIDLeftovers runs, with --pid host (where no pid namespace
// ends the jail's processes with its init), a service that leaves a
// grandchild behind, orphaned and holding its stdout, a log file relayed
// through a pipe. jailimg run must end with the service's status, and the
// grandchild must be gone: the init, a subreaper, kills what is reparented
// to it, including what the children it kills leave.
func TestRunHostPIDLeftovers(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	jail := probeJail(t, dir, "orphan", "")
	log := filepath.Join(dir, "jail.log")
	sh := exec.Command("/bin/sh", "-c", jailimgBin+" run --pid host "+jail+` orphan >>"$1" 2>&1`, "sh", log)
	if out, err := sh.CombinedOutput(); err != nil {
		b, _ := os.ReadFile(log)
		t.Fatalf("jailimg run --pid host: %v: %s\nlog:\n%s", err, out, b)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`ORPHAN ([0-9]+)\n`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no ORPHAN line in the log:\n%s", b)
	}
	pid, _ := strconv.Atoi(string(m[1]))
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
		unix.Kill(pid, unix.SIGKILL)
		t.Errorf("the service's orphaned grandchild (pid %d) still runs after jailimg run ended", pid)
	}
}

// TestRunFailingStream runs a service whose stdout is /dev/full, which
// jailimg relays through a pipe: every write to the stream fails (ENOSPC),
// but the relay goes on draining the pipe, so the service writes on and
// ends with its own status, 0, rather than dying of SIGPIPE (141) at its
// next write once a relay that stopped had closed the pipe. jailimg warns
// once that the output is lost.
func TestRunFailingStream(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	jail := probeJail(t, dir, "lines", "")
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer full.Close()
	var stderr strings.Builder
	cmd := exec.Command(jailimgBin, "run", jail, "lines", "10")
	cmd.Stdout, cmd.Stderr = full, &stderr
	err = cmd.Run()
	if err != nil {
		t.Errorf("jailimg run with stdout /dev/full: %v, want exit 0 (the service's); stderr:\n%s", err, stderr.String())
	}
	if n := strings.Count(stderr.String(), "the service's output is lost"); n != 1 {
		t.Errorf("jailimg warned %d times that the output is lost, want once; stderr:\n%s", n, stderr.String())
	}
}
