package build

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/jailimg/jailimg/internal/testutil"
	"github.com/jailimg/jailimg/pkg/image"
	"github.com/jailimg/jailimg/pkg/recipe"
	"github.com/jailimg/jailimg/pkg/resolve"
	"github.com/jailimg/jailimg/pkg/tree"
)

// load writes a recipe and the given extra files into a fresh directory and loads it.
func load(t *testing.T, yaml string, files map[string]string) (*recipe.Recipe, error) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, "r.yaml")
	if err := os.WriteFile(p, []byte(strings.ReplaceAll(yaml, "$DIR", dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	return recipe.Load(p)
}

func TestBashImage(t *testing.T) {
	r, err := recipe.Load("../../recipes/bash.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []compression.Compression{compression.GZip, compression.ZStd} {
		t.Run(string(c), func(t *testing.T) {
			img, err := Image(context.Background(), r, WithCompression(c))
			if err != nil {
				t.Fatal(err)
			}
			if c == compression.GZip { // validate.Image decompresses as gzip only
				if err := validate.Image(img); err != nil {
					t.Fatalf("validate.Image: %v", err)
				}
			}
			files, err := image.Files(context.Background(), img)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]image.File{}
			for _, f := range files {
				got[f.Path] = f
			}
			// Every library ldd names is in the jail, at the path ldd prints or behind a symlink to it.
			out, err := exec.Command("ldd", "/usr/bin/bash").Output()
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range strings.Split(string(out), "\n") {
				fields := strings.Fields(line)
				if len(fields) < 3 || fields[1] != "=>" {
					continue
				}
				if _, ok := got[follow(got, fields[2])]; !ok {
					t.Errorf("ldd says bash loads %s; the image lacks it", fields[2])
				}
			}
			for p, want := range map[string]image.File{
				"/dev/null":   {Type: "char", Major: 1, Minor: 3, Mode: 0o666},
				"/dev/tty":    {Type: "char", Major: 5, Minor: 0, Mode: 0o666},
				"/tmp":        {Type: "dir", Mode: 0o1777},
				"/home/jail":  {Type: "dir", Mode: 0o750, UID: 1000, GID: 1000},
				"/etc/shadow": {Type: "file", Mode: 0o400, Size: int64(len("jail:!:::::::\n"))},
				"/lib64":      {Type: "symlink", Linkname: "usr/lib64"},
			} {
				f := got[p]
				if f.Type != want.Type || f.Mode&0o7777 != want.Mode && want.Type != "symlink" || f.UID != want.UID || f.GID != want.GID ||
					f.Major != want.Major || f.Minor != want.Minor || f.Linkname != want.Linkname || (want.Size != 0 && f.Size != want.Size) {
					t.Errorf("%s = %+v, want %+v", p, f, want)
				}
			}
		})
	}
}

// follow resolves the symlinks in p's directories within an image's file
// list, as the kernel would inside the jail.
func follow(files map[string]image.File, p string) string {
	for range 40 {
		changed := false
		for dir := p; dir != "/"; dir = path.Dir(dir) {
			if f, ok := files[dir]; ok && f.Type == "symlink" {
				target := f.Linkname
				if !path.IsAbs(target) {
					target = path.Join(path.Dir(dir), target)
				}
				p, changed = path.Join(target, strings.TrimPrefix(p, dir)), true
				break
			}
		}
		if !changed {
			return p
		}
	}
	return p
}

func TestBuildErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		recipe string
		files  map[string]string
		setup  func(dir string)
		is     error
		want   string
	}{
		{name: "missing binary", recipe: "name: x\nbinaries: [/nonexistent/daemon]\n", want: "/nonexistent/daemon"},
		{name: "non-ELF library", recipe: "name: x\nbinaries: [/usr/bin/true]\nlibraries: [$DIR/libfake.so.1]\n",
			files: map[string]string{"libfake.so.1": "not an ELF file\n"}, is: resolve.ErrNotELF, want: "libfake.so.1"},
		{name: "missing soname", recipe: "name: x\nbinaries: [/usr/bin/true]\nlibraries: [libdoesnotexist.so.9]\n", want: "libdoesnotexist.so.9"},
		{name: "missing source", recipe: "name: x\nfiles: [{src: nothere.conf, dst: /etc/x.conf}]\n", want: "files[0]: nothere.conf"},
		{name: "source escapes by symlink", recipe: "name: x\nfiles: [{src: link, dst: /etc/x}]\n",
			setup: func(dir string) { os.Symlink("/etc/hostname", filepath.Join(dir, "link")) }, is: ErrBadSource, want: "files[0]: link"},
		{name: "duplicate destination", recipe: "name: x\nfiles: [{src: a, dst: /etc/passwd}]\nusers: [{name: u, uid: 1, gid: 1}]\n",
			files: map[string]string{"a": "x"}, is: tree.ErrDuplicate, want: "/etc/passwd"},
		{name: "setuid host file", recipe: "name: x\nfiles: [{src: suid, dst: /bin/suid}]\n", files: map[string]string{"suid": "x"},
			setup: func(dir string) { os.Chmod(filepath.Join(dir, "suid"), 0o755|fs.ModeSetuid) }, is: tree.ErrUnsafeMode, want: "/bin/suid"},
		{name: "world-writable dir", recipe: "name: x\ndirs: [{path: /var/spool, mode: 0777}]\n", is: tree.ErrUnsafeMode, want: "/var/spool"},
		{name: "fifo source", recipe: "name: x\nfiles: [{src: d, dst: /d}]\n", files: map[string]string{"d/ok": "x"},
			setup: func(dir string) { exec.Command("mkfifo", filepath.Join(dir, "d/fifo")).Run() }, is: ErrBadSource, want: "d/fifo is a FIFO"},
		{name: "workdir not in the jail", recipe: "name: x\nbinaries: [/usr/bin/true]\nworkdir: /srv/x\n", want: "r.yaml:3: workdir: /srv/x is not a directory of the jail"},
		{name: "device source", recipe: "name: x\nfiles: [{src: /dev/zero, dst: /zero}]\n", is: ErrBadSource, want: "/dev/zero is a character device"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tc.files {
				p := filepath.Join(dir, name)
				os.MkdirAll(filepath.Dir(p), 0o755)
				os.WriteFile(p, []byte(content), 0o644)
			}
			if tc.setup != nil {
				tc.setup(dir)
			}
			p := filepath.Join(dir, "r.yaml")
			os.WriteFile(p, []byte(strings.ReplaceAll(tc.recipe, "$DIR", dir)), 0o644)
			r, err := recipe.Load(p)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Image(context.Background(), r)
			if err == nil {
				t.Fatalf("no error, want one naming %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q: want one line naming %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q does not wrap %v", err, tc.is)
			}
		})
	}
}

