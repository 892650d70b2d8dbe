package recipes_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jailimg/jailimg/internal/testutil"
)

// TestPythonRecipe builds recipes/python.yaml, a WSGI app run by
// /usr/bin/python3.11 with the whole standard library copied under files:,
// unpacks it and runs it: curl gets the page, which reports the SQLite
// version the jail's sqlite3 module ran a query with, so lib-dynload's
// _sqlite3 found libsqlite3.so.0 in the jail (the library closure of ELF
// files under files:; before, `import sqlite3` failed there). jailimg check
// reports the interpreter as accepted.
func TestPythonRecipe(t *testing.T) {
	testutil.NeedRoot(t, "chroot")
	needPackages(t, "/usr/bin/python3.11", "python3.11")
	out := filepath.Join(t.TempDir(), "python")
	mustJailimg(t, "-q", "build", "-o", out, "python.yaml")
	target := filepath.Join(t.TempDir(), "jail")
	mustJailimg(t, "-q", "unpack", out, target)

	want := "interpreter\t/usr/bin/python3.11\tshell, interpreter or compiler (executable)\t(accepted)"
	if r := jailimg(t, "check", target); r.code != 0 || strings.TrimSpace(r.stdout) != want {
		t.Errorf("jailimg check: exit %d\n%s\nwant exit 0 and %q\n%s", r.code, r.stdout, want, r.stderr)
	}

	var stderr strings.Builder
	run := exec.Command(jailimgBin, "run", target)
	run.Stderr = &stderr
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- run.Wait() }()
	t.Cleanup(func() { run.Process.Kill(); <-done })

	var page string
	for try := 0; try < 300 && page == ""; try++ {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("the service ended: %v\n%s", err, stderr.String())
		default:
		}
		if b, err := exec.Command("curl", "-sS", "-f", "http://127.0.0.1:8084/").Output(); err == nil {
			page = string(b)
		} else {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if !strings.Contains(page, "python 3.11") || !strings.Contains(page, "sqlite 3.") {
		t.Errorf("page %q, want it to name python 3.11 and the sqlite version\n%s", page, stderr.String())
	}
	run.Process.Signal(syscall.SIGTERM)
	<-done
	done <- nil
}
