package run_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

	"github.com/jailimg/jailimg/internal/runtest"
	"github.com/jailimg/jailimg/pkg/bundle"
	"github.com/jailimg/jailimg/pkg/policy"
	"github.com/jailimg/jailimg/pkg/run"
)

// TestConfined reads /proc/PID/status of a jailed service, the child of the
// jail's init: ids, groups, no capability in any set, no_new_privs, and the
// seccomp filter; and its root, the jail.
func TestConfined(t *testing.T) {
	runtest.NeedRoot(t, "privilege drop")
	jail := makeJail(t)
	for _, seccomp := range []bool{false, true} {
		t.Run("seccomp="+strconv.FormatBool(seccomp), func(t *testing.T) {
			p, err := run.Start(context.Background(), jail, run.WithUser("svc"),
				run.WithCommand([]string{"/bin/escape", "sleep"}), run.WithSeccomp(seccomp), run.WithStrict())
			if err != nil {
				t.Fatal(err)
			}
			defer p.Wait()
			defer p.Signal(syscall.SIGKILL)
			pid, err := run.ServicePid(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := runtest.Confined(pid, svcUID, svcGID, []uint32{svcExtra}); err != nil {
				t.Error(err)
			}
			st, err := runtest.ReadStatus(pid)
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int{false: 0, true: 2}[seccomp]; st.Seccomp != want {
				t.Errorf("Seccomp %d, want %d", st.Seccomp, want)
			}
			exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/root")
			if err != nil || exe != jail {
				t.Errorf("root of the service %q (%v), want %q", exe, err, jail)
			}
		})
	}
}

// makeBundle wraps a jail as a bundle whose image config sets the command,
// user, workdir, env and a Policy.
func makeBundle(t *testing.T, jail string, pol policy.Policy) string {
	t.Helper()
	dir := t.TempDir()
	gen := filepath.Join(dir, bundle.GenPrefix+"1")
	must(t, os.Mkdir(gen, 0o755))
	must(t, os.Rename(jail, filepath.Join(gen, bundle.RootFS)))
	t.Cleanup(func() { os.Rename(filepath.Join(gen, bundle.RootFS), jail) })
	label, err := json.Marshal(pol)
	must(t, err)
	meta := bundle.Meta{ManifestDigest: "sha256:00", Config: v1.ConfigFile{Config: v1.Config{
		Entrypoint: []string{"/bin/escape"}, Cmd: []string{"info"}, User: "svc",
		WorkingDir: "/data", Env: []string{"PATH=/bin", "GREETING=hello"},
		Labels: map[string]string{policy.Label: string(label)},
	}}}
	b, err := json.Marshal(meta)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(gen, bundle.MetaFile), b, 0o644))
	must(t, os.Symlink(bundle.GenPrefix+"1", filepath.Join(dir, bundle.Current)))
	return dir
}

type info struct {
	UID    int      `json:"uid"`
	GID    int      `json:"gid"`
	Groups []int    `json:"groups"`
	Cwd    string   `json:"cwd"`
	Env    []string `json:"env"`
	Umask  int      `json:"umask"`
	Nofile uint64   `json:"nofile"`
	Fds    []int    `json:"fds"`
	Args   []string `json:"args"`
}

