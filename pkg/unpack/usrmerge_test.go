package unpack

import (
	"archive/tar"
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/jailimg/jailimg/internal/testutil"
)

func sha256hex(s string) string { return fmt.Sprintf("%x", sha256.Sum256([]byte(s))) }

// usrmergeLayers is a real-world-shaped image: a base layer laid out as
// Debian and Fedora base images are since usrmerge (bin, lib, lib64 and
// sbin symlinks into usr), and an application layer written by a tool that
// did not look at the base, through bin/ and lib/, replacing a file, with a
// whiteout and an opaque directory.
func usrmergeLayers() [][]ent {
	d := func(name string, mode int64, uid, gid int) ent {
		return ent{Name: name + "/", Type: tar.TypeDir, Mode: mode, Uid: uid, Gid: gid}
	}
	f := func(name, body string, mode int64, uid, gid int) ent {
		return ent{Name: name, Body: body, Mode: mode, Uid: uid, Gid: gid}
	}
	base := []ent{
		d(".", 0o755, 0, 0),
		symlink("bin", "usr/bin"), symlink("lib", "usr/lib"), symlink("lib64", "usr/lib64"), symlink("sbin", "usr/sbin"),
		d("etc", 0o755, 0, 0), f("etc/passwd", "root:x:0:0:root:/root:/bin/bash\n", 0o644, 0, 0),
		f("etc/shadow", "root:*:19000:0:99999:7:::\n", 0o640, 0, 42), symlink("etc/localtime", "/usr/share/zoneinfo/Etc/UTC"),
		d("root", 0o700, 0, 0), d("tmp", 0o1777, 0, 0),
		d("usr", 0o755, 0, 0), d("usr/bin", 0o755, 0, 0), d("usr/lib", 0o755, 0, 0), d("usr/lib64", 0o755, 0, 0), d("usr/sbin", 0o755, 0, 0),
		f("usr/bin/bash", "ELF bash", 0o755, 0, 0), symlink("usr/bin/sh", "bash"),
		f("usr/bin/perl", "ELF perl", 0o755, 0, 0), hardlink("usr/bin/perl5.36.0", "usr/bin/perl"),
		d("usr/lib/x86_64-linux-gnu", 0o755, 0, 0), f("usr/lib/x86_64-linux-gnu/libc.so.6", "ELF libc", 0o755, 0, 0),
		f("usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "ELF ld.so", 0o755, 0, 0),
		symlink("usr/lib64/ld-linux-x86-64.so.2", "../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
		f("usr/sbin/nologin", "ELF nologin", 0o755, 0, 0),
		d("usr/share", 0o755, 0, 0), d("usr/share/zoneinfo/Etc", 0o755, 0, 0), f("usr/share/zoneinfo/Etc/UTC", "TZif", 0o644, 0, 0),
		d("usr/share/doc/bash", 0o755, 0, 0), f("usr/share/doc/bash/copyright", "GPL", 0o644, 0, 0),
		d("var", 0o755, 0, 0), d("var/cache/apt", 0o755, 0, 0), f("var/cache/apt/pkgcache.bin", "cache", 0o644, 0, 0),
		d("var/cache/apt/archives", 0o755, 0, 0), f("var/cache/apt/archives/lock", "", 0o640, 0, 0),
	}
	app := []ent{
		f("bin/app", "ELF app", 0o755, 0, 0),
		f("sbin/appctl", "ELF appctl", 0o750, 0, 101),
		hardlink("bin/app-compat", "bin/app"),
		d("lib/x86_64-linux-gnu/app", 0o755, 0, 0),
		f("lib/x86_64-linux-gnu/libapp.so.1", "ELF libapp", 0o644, 0, 0),
		symlink("lib/x86_64-linux-gnu/libapp.so", "libapp.so.1"),
		f("lib/x86_64-linux-gnu/app/plugin.so", "ELF plugin", 0o644, 0, 0),
		f("etc/passwd", "root:x:0:0:root:/root:/bin/bash\napp:x:100:101::/srv/app:/usr/sbin/nologin\n", 0o644, 0, 0),
		d("srv/app", 0o750, 100, 101), f("srv/app/config", "listen 8080", 0o640, 100, 101),
		whiteout("usr/share/doc/bash"),
		d("var/cache/apt", 0o755, 0, 0), opaque("var/cache/apt"), f("var/cache/apt/app.bin", "app cache", 0o644, 0, 0),
	}
	return [][]ent{base, app}
}

// TestUsrmerge is the positive control of following in-root symlinks for
// parent directories: the usrmerge image unpacked by jailimg and by umoci
// gives the same tree (names, types, modes, owners, link targets, contents,
// hardlinks), the oracle's tree too (with mtimes), and the application's
// files are under usr, the symlinks kept.
func TestUsrmerge(t *testing.T) {
	testutil.NeedRoot(t, "owners")
	tars := tarsOf(t, usrmergeLayers())
	img := imageOfTars(t, tars)
	got := jailimgTree(t, img)
	if d := treeDiff(umociTree(t, img), got, true); d != "" {
		t.Errorf("jailimg and umoci differ (want umoci's):\n%s", d)
	}
	o := newOracle()
	if err := o.layers(tars...); err != nil {
		t.Fatal(err)
	}
	if d := treeDiff(o.tree(), got, false); d != "" {
		t.Errorf("jailimg differs from the oracle:\n%s", d)
	}
	for p, want := range map[string]string{
		"bin":                                    "l 0:0 -> usr/bin",
		"lib":                                    "l 0:0 -> usr/lib",
		"usr/bin/app-compat":                     `f 0755 0:0 7 bytes sha256:` + sha256hex("ELF app") + ` "ELF app" hardlink of usr/bin/app`,
		"usr/sbin/appctl":                        `f 0750 0:101 10 bytes sha256:` + sha256hex("ELF appctl") + ` "ELF appctl"`,
		"usr/lib/x86_64-linux-gnu/libapp.so":     "l 0:0 -> libapp.so.1",
		"usr/lib/x86_64-linux-gnu/app/plugin.so": `f 0644 0:0 10 bytes sha256:` + sha256hex("ELF plugin") + ` "ELF plugin"`,
		"usr/share/doc":                          "d 0755 0:0",
		"var/cache/apt/app.bin":                  `f 0644 0:0 9 bytes sha256:` + sha256hex("app cache") + ` "app cache"`,
		"usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2": `f 0755 0:0 9 bytes sha256:` + sha256hex("ELF ld.so") + ` "ELF ld.so"`,
	} {
		e, ok := got[p]
		e.mtime = -1
		if !ok || e.String() != want {
			t.Errorf("/%s = %s (present %v), want %s", p, e, ok, want)
		}
	}
	for _, p := range []string{"usr/share/doc/bash", "var/cache/apt/pkgcache.bin", "var/cache/apt/archives"} {
		if _, ok := got[p]; ok {
			t.Errorf("/%s is still there", p)
		}
	}
}
