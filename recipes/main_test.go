// Package recipes_test proves every sample recipe end to end: it builds the
// jail with the jailimg binary, unpacks it (onto a read-only loop-mounted
// ext4 file system), starts it with `jailimg run`, asks it a question with
// the client people use (curl, dig), checks the answer, the confinement of
// every process of the service and `jailimg check`, and stops it with
// SIGTERM.
package recipes_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/jailimg/jailimg/internal/testutil"
)

// jailimgBin is the jailimg binary the tests run, built once by TestMain.
var jailimgBin string

func TestMain(m *testing.M) { testutil.MainWithJailimg(m, &jailimgBin) }

// result is the outcome of one jailimg run.
type result struct {
	stdout, stderr string
	code           int
}

// jailimg runs the binary with args and returns its output and exit code.
func jailimg(t *testing.T, args ...string) result {
	t.Helper()
	var r result
	r.stdout, r.stderr, r.code = testutil.Output(t, exec.Command(jailimgBin, args...))
	return r
}

// mustJailimg is jailimg that fails the test on a non-zero exit.
func mustJailimg(t *testing.T, args ...string) string {
	t.Helper()
	return mustJailimgEnv(t, nil, args...)
}

// mustJailimgEnv is mustJailimg with env added to jailimg's environment.
func mustJailimgEnv(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(jailimgBin, args...)
	cmd.Env = append(os.Environ(), env...)
	var r result
	r.stdout, r.stderr, r.code = testutil.Output(t, cmd)
	if r.code != 0 {
		t.Fatalf("jailimg %s: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// sh runs a host command and fails the test when it fails.
func sh(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// needPackages skips when bin is missing (fails under CI=true, where
// hack/deps.sh has installed the Debian packages pkgs).
func needPackages(t *testing.T, bin string, pkgs ...string) {
	t.Helper()
	testutil.NeedFile(t, bin, pkgs...)
}
