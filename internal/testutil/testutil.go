// Package testutil holds the helpers jailimg's tests share: skipping (or,
// under CI, failing) when root or a peer tool is missing, and building the
// jailimg binary the end-to-end tests run.
package testutil

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// CI reports whether the tests run under CI, where nothing may be skipped
// for want of root or a tool: `make test` installs what the tests need.
func CI() bool { return os.Getenv("CI") == "true" }

// NeedRoot skips t when not running as root, saying why root is needed;
// under CI it fails instead.
func NeedRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if CI() {
		t.Fatalf("needs root: %s (CI=true: not skipping)", why)
	}
	t.Skipf("needs root: %s", why)
}

// NeedTool returns the path of a peer tool, skipping t when it is missing
// (failing under CI, where hack/deps.sh installs it).
func NeedTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if CI() {
			t.Fatalf("%s is missing; `make test` (hack/deps.sh) installs it", name)
		}
		t.Skipf("%s not installed (hack/deps.sh installs it)", name)
	}
	return p
}

// BuildJailimg builds the jailimg binary (CGO_ENABLED=0, as shipped) into a
// new temporary directory and returns its path and a function removing it.
// It is meant for TestMain, before any test runs.
func BuildJailimg() (string, func(), error) {
	dir, err := os.MkdirTemp("", "jailimg-test-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	bin := filepath.Join(dir, "jailimg")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/jailimg/jailimg/cmd/jailimg")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("building jailimg: %v\n%s", err, out)
	}
	return bin, cleanup, nil
}

// NeedFile skips t when the file path is missing (failing under CI, where
// hack/deps.sh installs the Debian packages pkgs that provide it). Tests
// never install anything themselves.
func NeedFile(t testing.TB, path string, pkgs ...string) {
	t.Helper()
	if _, err := os.Stat(path); err == nil {
		return
	}
	Skipf(t, "%s is missing; `make test` (hack/deps.sh) installs %v", path, pkgs)
}

// Skipf skips t for a reason of this machine (a tool, a file, a host
// library layout the test depends on); under CI, where nothing may be
// skipped, it fails instead.
func Skipf(t testing.TB, format string, args ...any) {
	t.Helper()
	if CI() {
		t.Fatalf(format+" (CI=true: not skipping)", args...)
	}
	t.Skipf(format, args...)
}

// Short skips t in `go test -short` (make test-short), which runs the unit
// tests only. It is the one skip CI cannot meet: CI runs the whole suite
// and never sets -short.
func Short(t testing.TB, why string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("short mode: %s", why)
	}
}

// MainWithJailimg is a TestMain body: it builds the jailimg binary, stores
// its path in *bin, runs the tests, removes the binary and exits.
func MainWithJailimg(m *testing.M, bin *string) {
	path, cleanup, err := BuildJailimg()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*bin = path
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// CopyFile copies the regular file src to the new file dst with mode perm.
func CopyFile(t testing.TB, src, dst string, perm os.FileMode) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// Output runs cmd, which must not have Stdout or Stderr set, and returns
// what it printed and its exit code. A command that cannot be run at all
// (not found, not executable) fails t.
func Output(t testing.TB, cmd *exec.Cmd) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s: %v", strings.Join(cmd.Args, " "), err)
	}
	return out.String(), errOut.String(), code
}

var (
	programsMu sync.Mutex
	programs   = map[string]string{}
)

// StaticProgram builds the Go package pkg (a path relative to the test's
// directory, such as "./testdata/escape") as a static binary
// (CGO_ENABLED=0), once per test binary, and returns the binary's path.
func StaticProgram(t testing.TB, pkg string) string {
	t.Helper()
	programsMu.Lock()
	defer programsMu.Unlock()
	if bin, ok := programs[pkg]; ok {
		return bin
	}
	dir, err := os.MkdirTemp("", "jailimg-prog-")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		t.Fatalf("building %s: %v\n%s", pkg, err, out)
	}
	programs[pkg] = bin
	return bin
}