func TestExplicitModeClearsSetuid(t *testing.T) {
	r, err := load(t, "name: x\nfiles: [{src: suid, dst: /bin/suid, mode: 0755}]\n", map[string]string{"suid": "x"})
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(filepath.Dir(r.Path), "suid"), 0o755|fs.ModeSetuid)
	tr, err := Tree(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := tr.Get("/bin/suid"); e.Mode != 0o755 {
		t.Errorf("mode %v, want 0755", e.Mode)
	}
}

func TestDirectorySourceKeepsSymlinksAndOwners(t *testing.T) {
	r, err := load(t, "name: x\nusers: [{name: www, uid: 33, gid: 33}]\ngroups: [{name: www, gid: 33}]\nfiles: [{src: site, dst: /srv/www, owner: www, group: www}]\n",
		map[string]string{"site/index.html": "hi", "site/css/a.css": "a"})
	if err != nil {
		t.Fatal(err)
	}
	os.Symlink("index.html", filepath.Join(filepath.Dir(r.Path), "site/home.html"))
	tr, err := Tree(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	for p, typ := range map[string]tree.Type{"/srv/www": tree.Dir, "/srv/www/index.html": tree.Reg, "/srv/www/css/a.css": tree.Reg, "/srv/www/home.html": tree.Symlink} {
		e, ok := tr.Get(p)
		if !ok || e.Type != typ || e.UID != 33 || e.GID != 33 {
			t.Errorf("%s: %+v, want a %s owned by 33:33", p, e, typ)
		}
	}
	if e, _ := tr.Get("/srv/www/home.html"); e.Target != "index.html" {
		t.Errorf("symlink target %q", e.Target)
	}
}

// TestPlaceholders: run.syslog and run.hostfiles put empty root-owned
// files in the image for jailimg run to mount on; one that collides with
// a recipe entry is an error naming both.
func TestPlaceholders(t *testing.T) {
	r, err := load(t, "name: x\nrun:\n  syslog: true\n  hostfiles: [/etc/resolv.conf, /etc/hosts]\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := Tree(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/dev/log", "/etc/resolv.conf", "/etc/hosts"} {
		if e, ok := tr.Get(p); !ok || e.Type != tree.Reg || e.Size != 0 || e.Mode != 0o444 || e.UID != 0 || e.GID != 0 {
			t.Errorf("%s: %+v, want an empty root-owned 0444 file", p, e)
		}
	}
	r, err = load(t, "name: x\ntimezone: UTC\nrun:\n  hostfiles: [/etc/localtime]\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Tree(context.Background(), r); !errors.Is(err, tree.ErrDuplicate) || !strings.Contains(err.Error(), "r.yaml:4: run.hostfiles[0]") || !strings.Contains(err.Error(), "timezone") {
		t.Errorf("hostfile /etc/localtime with timezone: %v, want a duplicate naming run.hostfiles[0] and timezone", err)
	}
}

func TestNSSwitch(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"files dns", "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n"},
		{"dns", "passwd: files\ngroup: files\nshadow: files\nhosts: dns\nnetworks: files\nprotocols: files\nservices: files\n"},
	} {
		if got := nsswitch(strings.Fields(tc.in)); got != tc.want {
			t.Errorf("nsswitch(%s) =\n%s\nwant\n%s", tc.in, got, tc.want)
		}
	}
}