// TestBundleDefaults runs a bundle with no command: everything comes from
// its image config and Policy, and options override them.
func TestBundleDefaults(t *testing.T) {
	runtest.NeedRoot(t, "privilege drop")
	// Policy.Umask is left out: policy.Octal does not yet decode from JSON.
	target := makeBundle(t, makeJail(t), policy.Policy{Rlimits: map[string]uint64{"nofile": 64}})
	tests := []struct {
		name string
		opts []run.Option
		want info
	}{
		{"config", nil, info{UID: svcUID, GID: svcGID, Groups: []int{svcExtra}, Cwd: "/data", Umask: 0o077, Nofile: 64,
			Env: []string{"GREETING=hello", "HOME=/data", "PATH=/bin"}, Args: []string{"/bin/escape", "info"}}},
		{"overridden", []run.Option{run.WithUser("1000:3000"), run.WithWorkdir("/"), run.WithUmask(0o027),
			run.WithRlimit("nofile", 32), run.WithEnv("GREETING=bye", "X=1"), run.WithCommand([]string{"info", "more"})},
			info{UID: svcUID, GID: 3000, Groups: []int{svcExtra}, Cwd: "/", Umask: 0o027, Nofile: 32,
				Env: []string{"GREETING=bye", "HOME=/data", "PATH=/bin", "X=1"}, Args: []string{"/bin/escape", "info", "more"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			opts := append([]run.Option{run.WithStdio(nil, &out, os.Stderr)}, tt.opts...)
			if err := run.Run(context.Background(), target, opts...); err != nil {
				t.Fatal(err)
			}
			var got info
			must(t, json.Unmarshal(out.Bytes(), &got))
			slices.Sort(got.Env)
			if !slices.Equal(got.Fds, []int{0, 1, 2}) {
				t.Errorf("open fds %v, want [0 1 2]", got.Fds)
			}
			got.Fds = nil
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(tt.want)
			if !bytes.Equal(gj, wj) {
				t.Errorf("got  %s\nwant %s", gj, wj)
			}
		})
	}
}

// TestSignalsAndPidfile sends the launcher SIGUSR1 and SIGTERM once the
// pidfile names the jail's init; the launcher forwards it to the init,
// the init to the service, which exits with a status that says which
// signal it got, and Run returns that status.
func TestSignalsAndPidfile(t *testing.T) {
	runtest.NeedRoot(t, "privilege drop")
	jail := makeJail(t)
	for _, tt := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGUSR1, 42}, {syscall.SIGTERM, 43}} {
		t.Run(tt.sig.String(), func(t *testing.T) {
			pidfile := filepath.Join(t.TempDir(), "svc.pid")
			r, w, err := os.Pipe()
			must(t, err)
			defer r.Close()
			done := make(chan error, 1)
			go func() {
				done <- run.Run(context.Background(), jail, run.WithUser("svc"), run.WithPidfile(pidfile),
					run.WithCommand([]string{"/bin/escape", "trap", "42"}), run.WithStdio(nil, w, os.Stderr))
				w.Close()
			}()
			line := make([]byte, 6)
			if _, err := r.Read(line); err != nil || string(line) != "ready\n" {
				t.Fatalf("service did not get ready: %q %v", line, err)
			}
			b, err := os.ReadFile(pidfile)
			if err != nil {
				t.Fatal(err)
			}
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			svc, err := runtest.Service(pid)
			if err != nil {
				t.Fatalf("pidfile names %d: %v", pid, err)
			}
			if err := runtest.Confined(svc, svcUID, svcGID, []uint32{svcExtra}); err != nil {
				t.Errorf("the child of the init the pidfile names: %v", err)
			}
			must(t, syscall.Kill(os.Getpid(), tt.sig))
			err = <-done
			var ee *run.ExitError
			if !errors.As(err, &ee) || ee.Code != tt.code || run.ExitCode(err) != tt.code {
				t.Errorf("Run = %v, want exit status %d", err, tt.code)
			}
			if _, err := os.Stat(pidfile); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("pidfile left behind: %v", err)
			}
		})
	}
}

