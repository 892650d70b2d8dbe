package recipe

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

// writeFiles creates each file (name → content) under dir.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const includer = `name: web
binaries: [/usr/sbin/nginx]
include: [trace/nginx.yaml, trace/more.yaml]
files:
  - {src: nginx.conf, dst: /etc/nginx/nginx.conf}
dirs:
  - {path: /var/log/nginx, mode: 0750}
`

func TestIncludeMerges(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"web.yaml": includer,
		// What jailimg trace -o writes, plus a relative source.
		"trace/nginx.yaml": `# Recipe fragment
binaries:
  - /usr/sbin/nginx
libraries: [libnss_files.so.2]
files:
  - {src: /etc/nginx/nginx.conf, dst: /etc/nginx/nginx.conf}
  - {src: /etc/nginx/mime.types, dst: /etc/nginx/mime.types}
  - {src: html, dst: /srv/www}
dirs:
  - {path: /var/log/nginx}
  - {path: /var/lib/nginx}
devices: [urandom]
`,
		"trace/more.yaml": `files:
  - {src: /etc/nginx/mime.types, dst: /etc/nginx/mime.types}
symlinks:
  - {path: /etc/mime.types, target: nginx/mime.types}
devices: [urandom]
`,
	})
	r, err := Load(filepath.Join(dir, "web.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var files, dirs []string
	for _, f := range r.Files {
		files = append(files, f.Src+" "+f.Dst)
	}
	for _, d := range r.Dirs {
		dirs = append(dirs, d.Path)
	}
	for _, c := range []struct {
		what      string
		got, want any
	}{
		// The recipe's own binary and nginx.conf win; mime.types is added once.
		{"binaries", len(r.Binaries), 1},
		{"libraries", r.Libraries, []string{"libnss_files.so.2"}},
		{"files", files, []string{"nginx.conf /etc/nginx/nginx.conf", "/etc/nginx/mime.types /etc/nginx/mime.types", "trace/html /srv/www"}},
		{"dirs", dirs, []string{"/var/log/nginx", "/var/lib/nginx"}},
		{"own dir keeps its mode", *r.Dirs[0].Mode, Mode(0o750)},
		{"symlinks", len(r.Symlinks), 1},
		{"devices", len(r.Devices), 1},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	if got, want := r.Where("files[2]"), filepath.Join(dir, "trace/nginx.yaml")+":8: files[2]"; got != want {
		t.Errorf("Where(files[2]) = %q, want %q", got, want)
	}
	if got, want := r.Where("files[0].src"), filepath.Join(dir, "web.yaml")+":5: files[0].src"; got != want {
		t.Errorf("Where(files[0].src) = %q, want %q", got, want)
	}
}

func TestIncludeErrors(t *testing.T) {
	outside := t.TempDir()
	writeFiles(t, outside, map[string]string{"frag.yaml": "libraries: [libz.so.1]\n"})
	for _, tc := range []struct {
		name    string
		include string
		files   map[string]string
		want    string // substring of the error; FILE stands for the fragment's path
	}{
		{"missing", "f.yaml", nil, "web.yaml:2: include[0]: openat f.yaml: no such file or directory"},
		{"absolute", "/etc/passwd", nil, "web.yaml:2: include[0]: \"/etc/passwd\" is not a path inside the recipe's directory"},
		{"dot dot", "../x.yaml", nil, "web.yaml:2: include[0]: \"../x.yaml\" is not a path inside"},
		{"empty", `""`, nil, "web.yaml:2: include[0]: \"\" is not a path inside"},
		{"twice", "f.yaml, ./f.yaml", map[string]string{"f.yaml": "libraries: [libz.so.1]\n"}, "include[1]: \"./f.yaml\" is included twice"},
		{"directory", "sub", map[string]string{"sub/x": ""}, "include[0]: FILE: not a regular file (mode d"},
		{"empty fragment", "f.yaml", map[string]string{"f.yaml": "# nothing\n"}, "FILE: empty fragment"},
		{"recipe key in fragment", "f.yaml", map[string]string{"f.yaml": "libraries: []\nname: x\n"},
			"FILE:2: name: unknown key (known: binaries, devices, dirs, files, libraries, symlinks)"},
		{"nested include", "f.yaml", map[string]string{"f.yaml": "include: [g.yaml]\n"}, "FILE:1: include: unknown key"},
		{"wrong type", "f.yaml", map[string]string{"f.yaml": "files:\n  - /etc/hosts\n"}, "FILE:2: files[0]: want a mapping"},
		{"invalid entry", "f.yaml", map[string]string{"f.yaml": "dirs:\n  - {path: /ok}\n  - {path: relative}\n"},
			"FILE:3: dirs[1].path: \"relative\" is not an absolute path"},
		{"source escapes", "sub/f.yaml", map[string]string{"sub/f.yaml": "files:\n  - {src: ../../x, dst: /x}\n"},
			"FILE:2: files[0].src: \"../x\" escapes the recipe directory"},
		{"conflict between fragments", "f.yaml, g.yaml", map[string]string{
			"f.yaml": "files:\n  - {src: /etc/hosts, dst: /etc/hosts}\n",
			"g.yaml": "# other\nfiles:\n  - {src: /etc/hosts, dst: /etc/hosts, mode: 0600}\n",
		}, "g.yaml:3: files[0]: conflicts with DIR/f.yaml:2: files[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{"web.yaml": "name: web\ninclude: [" + tc.include + "]\n"}
			for k, v := range tc.files {
				files[k] = v
			}
			writeFiles(t, dir, files)
			_, err := Load(filepath.Join(dir, "web.yaml"))
			frag := filepath.Join(dir, strings.Trim(strings.Split(tc.include, ",")[0], `"`))
			want := strings.NewReplacer("FILE", frag, "DIR", dir).Replace(tc.want)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("error = %v\nwant it to contain %q", err, want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is more than one line: %q", err)
			}
		})
	}
}

