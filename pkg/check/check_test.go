package check_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/jailimg/jailimg/internal/runtest"
	"github.com/jailimg/jailimg/pkg/check"
)

// entry is one line of a tree spec: "type path mode [arg]", where type is
// f (file, arg is the content), d (dir), l (symlink, arg is the target),
// c or b (device, arg is "major:minor").
func build(t *testing.T, root string, spec string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(spec), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		p := filepath.Join(root, f[1])
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var mode uint32
		fmt.Sscanf(f[2], "%o", &mode)
		arg := strings.Join(f[3:], " ")
		var err error
		switch f[0] {
		case "f":
			err = os.WriteFile(p, []byte(strings.ReplaceAll(arg, `\n`, "\n")), 0o600)
		case "d":
			err = os.MkdirAll(p, 0o700)
		case "l":
			err = os.Symlink(arg, p)
		case "c", "b":
			var maj, mnr uint32
			fmt.Sscanf(arg, "%d:%d", &maj, &mnr)
			typ := uint32(unix.S_IFCHR)
			if f[0] == "b" {
				typ = unix.S_IFBLK
			}
			err = unix.Mknod(p, typ|0o600, int(unix.Mkdev(maj, mnr)))
		}
		if err == nil && f[0] != "l" {
			err = unix.Chmod(p, mode) // Chmod keeps setuid, setgid and sticky bits
		}
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
	}
}

const cleanTree = `
d /bin 0755
f /bin/app 0755 #!app
d /etc 0755
f /etc/passwd 0644 root:x:0:0:root:/root:/usr/sbin/nologin\nsvc:x:1000:1000::/data:/bin/false\n
f /etc/group 0644 root:x:0:\nsvc:x:1000:\n
f /etc/shadow 0600 root:*:19000:0:99999:7:::\nsvc:!:19000:0:99999:7:::\n
d /data 0700
d /tmp 1777
d /dev 0755
c /dev/null 0666 1:3
c /dev/urandom 0666 1:9
`

func TestClean(t *testing.T) {
	runtest.NeedRoot(t, "device nodes and chown")
	root := t.TempDir()
	build(t, root, cleanTree)
	must(t, os.Chown(filepath.Join(root, "data"), 1000, 1000))
	got, err := check.Run(context.Background(), root, check.WithUser("svc"), check.WithWritable("/data", "/tmp"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("clean tree has findings:\n%s", lines(got))
	}
}

// TestBad builds a tree with one instance of every kind of finding and
// asserts that each is reported, and nothing else.
func TestBad(t *testing.T) {
	runtest.NeedRoot(t, "device nodes, file capabilities, chown and mount")
	root := t.TempDir()
	build(t, root, cleanTree+`
f /bin/su 4755 su
f /bin/wall 2755 wall
f /bin/ping 0755 ping
f /bin/bash 0755 bash
l /bin/sh 0777 bash
f /usr/bin/python3.11 0755 python
f /usr/bin/gcc-12 0755 gcc
f /usr/bin/python3.11-config 0644 not an interpreter
f /etc/motd 0666 hello
d /var/spool 0777
b /dev/sda 0600 8:0
c /dev/mem 0600 1:1
f /etc/app.conf 0644 key=value
f /etc/extra 0644 root::0:0::/:/usr/sbin/nologin\n
d /mnt 0755
`)
	must(t, os.WriteFile(filepath.Join(root, "etc/passwd"), []byte(
		"root:x:0:0:root:/root:/bin/bash\nsvc:$6$salt$hash:1000:1000::/data:/usr/sbin/nologin\nold::1001:1001::/:\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(root, "etc/shadow"), []byte("root::19000:0:99999:7:::\n"), 0o600))
	must(t, os.Chown(filepath.Join(root, "data"), 1000, 1000))
	must(t, os.Chown(filepath.Join(root, "etc/app.conf"), 1000, 1000))
	// CAP_NET_RAW, VFS_CAP_REVISION_2, effective.
	capv2 := []byte{1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	must(t, unix.Setxattr(filepath.Join(root, "bin/ping"), "security.capability", capv2, 0))
	outside := filepath.Join(t.TempDir(), "shadow-copy")
	must(t, os.WriteFile(outside, []byte("x"), 0o644))
	must(t, os.Link(outside, filepath.Join(root, "etc/linked")))
	must(t, unix.Mount("tmpfs", filepath.Join(root, "mnt"), "tmpfs", 0, "size=1m"))
	t.Cleanup(func() { unix.Unmount(filepath.Join(root, "mnt"), unix.MNT_DETACH) })

	got, err := check.Run(context.Background(), root, check.WithUser("svc"), check.WithWritable("/data"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"capability /bin/ping",
		"device /dev/mem",
		"device /dev/sda",
		"hardlink /etc/linked",
		"interpreter /bin/bash",
		"interpreter /bin/sh",
		"interpreter /usr/bin/gcc-12",
		"interpreter /usr/bin/python3.11",
		"mount /mnt",
		"passwd /etc/passwd", // root: login shell
		"passwd /etc/passwd", // svc: password hash
		"passwd /etc/passwd", // old: empty password
		"passwd /etc/passwd", // old: empty shell is /bin/sh
		"passwd /etc/shadow", // root: empty password
		"setgid /bin/wall",
		"setuid /bin/su",
		"user-writable /etc/app.conf",
		"user-writable /tmp",
		"world-writable /etc/motd",
		"world-writable /var/spool",
	}
	var gotKP []string
	for _, f := range got {
		gotKP = append(gotKP, string(f.Kind)+" "+f.Path)
	}
	slices.Sort(gotKP)
	if !slices.Equal(gotKP, want) {
		t.Errorf("findings:\n%s\nwant (kind path):\n%s", lines(got), strings.Join(want, "\n"))
	}
	for _, f := range got {
		if f.Detail == "" {
			t.Errorf("finding without detail: %v", f)
		}
	}
}

func TestNotADirectory(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	must(t, os.WriteFile(f, nil, 0o644))
	if _, err := check.Run(context.Background(), f); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("Run on a file = %v", err)
	}
}

func lines(fs []check.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(f.String() + "\n")
	}
	return b.String()
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestForgedNames: a name holding a newline, a tab or a terminal escape is
// printed quoted, on one line, and cannot pass for another finding.
func TestForgedNames(t *testing.T) {
	root := t.TempDir()
	build(t, root, cleanTree)
	forged := "/etc/x\nsetuid\tusr-bin-fake\tforged line"
	escape := "/etc/\x1b[31mred"
	for _, p := range []string{forged, escape} {
		must(t, os.WriteFile(filepath.Join(root, p), nil, 0o644))
		must(t, os.Chmod(filepath.Join(root, p), 0o666))
	}
	fs, err := check.Run(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	out := lines(fs)
	for _, want := range []string{
		"world-writable\t" + `"/etc/x\nsetuid\tusr-bin-fake\tforged line"` + "\t",
		"world-writable\t" + `"/etc/\x1b[31mred"` + "\t",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "\n"); n != len(fs) || strings.ContainsRune(out, 0x1b) || strings.Contains(out, "\nsetuid") {
		t.Errorf("%d findings printed as %d lines, or with a raw escape:\n%s", len(fs), n, out)
	}
}