// TestLaunchErrors checks the refusals and their exit codes.
func TestLaunchErrors(t *testing.T) {
	runtest.NeedRoot(t, "chroot")
	jail := makeJail(t)
	tests := []struct {
		name string
		opts []run.Option
		code int
		msg  string
	}{
		{"root by name", []run.Option{run.WithUser("root")}, run.ExitLaunch, "refusing to run the service as root"},
		{"root by uid", []run.Option{run.WithUser("0")}, run.ExitLaunch, "--allow-root"},
		{"unknown user", []run.Option{run.WithUser("nobody")}, run.ExitLaunch, `user "nobody": not in the jail's /etc/passwd`},
		{"unknown group", []run.Option{run.WithUser("svc:wheel")}, run.ExitLaunch, `group "wheel"`},
		{"no user", nil, run.ExitLaunch, "no user"},
		{"not found", []run.Option{run.WithUser("svc"), run.WithCommand([]string{"nosuch"})}, run.ExitNotFound, "not found"},
		{"not executable", []run.Option{run.WithUser("svc"), run.WithCommand([]string{"/etc/passwd"})}, run.ExitCannotExec, "permission denied"},
		{"missing workdir", []run.Option{run.WithUser("svc"), run.WithWorkdir("/nope")}, run.ExitLaunch, "workdir /nope"},
		{"bad rlimit", []run.Option{run.WithUser("svc"), run.WithRlimit("stack-size", 1)}, run.ExitLaunch, `rlimit "stack-size"`},
		{"bad network", []run.Option{run.WithUser("svc"), run.WithNetwork("bridge")}, run.ExitLaunch, `network "bridge"`},
		{"init without run.Main", []run.Option{run.WithUser("svc"), run.WithInit("/bin/true")}, run.ExitLaunch, "did not start"},
		{"missing writable", []run.Option{run.WithUser("svc"), run.WithLandlock(true), run.WithWritable("/nope")}, run.ExitLaunch, "writable landlock: /nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := append([]run.Option{run.WithCommand([]string{"/bin/escape", "exit", "0"})}, tt.opts...)
			err := run.Run(context.Background(), jail, opts...)
			if run.ExitCode(err) != tt.code || err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Run = %v (code %d), want code %d and %q", err, run.ExitCode(err), tt.code, tt.msg)
			}
		})
	}
	t.Run("allow root", func(t *testing.T) {
		var out bytes.Buffer
		err := run.Run(context.Background(), jail, run.WithUser("root"), run.WithAllowRoot(),
			run.WithCommand([]string{"/bin/escape", "info"}), run.WithStdio(nil, &out, os.Stderr))
		if err != nil {
			t.Fatal(err)
		}
		var got info
		must(t, json.Unmarshal(out.Bytes(), &got))
		if got.UID != 0 {
			t.Errorf("uid %d, want 0", got.UID)
		}
	})
	t.Run("exit status", func(t *testing.T) {
		err := run.Run(context.Background(), jail, run.WithUser("svc"), run.WithCommand([]string{"/bin/escape", "exit", "3"}))
		if run.ExitCode(err) != 3 {
			t.Errorf("Run = %v, want exit status 3", err)
		}
	})
	t.Run("context cancel kills", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		p, err := run.Start(ctx, jail, run.WithUser("svc"), run.WithCommand([]string{"/bin/escape", "sleep"}))
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		if err := p.Wait(); run.ExitCode(err) != 128+9 {
			t.Errorf("Wait = %v, want killed (137)", err)
		}
	})
}

// TestRootSwapped swaps a bundle's rootfs for another complete jail after
// the bundle was opened and checked, and before the init chroots: the init
// compares the directory it opened with the identity bundle.Open checked
// and refuses to enter it, so the service never starts in the other tree.
func TestRootSwapped(t *testing.T) {
	runtest.NeedRoot(t, "chroot")
	target := makeBundle(t, makeJail(t), policy.Policy{})
	l, err := run.Prepare(target, run.WithStdio(nil, os.Stderr, os.Stderr))
	if err != nil {
		t.Fatal(err)
	}
	rootfs := l.Root()
	must(t, os.Rename(rootfs, rootfs+".checked"))
	must(t, os.Rename(makeJail(t), rootfs))
	t.Cleanup(func() { os.RemoveAll(rootfs); os.Rename(rootfs+".checked", rootfs) })

	pid, err := l.Start()
	if err == nil {
		unix.Kill(pid, unix.SIGKILL) // waiting to exec in the swapped-in tree
		l.Close()
	}
	if run.ExitCode(err) != run.ExitLaunch || err == nil || !strings.Contains(err.Error(), "replaced since the bundle was checked") {
		t.Errorf("Start = %v; want the init to refuse the replaced rootfs with exit code %d", err, run.ExitLaunch)
	}
}
