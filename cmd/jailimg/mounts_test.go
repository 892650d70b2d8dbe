package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/jailimg/jailimg/internal/loopdev"
	"github.com/jailimg/jailimg/internal/runtest"
)

// runningJail is `jailimg run` in the background, its output read line by line.
type runningJail struct {
	cmd    *exec.Cmd
	lines  chan string
	stderr bytes.Buffer
	done   chan struct{}
	err    error
}

// runJail starts `jailimg run ARGS...`. Cleanup kills what is left of it.
func runJail(t *testing.T, args ...string) *runningJail {
	t.Helper()
	j := &runningJail{lines: make(chan string, 1000), done: make(chan struct{})}
	j.cmd = exec.Command(jailimgBin, append([]string{"run"}, args...)...)
	j.cmd.Stderr = &j.stderr
	out, err := j.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := j.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			j.lines <- sc.Text()
		}
		close(j.lines)
		j.err = j.cmd.Wait()
		close(j.done)
	}()
	t.Cleanup(func() {
		j.cmd.Process.Kill()
		for range j.lines {
		}
		<-j.done
	})
	return j
}

// until returns the lines up to the first that starts with prefix,
// failing the test when the output ends first.
func (j *runningJail) until(t *testing.T, prefix string) []string {
	t.Helper()
	var got []string
	for line := range j.lines {
		got = append(got, line)
		if strings.HasPrefix(line, prefix) {
			return got
		}
	}
	<-j.done
	t.Fatalf("jailimg run ended (%v) before printing %q:\n%s\nstderr:\n%s", j.err, prefix, strings.Join(got, "\n"), j.stderr.String())
	return nil
}

// service returns the host pid of the service: the child of the jail's
// init, the child of jailimg run.
func (j *runningJail) service(t *testing.T) int {
	t.Helper()
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", j.cmd.Process.Pid))
	for _, task := range tasks {
		raw, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", j.cmd.Process.Pid, task.Name()))
		if f := strings.Fields(string(raw)); len(f) > 0 {
			initPid, _ := strconv.Atoi(f[0])
			pid, err := runtest.Service(initPid)
			if err != nil {
				t.Fatal(err)
			}
			return pid
		}
	}
	t.Fatal("jailimg run has no child")
	return 0
}

// stop sends SIGTERM to jailimg run and returns its exit code.
func (j *runningJail) stop(t *testing.T) int {
	t.Helper()
	if err := j.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for range j.lines {
	}
	<-j.done
	var ee *exec.ExitError
	if errors.As(j.err, &ee) {
		return ee.ExitCode()
	}
	return 0
}

// mountedDirs is the probe jail's run policy: every kind of directory
// jailimg run mounts, a nested state directory, host files, /dev/null.
const mountedDirs = `dirs:
  - {path: /run/probe, mode: 0750, owner: svc, group: svc}
  - {path: /var/lib/probe, mode: 0700, owner: svc, group: svc}
  - {path: /var/lib/probe/nested, mode: 0750, owner: svc, group: extra}
  - {path: /var/log/probe, mode: 0750, owner: svc, group: svc}
  - {path: /srv/open, mode: 0755, owner: svc, group: svc}
  - {path: /tmp, mode: 01777}
devices: [null]
run:
  runtime: [/run/probe]
  state: [/var/lib/probe, /var/lib/probe/nested]
  logs: [/var/log/probe]
  tmp: true
  hostfiles: [/etc/hosts]
`