// TestIncludeStaysInside: a fragment reached through a symlink that leaves
// the recipe's directory is refused, and a FIFO does not block the load.
func TestIncludeStaysInside(t *testing.T) {
	outside := t.TempDir()
	writeFiles(t, outside, map[string]string{"frag.yaml": "libraries: [libz.so.1]\n"})
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"web.yaml": "name: web\ninclude: [link/frag.yaml]\n"})
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(filepath.Join(dir, "web.yaml")); err == nil || !strings.Contains(err.Error(), "include[0]") {
		t.Errorf("include through a symlink out of the recipe directory: %v", err)
	}

	writeFiles(t, dir, map[string]string{"fifo.yaml": "name: web\ninclude: [pipe]\n"})
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(filepath.Join(dir, "fifo.yaml")); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("include of a FIFO: %v", err)
	}
}

// FuzzInclude loads a fixed recipe that includes the fuzzed fragment: any
// input gives a recipe or an error, never a panic.
func FuzzInclude(f *testing.F) {
	f.Add([]byte("binaries: [/bin/sh]\nfiles:\n  - {src: a, dst: /a}\n"))
	f.Add([]byte("dirs: [{path: /x}]\ndevices: [null, {path: /dev/null, type: char, major: 1, minor: 3, mode: 0666}]\n"))
	f.Add([]byte("files: &x [*x]\n"))
	dir := f.TempDir()
	writeFiles(f, dir, map[string]string{"r.yaml": "name: r\ninclude: [f.yaml]\nfiles:\n  - {src: a, dst: /a}\n"})
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, "f.yaml"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, _ = Load(filepath.Join(dir, "r.yaml"))
	})
}

// TestDocuments checks that a loaded recipe names the files it was read
// from, with the sha256 of what was read: the recipe, then its fragments.
func TestDocuments(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"web.yaml":        "name: web\ninclude: [frag.yaml]\n",
		"frag.yaml":       "dirs: [{path: /srv}]\n",
		"unincluded.yaml": "dirs: [{path: /x}]\n",
	}
	writeFiles(t, dir, files)
	r, err := Load(filepath.Join(dir, "web.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Document{
		{Path: filepath.Join(dir, "web.yaml"), SHA256: sha256Hex(files["web.yaml"])},
		{Path: filepath.Join(dir, "frag.yaml"), SHA256: sha256Hex(files["frag.yaml"])},
	}
	if !reflect.DeepEqual(r.Documents, want) {
		t.Errorf("Documents = %+v, want %+v", r.Documents, want)
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
