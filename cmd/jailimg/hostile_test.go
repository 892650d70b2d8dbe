package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// stateDirs is a policy with one state directory, private to svc.
const stateDirs = `dirs:
  - {path: /var/lib/probe, mode: 0700, owner: svc, group: svc}
run:
  state: [/var/lib/probe]
`

// TestRunStateSetid: a compromised service leaves a setuid and setgid copy
// of a program in its state directory, opened to everyone. The jail's ids
// are the image's, and name anyone on the host (uid 1000 is the host's
// first user; a group may be disk or shadow): a host user who could run
// it would become them. STATE is made root's only, so no host user can
// reach the file; and a STATE others may enter, made by the admin, is
// refused before the service runs.
func TestRunStateSetid(t *testing.T) {
	needRoot(t)
	dir := openDir(t)
	jail := probeJail(t, dir, "setid", stateDirs)

	state := filepath.Join(dir, "state")
	out := mustJailimg(t, dir, nil, "run", "--state", state, jail, "setid", "/var/lib/probe/planted")
	if !strings.Contains(out, "SETID /var/lib/probe/planted 6755") {
		t.Fatalf("the probe could not plant its setuid file: %q", out)
	}
	planted := filepath.Join(state, "var/lib/probe/planted")
	cmd := exec.Command(planted, "creds")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	if got, err := cmd.CombinedOutput(); !errors.Is(err, os.ErrPermission) {
		creds, _, _ := strings.Cut(string(got), "\nCAP") // its ids, not its environment
		t.Errorf("a host user (nobody) ran the jail's setuid file %s: %v\n%s", planted, err, creds)
	}
	var st unix.Stat_t
	if err := unix.Stat(state, &st); err != nil || st.Mode&0o7777 != 0o700 {
		t.Errorf("STATE %s: mode %04o (%v), want 0700", state, st.Mode&0o7777, err)
	}

	t.Run("STATE others may enter", func(t *testing.T) {
		open := filepath.Join(dir, "open-state")
		if err := os.Mkdir(open, 0o755); err != nil {
			t.Fatal(err)
		}
		r := jailimg(t, dir, nil, "run", "--state", open, jail, "setid", "/var/lib/probe/planted")
		if r.code != 125 || !strings.Contains(r.stderr, open) || strings.Contains(r.stdout, "SETID") {
			t.Errorf("run with a STATE of mode 0755: exit %d, want 125 naming it before the service runs\n%s%s", r.code, r.stdout, r.stderr)
		}
	})
}

// TestRunSessionKeyring: the admin's login session keyring holds a secret
// (pam_keyinit gives every login one). An image whose policy turns
// seccomp off, run with plain `jailimg run`, must not find it: the jail
// gets a session keyring of its own, as runc gives each container.
func TestRunSessionKeyring(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	jail := probeJail(t, dir, "keyring", "run:\n  seccomp: false\n")
	r := inSessionKeyring(t, "jailimg-test-secret", "TOPSECRET", func() result {
		return jailimg(t, dir, nil, "run", jail, "keyring", "jailimg-test-secret")
	})
	if r.code != 0 || !strings.Contains(r.stdout, "KEY ENOKEY") {
		t.Errorf("the jail looked for the admin's session key: exit %d, %q, want KEY ENOKEY\n%s", r.code, r.stdout, r.stderr)
	}
}

// inSessionKeyring runs f on a thread that joined a new session keyring
// holding the user key name=value, as a login session's, so that what f
// starts inherits it. The thread is discarded afterwards.
func inSessionKeyring(t *testing.T, name, value string, f func() result) result {
	t.Helper()
	done := make(chan result)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		if _, err := unix.KeyctlJoinSessionKeyring("jailimg-test-login"); err != nil {
			t.Error(err)
			close(done)
			return
		}
		if _, err := unix.AddKey("user", name, []byte(value), unix.KEY_SPEC_SESSION_KEYRING); err != nil {
			t.Error(err)
			close(done)
			return
		}
		done <- f()
	}()
	r, ok := <-done
	if !ok {
		t.FailNow()
	}
	return r
}

// TestRunPolicyOptOutWarns: an image whose run policy turns off every
// default confinement runs, with plain `jailimg run`, only after a warning
// naming each (the admin did not choose them; jailimg check is not the
// only place to learn it); the admin's own flags, either way, silence it.
func TestRunPolicyOptOutWarns(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	jail := probeJail(t, dir, "optout", "run:\n  seccomp: false\n  landlock: false\n  pid: host\n  ipc: host\n")
	optOuts := []string{"seccomp: false", "landlock: false", "pid: host", "ipc: host"}
	for _, tt := range []struct {
		name  string
		flags []string
		warn  bool
	}{
		{"plain jailimg run", nil, true},
		{"the admin's flags keep them", []string{"--seccomp", "--landlock", "--pid", "private", "--ipc", "private"}, false},
		{"the admin's flags opt out too", []string{"--no-seccomp", "--no-landlock", "--pid", "host", "--ipc", "host"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := jailimg(t, dir, nil, append(append(append([]string{"run"}, tt.flags...), jail), "creds")...)
			if r.code != 0 {
				t.Fatalf("exit %d\n%s", r.code, r.stderr)
			}
			for _, out := range optOuts {
				if got := strings.Contains(r.stderr, `run="`+out+`"`); got != tt.warn {
					t.Errorf("a warning of %q: %v, want %v\n%s", out, got, tt.warn, r.stderr)
				}
			}
		})
	}
}

// TestRunForkBomb: a fork bomb in a plain `jailimg run` stops short of 4096
// tasks of the jail's uid, with EAGAIN, instead of filling the host's task
// table (root's own limit, which the service used to inherit, is about
// half of it). The control raises the limit with --rlimit and forks past
// 4096: the default, not the host, stopped the first.
func TestRunForkBomb(t *testing.T) {
	needRoot(t)
	jail := probeJail(t, t.TempDir(), "forks", "")

	j := runJail(t, jail, "forks", "5000")
	got := j.until(t, "FORKS ")
	var k int
	var errno string
	if _, err := fmt.Sscanf(got[len(got)-1], "FORKS %d %s", &k, &errno); err != nil || errno != "EAGAIN" || k >= 4096 || k < 2048 {
		t.Errorf("a fork bomb in a plain jailimg run: %q, want it stopped with EAGAIN below 4096 tasks (the probe's threads and the uid's other tasks count)", got[len(got)-1])
	}
	j.stop(t)

	j = runJail(t, "--rlimit", "nproc=8192", jail, "forks", "4200")
	if got := j.until(t, "FORKS "); got[len(got)-1] != "FORKS 4200 ok" {
		t.Errorf("with --rlimit nproc=8192: %q, want \"FORKS 4200 ok\"", got[len(got)-1])
	}
	j.stop(t)
}
