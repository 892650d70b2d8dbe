package build

import (
	"context"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/jailimg/jailimg/internal/testutil"
	"github.com/jailimg/jailimg/pkg/tree"
)

// TestDPKG: with dpkg: true the jail carries the status paragraph of each
// package a copied host file belongs to, and the OS release files; the
// recipe's own files belong to no package; without it, nothing of dpkg.
func TestDPKG(t *testing.T) {
	testutil.NeedTool(t, "dpkg-query")
	r, err := load(t, "name: x\nbinaries: [/usr/bin/bash]\nfiles: [{src: own.conf, dst: /etc/own.conf}]\ndpkg: true\n", map[string]string{"own.conf": "x"})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := Tree(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range tr.Walk() {
		if strings.HasPrefix(e.Path, "/var/lib/dpkg/status.d/") {
			got = append(got, strings.TrimPrefix(e.Path, "/var/lib/dpkg/status.d/"))
		}
	}
	// bash, and the libraries of its closure: libc6 and libtinfo6.
	for _, want := range []string{"bash", "libc6:amd64", "libtinfo6:amd64"} {
		if !strings.Contains(" "+strings.Join(got, " ")+" ", " "+want+" ") {
			t.Errorf("status.d holds %v, want %s among them", got, want)
		}
	}
	e, ok := tr.Get("/var/lib/dpkg/status.d/bash")
	if !ok {
		t.Fatal("no status.d/bash")
	}
	version, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", "bash").Output()
	if err != nil {
		t.Fatal(err)
	}
	if text := read(t, e); !strings.Contains(text, "Package: bash\n") || !strings.Contains(text, "Version: "+string(version)+"\n") {
		t.Errorf("status.d/bash:\n%s\nwant bash's paragraph, version %s", text, version)
	}
	for _, p := range []string{"/etc/os-release", "/etc/debian_version"} {
		if e, ok := tr.Get(p); !ok || e.Type != tree.Reg {
			t.Errorf("%s missing or not a regular file", p)
		}
	}

	r, err = load(t, "name: x\nbinaries: [/usr/bin/bash]\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	if tr, err = Tree(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if _, ok := tr.Get("/var/lib/dpkg"); ok {
		t.Error("a recipe without dpkg: true got /var/lib/dpkg")
	}
}

// TestDPKGWithoutDatabase: a build root with no dpkg database is an error
// naming the recipe's dpkg key.
func TestDPKGWithoutDatabase(t *testing.T) {
	r, err := load(t, "name: x\nfiles: [{src: a, dst: /a}]\ndpkg: true\n", map[string]string{"a": "x"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Tree(context.Background(), r, WithRoot(t.TempDir()))
	if err == nil || !strings.Contains(err.Error(), "r.yaml:3: dpkg: reading the build root's package database") {
		t.Errorf("Tree without a dpkg database = %v", err)
	}
}

func read(t *testing.T, e *tree.Entry) string {
	t.Helper()
	rc, err := e.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
