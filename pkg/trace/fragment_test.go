package trace

import (
	"bytes"
	"context"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jailimg/jailimg/pkg/recipe"
)

// hostFS is a small host tree: a config with a symlinked alias, a directory
// listed, a log directory, and the files the build generates.
func hostFS() fstest.MapFS {
	file := &fstest.MapFile{Data: []byte("x"), Mode: 0o644}
	dir := &fstest.MapFile{Mode: fs.ModeDir | 0o755}
	return fstest.MapFS{
		"etc/app/app.conf":      file,
		"etc/app/conf.d":        dir,
		"etc/app/odd name: #1":  file,
		"etc/alias.conf":        &fstest.MapFile{Data: []byte("app/app.conf"), Mode: fs.ModeSymlink},
		"etc/passwd":            file,
		"etc/ld.so.cache":       file,
		"var/log/app":           dir,
		"var/lib/app/cache.db":  file,
		"usr/share/app/data":    file,
		"usr/share/app/unused":  file,
		"usr/lib/libfoo.so.1":   {Data: elfHeader(), Mode: 0o644},
		"usr/lib/other/x.txt":   file,
		"proc/self/status":      file,
		"srv/www/index.html":    file,
		"srv/www/sub/page.html": file,
	}
}

func TestFragmentRules(t *testing.T) {
	res := &Result{Argv: []string{"/usr/bin/app", "-t"}}
	for _, r := range []Record{
		{Kind: Open, Path: "/etc/alias.conf"},
		{Kind: Open, Path: "/etc/app/conf.d", Directory: true},
		{Kind: Open, Path: "/etc/app/odd name: #1"},
		{Kind: Open, Path: "/etc/passwd"},
		{Kind: Open, Path: "/etc/ld.so.cache"},
		{Kind: Open, Path: "/proc/self/status"},
		{Kind: Open, Path: "/var/log/app/app.log", Write: true},
		{Kind: Mkdir, Path: "/var/lib/app/tmp"},
		{Kind: Stat, Path: "/usr/share/app/data"},
		{Kind: Access, Path: "/var/lib/app/cache.db"},
		{Kind: Open, Path: "/var/lib/app/cache.db", Write: true},
		{Kind: Chdir, Path: "/srv/www"},
		{Kind: Stat, Path: "/srv/www/sub/page.html"},
		{Kind: Open, Path: "/usr/lib/libfoo.so.1"},
		{Kind: Open, Path: "/etc/app/missing.conf", Errno: "ENOENT"},
		{Kind: Open, Path: "/opt/lib/libfoo.so.1", Errno: "ENOENT"},
		{Kind: Exec, Path: "/usr/local/bin/helper", Errno: "ENOENT"},
		{Kind: Open, Path: "/sys/fs/cgroup/x", Errno: "ENOENT"},
	} {
		res.add(r)
	}
	f, err := NewFragment(context.Background(), hostFS(), res)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.WriteYAML(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	tests := []struct {
		name, line string
		want       bool
	}{
		{"file by its real path", "  - {src: /etc/app/app.conf, dst: /etc/app/app.conf}\n", true},
		{"symlink on the way", "  - {path: /etc/alias.conf, target: \"app/app.conf\"}\n", true},
		{"odd name quoted", `  - {src: "/etc/app/odd name: #1", dst: "/etc/app/odd name: #1"}` + "\n", true},
		{"stat'ed file", "/usr/share/app/data, dst:", true},
		{"listed directory", "  - {path: /etc/app/conf.d}\n", true},
		{"written directory", "  - {path: /var/log/app}  # written: /var/log/app/app.log", true},
		{"mkdir'ed directory", "  - {path: /var/lib/app/tmp}  # written", true},
		{"written file not copied", "/var/lib/app/cache.db, dst:", false},
		{"directory implied by an entry below", "/srv/www\n", false},
		{"host-specific file listed to map", "outside the system directories, and not copied: map each one\n# to where the jail should have it (files: - {src: HOST-PATH, dst: JAIL-PATH}), or leave it out:\n#   /srv/www/sub/page.html\n", true},
		{"host-specific file not copied", "{src: /srv/www/sub/page.html", false},
		{"shared object opened", "libraries:\n  - /usr/lib/libfoo.so.1\n", true},
		{"generated file", "#   /etc/passwd  (declare users:)\n", true},
		{"generated file not copied", "{src: /etc/passwd", false},
		{"loader state", "ld.so.cache", false},
		{"proc", "/proc/", false},
		{"miss", "#   /etc/app/missing.conf  (open)", true},
		{"loader probe", "/opt/lib/libfoo.so.1", false},
		{"sys miss", "/sys/", false},
		{"exec miss", "#   /usr/local/bin/helper  (exec)", true},
		{"unused file", "unused", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := strings.Contains(out, tt.line); got != tt.want {
				t.Errorf("fragment contains %q: %v, want %v\n%s", tt.line, got, tt.want, out)
			}
		})
	}
	r, err := recipe.Parse("frag.yaml", []byte("name: app\n"+out))
	if err == nil {
		err = r.Validate()
	}
	if err != nil {
		t.Fatalf("recipe.Parse of the fragment: %v\n%s", err, out)
	}
	if len(r.Files) != 3 || len(r.Dirs) != 4 || r.Files[1].Src != "/etc/app/odd name: #1" || len(r.Libraries) != 1 || len(r.Symlinks) != 1 {
		t.Errorf("parsed fragment: files %+v libraries %v symlinks %v", r.Files, r.Libraries, r.Symlinks)
	}
	var again bytes.Buffer
	f.WriteYAML(&again)
	if again.String() != out {
		t.Errorf("WriteYAML is not deterministic")
	}
}

// elfHeader is the start of a little-endian 64-bit ELF shared object.
func elfHeader() []byte {
	h := make([]byte, 64)
	copy(h, "\x7fELF\x02\x01\x01")
	h[16] = 3 // ET_DYN
	return h
}

func TestHostSpecific(t *testing.T) {
	tests := []struct {
		path string
		want bool
	}{
		{"/etc/nginx/nginx.conf", false},
		{"/usr/share/nginx/html/index.html", false},
		{"/usr/lib/python3/dist-packages/x.pth", false},
		{"/lib/x86_64-linux-gnu/libc.so.6", false},
		{"/var/lib/nginx", false},
		{"/usr/local/lib/python3.11/dist-packages/x.pth", true},
		{"/usr/local", true},
		{"/usr/localx/y", false},
		{"/root/nginx.conf", true},
		{"/home/admin/app/config.yaml", true},
		{"/srv/www/index.html", true},
		{"/tmp/t/nginx.conf", true},
		{"/opt/app/lib/x.so", true},
		{"/etcetera/x", true},
		{"/", false},
	}
	for _, tt := range tests {
		if got := hostSpecific(tt.path); got != tt.want {
			t.Errorf("hostSpecific(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}