// TestRunReadOnly unpacks the probe's jail onto a partition the admin
// mounted (as fstab would), makes a file and a directory of the rootfs
// world-writable, seals the partition read-only with unpack --read-only,
// and runs the probe with plain `jailimg run --state STATE`: it can write
// its runtime, state, logs and /tmp directories and /dev/null, and nothing
// else of the rootfs, not even what the test made world-writable; the
// state directories are created with the image's owners and modes and
// kept across a restart, the runtime directory is not; none of the jail's
// mounts is in the host's mount table, while it runs or after; and a
// symlink the jail plants in its state directory is never followed.
func TestRunReadOnly(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	target := readOnlyJail(t, dir)

	state := filepath.Join(dir, "state")
	writes := map[string]string{
		"/world-writable": "EROFS", "/srv/open/new": "EROFS", "/bin/probe": "EROFS", "/new": "EROFS",
		"/run/probe/x": "ok", "/var/lib/probe/x": "ok", "/var/lib/probe/nested/x": "ok", "/var/log/probe/x": "ok",
		"/tmp/x": "ok", "/dev/null": "ok", "/etc/hosts": "EACCES", // root's 0644 file, bound read-only
	}
	j := runJail(t, append([]string{"--state", state, target, "write"}, slices.Sorted(maps.Keys(writes))...)...)
	wantWrites(t, j, writes)
	pid := j.service(t)
	if m := runtest.HostMountsUnder(t, target); len(m) != 0 {
		t.Errorf("while the jail runs, the host has mounts in it: %v", m)
	}
	wantJailMounts(t, pid)
	hosts, _ := os.ReadFile("/etc/hosts")
	if in, err := os.ReadFile(fmt.Sprintf("/proc/%d/root/etc/hosts", pid)); err != nil || !bytes.Equal(in, hosts) {
		t.Errorf("the jail's /etc/hosts: %q, %v; want the host's", in, err)
	}
	wantOwners(t, state)
	if code := j.stop(t); code != 128+int(syscall.SIGTERM) {
		t.Errorf("jailimg run exited %d, want %d (the probe dies of SIGTERM)\n%s", code, 128+int(syscall.SIGTERM), j.stderr.String())
	}
	if m := runtest.HostMountsUnder(t, target); len(m) != 0 {
		t.Errorf("after the jail stopped, the host has mounts in it: %v", m)
	}

	t.Run("restart", func(t *testing.T) {
		j := runJail(t, "--state", state, target, "write", "/run/probe/y")
		j.until(t, "READY")
		root := fmt.Sprintf("/proc/%d/root", j.service(t))
		if _, err := os.Stat(root + "/run/probe/x"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the runtime dir keeps the first run's file: %v", err)
		}
		for _, p := range []string{"/var/lib/probe/x", "/var/lib/probe/nested/x", "/var/log/probe/x"} {
			if b, err := os.ReadFile(root + p); err != nil || string(b) != "written by probe\n" {
				t.Errorf("%s after a restart: %q, %v; want the first run's line", p, b, err)
			}
		}
		j.stop(t)
	})

	t.Run("symlink planted in the state dir", func(t *testing.T) {
		// The service owns STATE/var/lib/probe: it may swap nested for a
		// symlink to the host's /etc between two runs.
		nested := filepath.Join(state, "var/lib/probe/nested")
		if err := os.Rename(nested, nested+".old"); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/etc", nested); err != nil {
			t.Fatal(err)
		}
		var before unix.Stat_t
		unix.Stat("/etc", &before)
		r := jailimg(t, "", nil, "run", "--state", state, target, "write", "/var/lib/probe/nested/planted")
		var after unix.Stat_t
		unix.Stat("/etc", &after)
		if r.code != 125 || !strings.Contains(r.stderr, "/var/lib/probe/nested") {
			t.Errorf("run with a symlink for a state dir: exit %d, want 125 naming it\n%s%s", r.code, r.stdout, r.stderr)
		}
		if _, err := os.Lstat("/etc/planted"); err == nil || before.Uid != after.Uid || before.Mode != after.Mode {
			t.Errorf("the host's /etc was reached: planted %v, owner %d -> %d, mode %o -> %o", err, before.Uid, after.Uid, before.Mode, after.Mode)
		}
	})
}

// readOnlyJail unpacks the probe's jail onto a partition the admin mounted
// (as fstab would), makes a file and a directory of the rootfs
// world-writable, and seals the partition read-only with unpack
// --read-only; it returns the bundle.
func readOnlyJail(t *testing.T, dir string) string {
	t.Helper()
	layout := probeLayout(t, dir, "ro", mountedDirs)
	dev := loopdev.New(t, "ext4")
	target := filepath.Join(dir, "jail")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount(dev, target, "ext4", 0, ""); err != nil { // the admin's fstab line
		t.Fatal(err)
	}
	mustJailimg(t, dir, nil, "-q", "unpack", layout, target)
	rootfs := filepath.Join(target, "current", "rootfs")
	if err := os.WriteFile(filepath.Join(rootfs, "world-writable"), nil, 0o666); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"world-writable", "srv/open"} {
		if err := os.Chmod(filepath.Join(rootfs, p), 0o777); err != nil {
			t.Fatal(err)
		}
	}
	mustJailimg(t, dir, nil, "-q", "unpack", "--read-only", layout, target)
	if opts := loopdev.Options(target); !slices.Contains(opts, "ro") || !slices.Contains(opts, "nosuid") {
		t.Fatalf("the partition is mounted %v, want ro and nosuid", opts)
	}
	return target
}

