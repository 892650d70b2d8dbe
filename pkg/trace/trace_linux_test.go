package trace

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jailimg/jailimg/internal/testutil"
)

// needRoot skips a test when not root, except under CI where it must run.
func needRoot(t *testing.T) { testutil.NeedRoot(t, "ptrace of test children, chroot") }

// childProg re-runs itself as a child that opens, stats, misses and execs.
const childProg = `package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
)

// init locks main to the process's first thread, so that every call it
// makes is recorded under the pid it prints.
func init() { runtime.LockOSThread() }

func main() {
	if len(os.Args) > 1 && os.Args[1] == "child" {
		fmt.Println(os.Getpid())
		f, err := os.Open(os.Args[2])
		if err != nil {
			panic(err)
		}
		f.Close()
		if _, err := os.Stat(os.Args[3]); err != nil {
			panic(err)
		}
		if _, err := os.Open(os.Args[4]); err == nil {
			panic("opened " + os.Args[4])
		}
		dir, _ := filepath.Split(os.Args[2])
		d, err := os.Open(dir)
		if err != nil {
			panic(err)
		}
		if _, err := syscall.Openat(int(d.Fd()), "relative-to-dirfd", syscall.O_RDONLY, 0); err == nil {
			panic("opened relative-to-dirfd")
		}
		if err := os.Chdir(dir); err != nil {
			panic(err)
		}
		if _, err := os.Stat("relative-to-cwd"); err == nil {
			panic("found relative-to-cwd")
		}
		panic(syscall.Exec("/bin/true", []string{"true"}, nil))
	}
	cmd := exec.Command("/proc/self/exe", append([]string{"child"}, os.Args[1:]...)...)
	cmd.Stdout = os.Stdout
	if err := cmd.Run(); err != nil {
		panic(err)
	}
}
`

// buildStatic compiles a Go program with CGO_ENABLED=0 into dir.
func buildStatic(t *testing.T, dir, src string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "prog.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "prog")
	cmd := exec.Command("go", "build", "-o", bin, "prog.go")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GO111MODULE=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building test program: %v\n%s", err, out)
	}
	return bin
}

// runTraced traces argv with its stdout captured.
func runTraced(t *testing.T, argv []string, opts ...Option) (*Result, string) {
	t.Helper()
	out, err := os.CreateTemp(t.TempDir(), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	opts = append([]Option{WithStdio(nil, out, os.Stderr)}, opts...)
	res, err := Run(context.Background(), argv, opts...)
	if err != nil {
		t.Fatalf("Run %v: %v", argv, err)
	}
	data, _ := os.ReadFile(out.Name())
	return res, string(data)
}

func TestRunRecords(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	bin := buildStatic(t, dir, childProg)
	opened, statted, missing := filepath.Join(dir, "opened"), filepath.Join(dir, "statted"), filepath.Join(dir, "missing")
	os.WriteFile(opened, []byte("x"), 0o644)
	os.WriteFile(statted, []byte("x"), 0o644)

	res, out := runTraced(t, []string{bin, opened, statted, missing})
	if res.Status != 0 {
		t.Fatalf("status %d", res.Status)
	}
	child, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("child pid: %q", out)
	}
	if len(res.Accessed) == 0 || res.Accessed[0].Kind != Exec || res.Accessed[0].Path != bin {
		t.Errorf("first record %+v, want the exec of %s", res.Accessed[:1], bin)
	}
	root := res.Accessed[0].PID
	tests := []struct {
		name string
		list []Record
		want Record
	}{
		{"exec of the child", res.Accessed, Record{PID: child, Exe: bin, Kind: Exec, Path: "/proc/self/exe"}},
		{"open", res.Accessed, Record{PID: child, Exe: bin, Kind: Open, Path: opened}},
		{"stat", res.Accessed, Record{PID: child, Exe: bin, Kind: Stat, Path: statted}},
		{"failed open", res.Missing, Record{PID: child, Exe: bin, Kind: Open, Path: missing, Errno: "ENOENT"}},
		{"open relative to a dirfd", res.Missing, Record{PID: child, Exe: bin, Kind: Open, Path: filepath.Join(dir, "relative-to-dirfd"), Errno: "ENOENT"}},
		{"chdir", res.Accessed, Record{PID: child, Exe: bin, Kind: Chdir, Path: dir}},
		{"stat relative to the cwd", res.Failed, Record{PID: child, Exe: bin, Kind: Stat, Path: filepath.Join(dir, "relative-to-cwd"), Errno: "ENOENT"}},
		{"exec of /bin/true", res.Accessed, Record{PID: child, Exe: bin, Kind: Exec, Path: "/bin/true"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range tt.list {
				if r.Kind == tt.want.Kind && r.Path == tt.want.Path {
					if r.PID != tt.want.PID || r.Exe != tt.want.Exe || r.Errno != tt.want.Errno {
						t.Errorf("got %+v, want %+v", r, tt.want)
					}
					return
				}
			}
			t.Errorf("no record %+v in %+v", tt.want, tt.list)
		})
	}
	if child == root {
		t.Errorf("child pid %d is the root's", child)
	}
}

// TestRunStop checks that a done context stops the traced command as a
// service manager would, and that Run still returns what it recorded: a
// command that ends on SIGTERM ends with it, one that ignores SIGTERM (and
// the child it started) is killed StopTimeout later.
func TestRunStop(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready")
	tests := []struct {
		name   string
		script string
		status int
	}{
		{"ends on SIGTERM", "exec /bin/sleep 1000", 128 + 15},
		{"ignores SIGTERM", "trap '' TERM; /bin/sleep 1000 & wait", 128 + 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.Remove(ready)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() {
				for { // stop it once it has started: a daemon's steady state
					if _, err := os.Stat(ready); err == nil {
						cancel()
						return
					}
					time.Sleep(20 * time.Millisecond)
				}
			}()
			res, err := Run(ctx, []string{"/bin/sh", "-c", ": >" + ready + "; " + tt.script}, WithStdio(nil, nil, nil))
			if err != nil || res == nil {
				t.Fatalf("Run of a stopped command: %+v, %v; want a result and no error", res, err)
			}
			if !res.Stopped || res.Status != tt.status {
				t.Errorf("stopped %v, status %d; want stopped, status %d", res.Stopped, res.Status, tt.status)
			}
			if !slices.ContainsFunc(res.Accessed, func(r Record) bool { return r.Kind == Open && r.Path == ready && r.Write }) {
				t.Errorf("the records made before the stop are lost: %+v", res.Accessed)
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	needRoot(t)
	tests := []struct {
		name string
		argv []string
		opts []Option
		want string
	}{
		{"no command", nil, nil, "no command"},
		{"not found", []string{"no-such-program-xyz"}, nil, "no-such-program-xyz"},
		{"root is a file", []string{"/bin/true"}, []Option{WithRoot("/etc/hostname")}, "not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(context.Background(), tt.argv, tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
