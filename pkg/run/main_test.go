package run_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/jailimg/jailimg/internal/testutil"
	"github.com/jailimg/jailimg/pkg/run"
)

func TestMain(m *testing.M) {
	run.Main() // the test binary is also the jail's init
	os.Exit(m.Run())
}

// escapeBinary builds testdata/escape statically, once per test binary.
func escapeBinary(t *testing.T) string { return testutil.StaticProgram(t, "./testdata/escape") }

// The service user of the test jails, and its groups.
const (
	svcUID   = 1000
	svcGID   = 1000
	svcExtra = 2000
)

// makeJail builds a jail directory: /bin/escape, /etc/passwd and /etc/group
// with the service user svc, /data owned by svc, /tmp world-writable and
// sticky. It is removed when the test ends.
func makeJail(t *testing.T) string {
	t.Helper()
	root, err := os.MkdirTemp("", "jailimg-jail-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	bin, err := os.ReadFile(escapeBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	files := []struct {
		name string
		mode os.FileMode
		data string
	}{
		{"bin/escape", 0o755, string(bin)},
		{"etc/passwd", 0o644, "root:x:0:0:root:/root:/usr/sbin/nologin\nsvc:x:1000:1000:service:/data:/usr/sbin/nologin\n"},
		{"etc/group", 0o644, "root:x:0:\nsvc:x:1000:\nextra:x:2000:daemon,svc\nother:x:3000:root\n"},
	}
	for _, f := range files {
		p := filepath.Join(root, f.name)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(f.data), f.mode))
	}
	must(t, os.Mkdir(filepath.Join(root, "data"), 0o755))
	must(t, os.Chown(filepath.Join(root, "data"), svcUID, svcGID))
	must(t, os.Mkdir(filepath.Join(root, "tmp"), 0o777))
	must(t, os.Chmod(filepath.Join(root, "tmp"), 0o1777))
	must(t, os.Chmod(root, 0o755))
	return root
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
