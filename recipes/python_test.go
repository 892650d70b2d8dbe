package recipes_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/jailimg/jailimg/internal/testutil"
)

// TestPythonRecipe builds recipes/python.yaml, a WSGI app run by
// /usr/bin/python3.11 with the whole standard library copied under files:,
// unpacks it onto a partition left read-only and runs it with a plain
// `jailimg run`: curl gets the page, which reports the SQLite
// version the jail's sqlite3 module ran a query with, so lib-dynload's
// _sqlite3 found libsqlite3.so.0 in the jail (the library closure of ELF
// files under files:; before, `import sqlite3` failed there). jailimg check
// reports the interpreter as accepted.
func TestPythonRecipe(t *testing.T) {
	testutil.NeedRoot(t, "chroot")
	needPackages(t, "/usr/bin/python3.11", "python3.11")
	out := filepath.Join(t.TempDir(), "python")
	mustJailimg(t, "-q", "build", "-o", out, "python.yaml")
	target := filepath.Join(t.TempDir(), "python")
	unpackDevice(t, partition(t), out, target)

	want := "interpreter\t/usr/bin/python3.11\tshell, interpreter or compiler (executable)\t(accepted)"
	if r := jailimg(t, "check", target); r.code != 0 || strings.TrimSpace(r.stdout) != want {
		t.Errorf("jailimg check: exit %d\n%s\nwant exit 0 and %q\n%s", r.code, r.stdout, want, r.stderr)
	}

	s := start(t, "--state", filepath.Join(t.TempDir(), "state"), target) // run makes it root's, 0700
	if err := s.waitReady(8084); err != nil {
		t.Fatal(err)
	}
	if page := curl(t, 8084, "sqlite"); !strings.Contains(page, "python 3.11") || !strings.Contains(page, "sqlite 3.") {
		t.Errorf("page %q, want it to name python 3.11 and the sqlite version\n%s", page, s.stderr.String())
	}
	if code := s.stop(t); code != 0 {
		t.Errorf("jailimg run exited %d after SIGTERM\n%s", code, s.stderr.String())
	}
}
