package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jailimg/jailimg/internal/testutil"
)

// jailimgBin is the jailimg binary the end-to-end tests run, built once by TestMain.
var jailimgBin string

func TestMain(m *testing.M) { testutil.MainWithJailimg(m, &jailimgBin) }

// result is the outcome of one jailimg run.
type result struct {
	stdout, stderr string
	code           int
}

// jailimg runs the binary in dir (the test's cwd if empty) with extra
// environment variables, and returns its output and exit code.
func jailimg(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(jailimgBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var r result
	r.stdout, r.stderr, r.code = testutil.Output(t, cmd)
	return r
}

// mustJailimg is jailimg that fails the test on a non-zero exit.
func mustJailimg(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	r := jailimg(t, dir, env, args...)
	if r.code != 0 {
		t.Fatalf("jailimg %s: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// needRoot skips a test when not root, except under CI where it must run.
func needRoot(t *testing.T) { testutil.NeedRoot(t, "chroot, device nodes, mounts") }

// needTool returns a peer tool's path, skipping when it is missing (not under CI).
func needTool(t *testing.T, name string) string { return testutil.NeedTool(t, name) }

// copyRecipe copies a recipe and the files beside it into a fresh directory.
func copyRecipe(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("cp", "-a", "../../recipes/.", dir).CombinedOutput(); err != nil {
		t.Fatalf("copying recipes: %v\n%s", err, out)
	}
	return filepath.Join(dir, name)
}