// wantWrites reads the probe's WRITE lines up to READY and checks each
// path's result against want ("ok" or an errno name).
func wantWrites(t *testing.T, j *runningJail, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for _, l := range j.until(t, "READY") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "WRITE" {
			got[f[1]] = f[2]
		}
	}
	for _, p := range slices.Sorted(maps.Keys(want)) {
		if got[p] != want[p] {
			t.Errorf("the jail writing %s: %q, want %q", p, got[p], want[p])
		}
	}
}

// wantJailMounts checks the options of the jail's mounts, read from the
// service's own mount table (paths as the jail sees them).
func wantJailMounts(t *testing.T, pid int) {
	t.Helper()
	got := runtest.Mounts(t, pid)
	for dir, want := range map[string]string{
		"/": "ro,nosuid,nodev,", "/run/probe": "rw,nosuid,nodev,noexec, tmpfs", "/tmp": "rw,nosuid,nodev,noexec, tmpfs",
		"/var/lib/probe": "rw,nosuid,nodev,noexec,", "/var/lib/probe/nested": "rw,nosuid,nodev,noexec,",
		"/var/log/probe": "rw,nosuid,nodev,noexec,", "/etc/hosts": "ro,nosuid,nodev,noexec,", "/dev/null": "ro,nosuid,noexec,",
	} {
		opts, fs, _ := strings.Cut(want, " ")
		gotOpts, gotFS, _ := strings.Cut(got[dir], " ")
		if !strings.HasPrefix(gotOpts+",", opts) || fs != "" && gotFS != fs {
			t.Errorf("the jail's %s is mounted %q, want %q", dir, got[dir], want)
		}
	}
}

// wantOwners checks the state directories: STATE root's, 0700; the
// directories above each leaf root's, 0755; each leaf with the image directory's owner and
// mode.
func wantOwners(t *testing.T, state string) {
	t.Helper()
	for p, want := range map[string][3]uint32{
		"": {0, 0, 0o700}, "var": {0, 0, 0o755}, "var/lib": {0, 0, 0o755}, "var/log": {0, 0, 0o755},
		"var/lib/probe": {1000, 1000, 0o700}, "var/lib/probe/nested": {1000, 2000, 0o750}, "var/log/probe": {1000, 1000, 0o750},
	} {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(state, p), &st); err != nil || st.Uid != want[0] || st.Gid != want[1] || st.Mode&0o7777 != want[2] {
			t.Errorf("STATE/%s: %d:%d %04o (%v), want %d:%d %04o", p, st.Uid, st.Gid, st.Mode&0o7777, err, want[0], want[1], want[2])
		}
	}
}

// TestRunSyslog floods the jail's /dev/log with 100,000 messages, with a
// syslog socket the test owns as the host's: the first run reads it,
// and gets the messages tagged with the jail's name, no more than the
// rate allows, and a count of the dropped ones; the second never reads it,
// and the jail is not blocked either. The launcher's memory stays bounded.
func TestRunSyslog(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	jail := probeJail(t, dir, "syslog", "run:\n  syslog: true\n")
	const rate, burst, sent = 100, 500, 100000
	for _, read := range []bool{true, false} {
		t.Run(map[bool]string{true: "host reads", false: "host never reads"}[read], func(t *testing.T) {
			sock := filepath.Join(t.TempDir(), "log")
			host, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
			if err != nil {
				t.Fatal(err)
			}
			defer host.Close()
			got := make(chan []string, 1)
			if read {
				go func() { got <- readAll(host) }()
			}
			start := time.Now()
			j := runJail(t, "--state", filepath.Join(dir, "state"), "--syslog-socket", sock, "--syslog-rate", strconv.Itoa(rate),
				jail, "syslog", strconv.Itoa(sent))
			if lines := j.until(t, "READY"); !slices.Contains(lines, "SENT "+strconv.Itoa(sent)) {
				t.Fatalf("the jail could not send its messages: %q", lines)
			}
			elapsed := time.Since(start)
			if hwm := vmHWM(t, j.cmd.Process.Pid); hwm > 100<<20 {
				t.Errorf("jailimg run's peak memory is %d bytes after %d messages", hwm, sent)
			}
			j.stop(t)
			if !read {
				return
			}
			host.SetReadDeadline(time.Now()) // what is queued is read, then readAll returns
			msgs := <-got
			limit := burst + int(elapsed.Seconds()*rate) + 10
			dropped := slices.ContainsFunc(msgs, func(m string) bool { return strings.Contains(m, "messages dropped") })
			if len(msgs) == 0 || len(msgs) > limit || !dropped {
				t.Errorf("the host got %d messages in %v (at most %d allowed), a dropped count: %v", len(msgs), elapsed, limit, dropped)
			}
			for _, m := range msgs {
				if !strings.Contains(m, " jailimg/syslog: ") {
					t.Errorf("a message without the jail's tag: %q", m)
					break
				}
			}
		})
	}
}

