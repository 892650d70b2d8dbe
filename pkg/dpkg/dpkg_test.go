package dpkg

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jailimg/jailimg/internal/testutil"
)

// hostCanon resolves a directory of the host.
func hostCanon(dir string) string {
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		return real
	}
	return dir
}

// TestHost reads this machine's dpkg database and checks what it says
// against dpkg-query: the owners of libc and bash, and that the status.d
// paragraphs, gathered into a status file, are read back by dpkg-query
// itself with the same names and versions.
func TestHost(t *testing.T) {
	testutil.NeedTool(t, "dpkg-query")
	libc, err := filepath.EvalSymlinks("/lib/x86_64-linux-gnu/libc.so.6")
	if err != nil {
		testutil.Skipf(t, "no x86_64 libc.so.6: %v", err)
	}
	db, err := Open(os.DirFS("/"), hostCanon)
	if err != nil {
		t.Fatal(err)
	}
	pkgs := db.Owners([]string{libc, "/usr/bin/bash", "/usr/bin/bash", "/nonexistent"})
	var names []string
	for _, p := range pkgs {
		names = append(names, p.key)
	}
	if !slices.Equal(names, []string{"bash", "libc6:amd64"}) {
		t.Fatalf("owners of libc.so.6 and bash: %v, want [bash libc6:amd64]", names)
	}

	admin := t.TempDir()
	var status strings.Builder
	for _, content := range StatusD(pkgs) {
		status.WriteString(content + "\n")
	}
	os.WriteFile(filepath.Join(admin, "status"), []byte(status.String()), 0o644)
	os.MkdirAll(filepath.Join(admin, "info"), 0o755)
	got, err := exec.Command("dpkg-query", "--admindir="+admin, "-W", "-f", "${Package} ${Version} ${Status}\n").Output()
	if err != nil {
		t.Fatalf("dpkg-query on the generated status: %v", err)
	}
	for _, p := range []string{"bash", "libc6"} {
		host, err := exec.Command("dpkg-query", "-W", "-f", "${Package} ${Version} ${Status}\n", p).Output()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(got), string(host)) {
			t.Errorf("dpkg-query reads %q from the generated status, want the host's %q", got, host)
		}
	}
	if strings.Contains(status.String(), "Conffiles") {
		t.Error("a paragraph kept the host's Conffiles")
	}
}

