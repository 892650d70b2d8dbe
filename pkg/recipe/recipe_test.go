package recipe

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const good = `name: web
version: "1.0"
binaries:
  - /usr/sbin/nginx
  - {path: /usr/bin/passwd, mode: 0755}
libraries: [libnss_files.so.2]
files:
  - {src: nginx.conf, dst: /etc/nginx/nginx.conf, mode: 0644}
dirs:
  - {path: /var/log/nginx, mode: "0750", owner: www, group: www}
symlinks:
  - {path: /run, target: var/run}
devices:
  - null
  - {path: /dev/foo, type: char, major: 1, minor: 3, mode: 600}
users:
  - {name: www, uid: 101, gid: 101}
groups:
  - {name: www, gid: 101, members: [www]}
nss: [files, dns]
timezone: Europe/Paris
entrypoint: [/usr/sbin/nginx]
cmd: ["-g", "daemon off;"]
user: www
workdir: /
env: {LANG: C.UTF-8}
run:
  logs: [/var/log/nginx]
  tmpfs_size: 16M
  seccomp: false
  pid: host
  hostfiles: [/etc/resolv.conf]
  rlimits: {nofile: 1024}
  umask: "027"
`

func TestParseGood(t *testing.T) {
	r, err := Parse("good.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := r.Binaries[1]; got.Path != "/usr/bin/passwd" || got.Mode == nil || *got.Mode != 0o755 {
		t.Errorf("binaries[1] = %+v", got)
	}
	if *r.Dirs[0].Mode != 0o750 || r.Dirs[0].Owner.Name != "www" {
		t.Errorf("dirs[0] = %+v", r.Dirs[0])
	}
	if d := r.Devices[0]; d.Path != "/dev/null" || d.Major != 1 || d.Minor != 3 || *d.Mode != 0o666 {
		t.Errorf("devices[0] = %+v", d)
	}
	if *r.Devices[1].Mode != 0o600 {
		t.Errorf("devices[1].mode = %o", *r.Devices[1].Mode)
	}
	if r.Users[0].Shell != "/usr/sbin/nologin" || r.Users[0].Home != "/nonexistent" {
		t.Errorf("user defaults not filled: %+v", r.Users[0])
	}
	if r.Run.Umask != 0o27 || r.Run.Rlimits["nofile"] != 1024 || r.Run.TmpfsSize != 16<<20 || r.Run.SeccompOn() || !r.Run.LandlockOn() ||
		r.Run.PID != "host" || r.Run.Logs[0] != "/var/log/nginx" || r.Run.Hostfiles[0] != "/etc/resolv.conf" {
		t.Errorf("run = %+v", r.Run)
	}
	if uid, _ := r.UID(*r.Dirs[0].Owner); uid != 101 {
		t.Errorf("UID(www) = %d", uid)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"unknown top key", "name: a\nbinarys: [/bin/sh]\n", "r.yaml:2: binarys: unknown key"},
		{"unknown nested key", "name: a\nfiles:\n  - src: /etc/hosts\n    dst: /etc/hosts\n    mod: 0644\n", "r.yaml:5: files[0].mod: unknown key"},
		{"wrong type list", "name: a\nbinaries: /bin/sh\n", "r.yaml:2: binaries: want a list"},
		{"wrong type mapping", "name: a\nenv: [A]\n", "r.yaml:2: env: want a mapping"},
		{"bad mode", "name: a\ndirs:\n  - {path: /x, mode: 0x9}\n", "r.yaml:3: dirs[0].mode: \"0x9\" is not an octal mode"},
		{"bad uid", "name: a\nusers:\n  - {name: u, uid: -1}\n", "r.yaml:3: users[0].uid: \"-1\" is not a non-negative whole number"},
		{"duplicate key", "name: a\nname: b\n", "r.yaml:2: name: duplicate key"},
		{"yaml syntax", "name: [a\n", "r.yaml"},
		{"two documents", "name: a\n---\nname: b\n", "more than one YAML document"},
		{"empty", "", "r.yaml: empty recipe"},
		{"bad name", "name: A B\n", "r.yaml:1: name: \"A B\" must be"},
		{"relative binary", "name: a\nbinaries: [bin/sh]\n", "r.yaml:2: binaries[0]: \"bin/sh\" is not an absolute path"},
		{"src escapes", "name: a\nfiles:\n  - {src: ../../etc/shadow, dst: /etc/shadow}\n", "r.yaml:3: files[0].src: \"../../etc/shadow\" escapes the recipe directory"},
		{"unclean dst", "name: a\nfiles:\n  - {src: x, dst: /etc/../x}\n", "r.yaml:3: files[0].dst: \"/etc/../x\" is not clean"},
		{"unsafe device", "name: a\ndevices: [sda]\n", "r.yaml:2: devices[0]: \"sda\" is not in the safe device table"},
		{"device type", "name: a\ndevices:\n  - {path: /dev/x, type: pipe, major: 1, minor: 1, mode: 600}\n", "r.yaml:3: devices[0].type: \"pipe\" is not char or block"},
		{"unknown owner", "name: a\ndirs:\n  - {path: /x, owner: nobody}\n", "r.yaml:3: dirs[0].owner: \"nobody\" is not one of the recipe's users"},
		{"unknown user", "name: a\nuser: www\n", "r.yaml:2: user: \"www\" is neither a uid"},
		{"bad timezone", "name: a\ntimezone: ../../etc/shadow\n", "r.yaml:2: timezone:"},
		{"bad rlimit", "name: a\nrun:\n  rlimits: {files: 3}\n", "r.yaml:3: run.rlimits.files: unknown limit"},
		{"bad umask", "name: a\nrun:\n  umask: 99\n", "r.yaml:3: run.umask: \"99\" is not an octal number"},
		{"colon in gecos", "name: a\nusers:\n  - {name: u, uid: 1, gid: 1, gecos: \"a:b\"}\n", "r.yaml:3: users[0].gecos: must not contain"},
		{"missing uid", "name: a\nusers:\n  - {name: u, gid: 1}\n", "r.yaml:3: users[0]: uid is required"},
		{"epoch past 9999", "name: a\nepoch: 253402300800\n", "r.yaml:2: epoch: 253402300800 is outside 0 to 253402300799"},
		{"newline in a jail path", "name: a\ndirs:\n  - {path: \"/a\\nsetuid\\t/x\"}\n", `r.yaml:3: dirs[0].path: "/a\nsetuid\t/x" contains a control character`},
		{"escape in a target", "name: a\nsymlinks:\n  - {path: /l, target: \"\\e[31m\"}\n", `r.yaml:3: symlinks[0].target: "\x1b[31m" contains a control character`},
		{"image waives setuid", "name: a\nrun: {accept: [interpreter, setuid]}\n", `r.yaml:2: run.accept[1]: "setuid" cannot be accepted by an image (only interpreter, user-writable)`},
		{"uid -1", "name: a\nusers:\n  - {name: u, uid: 4294967295, gid: 1}\n", "r.yaml:3: users[0].uid: 4294967295 is not a valid id"},
		{"gid -1", "name: a\ngroups:\n  - {name: g, gid: 4294967295}\n", "r.yaml:3: groups[0].gid: 4294967295 is not a valid id"},
		{"owner -1", "name: a\ndirs:\n  - {path: /d, owner: 4294967295}\n", "r.yaml:3: dirs[0].owner: 4294967295 is not a valid id"},
		{"missing group gid", "name: a\ngroups:\n  - {name: g}\n", "r.yaml:3: groups[0]: gid is required"},
		{"duplicate uid", "name: a\nusers:\n  - {name: u, uid: 7, gid: 7}\n  - {name: v, uid: 7, gid: 7}\n", "r.yaml:4: users[1].uid: 7 is also the uid of \"u\""},
		{"owner mapping", "name: a\ndirs:\n  - {path: /x, owner: {}}\n", "r.yaml:3: dirs[0].owner: want a single value, got a mapping"},
		{"unclean workdir", "name: a\nworkdir: /a/../b\n", "r.yaml:2: workdir: \"/a/../b\" is not clean"},
		{"umask too big", "name: a\nrun:\n  umask: 7777\n", "r.yaml:3: run.umask: 7777 is more than 0777"},
		{"bad compression", "name: a\ncompression: xz\n", "r.yaml:2: compression: \"xz\" is not gzip or zstd"},
		{"state not declared", "name: a\ndirs:\n  - {path: /var/log/a}\nrun:\n  logs: [/var/log/a]\n  state:\n    - /var/lib/a\n", `r.yaml:7: run.state[0]: "/var/lib/a" is not one of the recipe's dirs:`},
		{"runtime twice", "name: a\ndirs:\n  - {path: /run/a}\nrun:\n  runtime: [/run/a]\n  cache: [/run/a]\n", `r.yaml:6: run.cache[0]: "/run/a" is already run.runtime[0]`},
		{"runtime relative", "name: a\nrun:\n  runtime: [run/a]\n", `r.yaml:3: run.runtime[0]: "run/a" is not an absolute path`},
		{"logs on the root", "name: a\nrun:\n  logs: [/]\n", `r.yaml:3: run.logs[0]: cannot mount over the jail's root`},
		{"tmp without /tmp", "name: a\nrun:\n  tmp: true\n", `r.yaml:3: run.tmp: the recipe's dirs: declare no /tmp`},
		{"tmp also runtime", "name: a\ndirs:\n  - {path: /tmp, mode: 01777}\nrun:\n  runtime: [/tmp]\n  tmp: true\n", `r.yaml:6: run.tmp: /tmp is already run.runtime[0]`},
		{"hostfile not allowed", "name: a\nrun:\n  hostfiles: [/etc/resolv.conf, /etc/shadow]\n", `r.yaml:3: run.hostfiles[1]: "/etc/shadow" is not one of /etc/hosts, /etc/localtime, /etc/resolv.conf`},
		{"hostfile twice", "name: a\nrun:\n  hostfiles:\n    - /etc/hosts\n    - /etc/hosts\n", `r.yaml:5: run.hostfiles[1]: "/etc/hosts" is listed twice`},
		{"bad pid mode", "name: a\nrun:\n  pid: shared\n", `r.yaml:3: run.pid: "shared" is not private or host`},
		{"bad ipc mode", "name: a\nrun:\n  ipc: none\n", `r.yaml:3: run.ipc: "none" is not private or host`},
		{"seccomp not a boolean", "name: a\nrun:\n  seccomp: maybe\n", `r.yaml:3: run.seccomp:`},
		{"bad tmpfs size", "name: a\nrun:\n  tmpfs_size: 64X\n", `r.yaml:3: run.tmpfs_size: "64X" is not a size`},
		{"bad package", "name: a\npackages: [Nginx]\n", "r.yaml:2: packages[0]: \"Nginx\" is not a Debian package name"},
		{"bad package version", "name: a\npackages: [\"nginx=1 2\"]\n", "r.yaml:2: packages[0]: \"nginx=1 2\": \"1 2\" is not a Debian version"},
		{"package twice", "name: a\npackages: [nginx, nginx=1.0]\n", "r.yaml:2: packages[1]: nginx is named twice"},
		{"from without packages", "name: a\nfiles:\n  - {src: /etc/hosts, dst: /etc/hosts, from: host}\n", "r.yaml:3: files[0].from: only a recipe with packages: says where"},
		{"bad from", "name: a\npackages: [nginx]\nfiles:\n  - {src: /etc/hosts, dst: /etc/hosts, from: usb}\n", "r.yaml:4: files[0].from: \"usb\" is not host or packages"},
		{"from of a relative src", "name: a\npackages: [nginx]\nfiles:\n  - {src: x, dst: /x, from: host}\n", "r.yaml:4: files[0].from: \"x\" is relative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse("r.yaml", []byte(tc.yaml))
			if err == nil {
				err = r.Validate()
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\nwant it to contain %q", err, tc.want)
			}
			if strings.Count(err.Error(), "\n") > 0 {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "r.yaml")
	if err := os.WriteFile(p, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if r.Path != p {
		t.Errorf("Path = %q", r.Path)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("Load of a missing file: no error")
	}
	big := filepath.Join(dir, "big.yaml")
	os.WriteFile(big, []byte("name: a\n#"+strings.Repeat("x", MaxSize)), 0o644)
	if _, err := Load(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("Load of a huge file: %v", err)
	}
	// A FIFO used to block the build for ever (SIGTERM could not stop it).
	fifo := filepath.Join(dir, "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	var rerr *Error
	if _, err := Load(fifo); !errors.As(err, &rerr) || !strings.Contains(err.Error(), fifo+": not a regular file") {
		t.Errorf("Load of a FIFO: %v, want a recipe error naming it", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("name: a\nbinaries: [/bin/sh]\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse("f.yaml", data)
		if err == nil {
			_ = r.Validate()
		}
	})
}

// TestAliasBytes: a long string repeated through aliases is refused before
// it is expanded (a 200 kB anchor used 20000 times would be 4 GB).
func TestAliasBytes(t *testing.T) {
	data := "name: a\nversion: &a " + strings.Repeat("a", 200000) + "\ncmd: [" + strings.Repeat("*a, ", 20000) + "*a]\n"
	_, err := Parse("bomb.yaml", []byte(data))
	if err == nil || !strings.Contains(err.Error(), "bomb.yaml:3: cmd[") || !strings.Contains(err.Error(), "bytes of values") {
		t.Fatalf("aliases of a long string: %v", err)
	}
}

func TestAliasLoop(t *testing.T) {
	_, err := Parse("loop.yaml", []byte("name: a\nlibraries: &x [*x]\n"))
	if err == nil || !strings.Contains(err.Error(), "loop.yaml:2: libraries[0]") {
		t.Fatalf("self-referencing alias: %v", err)
	}
}

func TestNullUmaskIsAbsent(t *testing.T) {
	r, err := Parse("r.yaml", []byte("name: a\nrun:\n  umask: ~\n"))
	if err == nil {
		err = r.Validate()
	}
	if err != nil || r.Run.Umask != 0 {
		t.Errorf("umask: ~ gave %v, %o; want no error and the default", err, r.Run.Umask)
	}
}