// TestRootKeepsSymlinksInside builds from a sysroot whose absolute symlinks
// point at paths that also exist on the build host: the jail must get the
// sysroot's files, never the host's.
func TestRootKeepsSymlinksInside(t *testing.T) {
	sys := t.TempDir()
	for p, content := range map[string]string{"etc/hostname": "sysroot\n", "srv/real.conf": "conf\n"} {
		os.MkdirAll(filepath.Join(sys, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(sys, p), []byte(content), 0o644)
	}
	os.MkdirAll(filepath.Join(sys, "usr/share/zoneinfo"), 0o755)
	os.Symlink("/etc/hostname", filepath.Join(sys, "usr/share/zoneinfo/Evil"))
	os.Symlink("/etc/hostname", filepath.Join(sys, "srv/host.conf"))
	os.Symlink("../../../../../srv/real.conf", filepath.Join(sys, "srv/up.conf"))
	r, err := load(t, "name: x\ntimezone: Evil\nfiles:\n  - {src: /srv/host.conf, dst: /a}\n  - {src: /srv/up.conf, dst: /b}\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := Tree(context.Background(), r, WithRoot(sys))
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{"/etc/localtime": "sysroot\n", "/a": "sysroot\n", "/b": "conf\n"} {
		e, ok := tr.Get(p)
		if !ok {
			t.Fatalf("%s missing", p)
		}
		rc, err := e.Open()
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if string(got) != want {
			t.Errorf("%s holds %q, want the sysroot's %q", p, got, want)
		}
	}
}

// TestLDCacheForLibrariesOutsideSystemDirs builds /usr/bin/ls from a sysroot
// where one of its libraries lives in /opt/lib, found through the sysroot's
// ld.so.cache: the jail must carry a cache of its own naming it.
func TestLDCacheForLibrariesOutsideSystemDirs(t *testing.T) {
	host, err := resolve.New(os.DirFS("/"))
	if err != nil {
		t.Fatal(err)
	}
	cl, err := host.Resolve(context.Background(), resolve.Request{Binaries: []string{"/usr/bin/ls"}})
	if err != nil {
		t.Fatal(err)
	}
	sys := t.TempDir()
	var moved string
	for _, f := range cl.Files {
		dst := filepath.Join(sys, f)
		if strings.Contains(f, "libpcre2-8.so") {
			moved, dst = f, filepath.Join(sys, "opt/lib/libpcre2-8.so.0")
		}
		os.MkdirAll(filepath.Dir(dst), 0o755)
		testutil.CopyFile(t, f, dst, 0o755)
	}
	if moved == "" {
		testutil.Skipf(t, "ls does not load libpcre2-8 here")
	}
	for _, l := range cl.Links {
		if !strings.Contains(l.Path, "libpcre2-8.so") {
			os.MkdirAll(filepath.Join(sys, filepath.Dir(l.Path)), 0o755)
			os.Symlink(l.Target, filepath.Join(sys, l.Path))
		}
	}
	entries := []resolve.CacheEntry{{Soname: "libpcre2-8.so.0", Path: "/opt/lib/libpcre2-8.so.0", Class: elf.ELFCLASS64, Machine: elf.EM_X86_64}}
	want, _ := resolve.WriteCache(entries)
	os.MkdirAll(filepath.Join(sys, "etc"), 0o755)
	os.WriteFile(filepath.Join(sys, "etc/ld.so.cache"), want, 0o644)

	r, err := load(t, "name: x\nbinaries: [/usr/bin/ls]\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := Tree(context.Background(), r, WithRoot(sys))
	if err != nil {
		t.Fatal(err)
	}
	e, ok := tr.Get("/etc/ld.so.cache")
	if !ok {
		t.Fatal("the jail has no /etc/ld.so.cache")
	}
	rc, _ := e.Open()
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, want) || e.Mode != 0o644 {
		t.Errorf("/etc/ld.so.cache: mode %v, %d bytes; want 0644 and the cache naming /opt/lib/libpcre2-8.so.0", e.Mode, len(got))
	}
	if _, ok := tr.Get("/opt/lib/libpcre2-8.so.0"); !ok {
		t.Error("the library in /opt/lib is missing")
	}

	// A jail whose libraries are all in the system directories has no cache.
	tr, err = Tree(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tr.Get("/etc/ld.so.cache"); ok {
		t.Error("a host build of ls got an ld.so.cache")
	}
}