// readAll reads datagrams until the socket fails (closed, or past its deadline).
func readAll(c *net.UnixConn) []string {
	var out []string
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return out
		}
		out = append(out, string(buf[:n]))
	}
}

// vmHWM is the peak resident memory of pid, in bytes.
func vmHWM(t *testing.T, pid int) int {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in %s", raw)
	return 0
}

// TestRunTmpfsSizeCap: an image whose run policy sizes its tmpfs mounts
// beyond half of the host's memory (tmpfs pages are memory, and nothing
// else caps the jail's) does not start with plain `jailimg run`: it exits
// 125, one line names run.tmpfs_size and --tmpfs-size, and the probe never
// runs. With --tmpfs-size the operator's size holds, and /tmp is mounted at
// it.
func TestRunTmpfsSizeCap(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil {
		t.Fatal(err)
	}
	huge := fmt.Sprintf("%dG", uint64(si.Totalram)*uint64(si.Unit)>>30+1) // more than the host has
	target := probeJail(t, dir, "bigtmp", "dirs:\n  - {path: /tmp, mode: 01777}\nrun:\n  tmp: true\n  tmpfs_size: "+huge+"\n")

	res := jailimg(t, dir, nil, "run", target, "creds") // prints and exits, if it runs
	lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
	if res.code != 125 || len(lines) != 1 || !strings.Contains(lines[0], "run.tmpfs_size "+huge) || !strings.Contains(lines[0], "--tmpfs-size") ||
		res.stdout != "" {
		t.Errorf("jailimg run of an image asking %s of tmpfs: exit %d, stdout %q, stderr %q; want exit 125 (the launcher's failure), nothing run, and one line naming run.tmpfs_size and --tmpfs-size",
			huge, res.code, res.stdout, res.stderr)
	}

	j := runJail(t, "--tmpfs-size", "16M", target, "write", "/tmp/x")
	wantWrites(t, j, map[string]string{"/tmp/x": "ok"})
	info, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", j.service(t)))
	if err != nil {
		t.Fatal(err)
	}
	var tmp string
	for _, l := range strings.Split(string(info), "\n") {
		if f := strings.Fields(l); len(f) > 4 && f[4] == "/tmp" {
			tmp = l
		}
	}
	if !strings.Contains(tmp, "size=16384k") || !strings.Contains(tmp, "nr_inodes=4096") {
		t.Errorf("with --tmpfs-size 16M the jail's /tmp is mounted %q, want size=16384k and nr_inodes=4096 (one per 4 KiB)", tmp)
	}
	j.stop(t)

	// Inodes (and the names and xattrs they carry) are kernel memory the
	// size does not count: a service filling the tmpfs with empty files
	// stops at one per 4 KiB of it (the root directory holds one).
	j = runJail(t, "--tmpfs-size", "1M", target, "files", "/tmp", "100000")
	var got string
	for _, l := range j.until(t, "READY") {
		if strings.HasPrefix(l, "FILES ") {
			got = l
		}
	}
	if got != "FILES 255 ENOSPC" {
		t.Errorf("the jail creating empty files in a 1M /tmp: %q, want \"FILES 255 ENOSPC\"", got)
	}
	j.stop(t)
}