// TestMalformed: a broken database is an error naming the file and line.
func TestMalformed(t *testing.T) {
	for _, tc := range []struct{ name, status, want string }{
		{"continuation first", " stray\n", "/var/lib/dpkg/status:1: continuation line outside a field"},
		{"no colon", "Package: a\nnonsense\n", "/var/lib/dpkg/status:2: not a \"Field: value\" line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{StatusFile: {Data: []byte(tc.status)}}
			if _, err := Open(fsys, func(d string) string { return d }); err == nil || err.Error() != tc.want {
				t.Errorf("Open = %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := Open(fstest.MapFS{StatusFile: {Data: make([]byte, maxStatus+1)}}, nil); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized status: %v", err)
	}
}

// TestMultiArch: a Multi-Arch: same package's list is NAME:ARCH.list, a
// removed package's list is ignored, paths resolve through canon.
func TestMultiArch(t *testing.T) {
	fsys := fstest.MapFS{
		StatusFile: {Data: []byte(`Package: libz
Status: install ok installed
Architecture: amd64
Version: 1
Conffiles:
 /etc/z 0123

Package: libz
Status: install ok installed
Architecture: i386
Version: 1

Package: gone
Status: deinstall ok config-files
Architecture: amd64
Version: 2
`)},
		InfoDir + "/libz:amd64.list": {Data: []byte("/.\n/lib\n/lib/x86_64-linux-gnu/libz.so.1\n")},
		InfoDir + "/libz:i386.list":  {Data: []byte("/lib/i386-linux-gnu/libz.so.1\n")},
		InfoDir + "/gone.list":       {Data: []byte("/usr/bin/gone\n")},
	}
	db, err := Open(fsys, func(d string) string { return strings.Replace(d, "/lib/", "/usr/lib/", 1) })
	if err != nil {
		t.Fatal(err)
	}
	pkgs := db.Owners([]string{"/usr/lib/x86_64-linux-gnu/libz.so.1", "/usr/bin/gone"})
	if len(pkgs) != 1 || pkgs[0].key != "libz:amd64" || pkgs[0].Architecture != "amd64" || strings.Contains(pkgs[0].Paragraph, "/etc/z") {
		t.Errorf("owners = %+v", pkgs)
	}
	if files := StatusD(pkgs); files["/var/lib/dpkg/status.d/libz:amd64"] == "" {
		t.Errorf("StatusD = %v", files)
	}
}

// FuzzParagraphs: any status file parses or fails, never panics.
func FuzzParagraphs(f *testing.F) {
	f.Add([]byte("Package: a\nStatus: install ok installed\nDescription: x\n y\n\n"))
	f.Add([]byte(" \n:\n\n\nA:"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Paragraphs("status", data)
	})
}

// TestParagraphs: continuation lines are kept in the field's value, a
// comment line is skipped, and the first field's line is recorded.
func TestParagraphs(t *testing.T) {
	data := "# a comment\nOrigin: Debian\nSHA256:\n abc 12 main/Packages\n def 34 main/Packages.xz\n\n\nPackage: x\n"
	paras, err := Paragraphs("Release", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(paras) != 2 || paras[0].Fields["SHA256"] != "\nabc 12 main/Packages\ndef 34 main/Packages.xz" || paras[0].Line != 2 || paras[1].Line != 8 {
		t.Errorf("got %+v", paras)
	}
}

// TestFromControl: a .deb's control file becomes the status paragraph dpkg
// would write, named as its .list file would be.
func TestFromControl(t *testing.T) {
	cases := []struct {
		name, control, key, want string
	}{
		{"foreign", "Package: nginx\nVersion: 1.22.1-9\nArchitecture: amd64\nDepends: libc6\n", "nginx",
			"Package: nginx\nStatus: install ok installed\nVersion: 1.22.1-9\nArchitecture: amd64\nDepends: libc6\n"},
		{"same", "Package: libc6\nVersion: 2.36-9\nArchitecture: amd64\nMulti-Arch: same\n", "libc6:amd64",
			"Package: libc6\nStatus: install ok installed\nVersion: 2.36-9\nArchitecture: amd64\nMulti-Arch: same\n"},
		{"no version", "Package: x\nArchitecture: all\n", "", "field Version"},
		{"two", "Package: x\nVersion: 1\nArchitecture: all\n\nPackage: y\n", "", "2 paragraphs"},
		{"slash", "Package: ../x\nVersion: 1\nArchitecture: all\n", "", "field Package"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := FromControl("control", []byte(tc.control))
			if tc.key == "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("err %v, want %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			files := StatusD([]*Package{p})
			if got := files["/"+StatusDir+"/"+tc.key]; got != tc.want {
				t.Errorf("status.d/%s = %q, want %q (all: %v)", tc.key, got, tc.want, files)
			}
		})
	}
}

func TestValidNameVersion(t *testing.T) {
	for _, tc := range []struct {
		s             string
		name, version bool
	}{
		{"nginx-light", true, false},
		{"libstdc++6", true, false},
		{"n", false, false},
		{"Nginx", false, false},
		{"-x", false, false},
		{"1.22.1-9+deb12u11", true, true},
		{"1:2.3~rc1-1", false, true},
		{"1 2", false, false},
		{"x1.0", true, false},
	} {
		if got := ValidName(tc.s); got != tc.name {
			t.Errorf("ValidName(%q) = %v, want %v", tc.s, got, tc.name)
		}
		if got := ValidVersion(tc.s); got != tc.version {
			t.Errorf("ValidVersion(%q) = %v, want %v", tc.s, got, tc.version)
		}
	}
}
