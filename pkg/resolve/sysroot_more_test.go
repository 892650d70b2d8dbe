package resolve

import (
	"debug/elf"
)

// moreSysrootCases cover candidates, inputs, configuration and escapes.
func moreSysrootCases() []sysrootCase {
	return []sysrootCase{{
		name: "candidates of the wrong class or machine are skipped",
		tree: with(debianBase(), tree{
			"/usr/bin/app":       app("libw.so"),
			mdir + "/libw.so":    elfSpec{class: elf.ELFCLASS32, machine: elf.EM_386},
			"/usr/lib/libw.so":   elfSpec{machine: elf.EM_AARCH64},
			"/opt/never/libw.so": elfSpec{},
		}),
		req:     Request{Binaries: []string{"/usr/bin/app"}},
		files:   []string{"/usr/bin/app", ldso},
		missing: []missLib{{"libw.so", "/usr/bin/app"}},
	}, {
		name: "a compatible candidate after incompatible ones is found",
		tree: with(debianBase(), tree{
			"/usr/bin/app":     app("libw.so"),
			mdir + "/libw.so":  elfSpec{class: elf.ELFCLASS32, machine: elf.EM_386},
			"/usr/lib/libw.so": elfSpec{},
		}),
		req:   Request{Binaries: []string{"/usr/bin/app"}},
		files: []string{"/usr/bin/app", ldso, "/usr/lib/libw.so"},
	}, {
		name:  "an input that is not ELF",
		tree:  with(debianBase(), tree{"/usr/bin/script": "#!/bin/sh\necho hi\n"}),
		req:   Request{Binaries: []string{"/usr/bin/script"}},
		errIs: ErrNotELF, errSubstr: "/usr/bin/script",
	}, {
		name: "a search candidate that is not ELF stops the search as in ld.so",
		tree: with(debianBase(), tree{
			"/usr/bin/app":     app("libt.so"),
			mdir + "/libt.so":  "INPUT(-lfoo)\n",
			"/usr/lib/libt.so": elfSpec{},
		}),
		req:   Request{Binaries: []string{"/usr/bin/app"}},
		files: []string{"/usr/bin/app", ldso},
		errIs: ErrNotELF, errSubstr: "resolving libt.so for /usr/bin/app: " + mdir + "/libt.so",
	}, {
		name:  "a static binary needs only itself",
		tree:  with(debianBase(), tree{"/usr/bin/static": elfSpec{typ: elf.ET_EXEC, static: true}}),
		req:   Request{Binaries: []string{"/usr/bin/static"}},
		files: []string{"/usr/bin/static"},
		links: []Link{},
	}, {
		name: "DT_NEEDED with a slash is a path, $ORIGIN expanded",
		tree: with(debianBase(), tree{
			"/usr/bin/app":         app("/opt/x/libx.so", "$ORIGIN/../lib/app/libo.so"),
			"/opt/x/libx.so":       elfSpec{},
			"/usr/lib/app/libo.so": elfSpec{},
		}),
		req:   Request{Binaries: []string{"/usr/bin/app"}},
		files: []string{"/opt/x/libx.so", "/usr/bin/app", "/usr/lib/app/libo.so", ldso},
	}, {
		name: "a soname already loaded is not searched again",
		tree: with(debianBase(), tree{
			"/usr/bin/app":         elfSpec{interp: interp, needed: []string{"liba.so", "libb.so"}, rpath: "/opt/r"},
			"/opt/r/liba.so":       elfSpec{soname: "liba.so.1"},
			"/opt/r/libb.so":       elfSpec{needed: []string{"liba.so.1", "libc.so.6"}, runpath: "/opt/other"},
			"/opt/other/liba.so.1": elfSpec{},
		}),
		req:   Request{Binaries: []string{"/usr/bin/app"}},
		files: []string{"/opt/r/liba.so", "/opt/r/libb.so", "/usr/bin/app", ldso, libc},
	}, {
		name: "glibc-hwcaps subdirectories, best supported first",
		tree: with(debianBase(), tree{
			"/usr/bin/app":                           app("libh.so"),
			mdir + "/glibc-hwcaps/x86-64-v4/libh.so": elfSpec{},
			mdir + "/glibc-hwcaps/x86-64-v2/libh.so": elfSpec{},
			mdir + "/libh.so":                        elfSpec{},
		}),
		opts:  []Option{WithHWCaps("x86-64-v3", "x86-64-v2")},
		req:   Request{Binaries: []string{"/usr/bin/app"}},
		files: []string{"/usr/bin/app", mdir + "/glibc-hwcaps/x86-64-v2/libh.so", ldso},
	}, {
		name: "DF_1_NODEFLIB skips cache and system directories",
		tree: with(debianBase(), tree{
			"/usr/bin/app": elfSpec{interp: interp, needed: []string{"libz.so.1"}, flags1: uint64(elf.DF_1_NODEFLIB)},
		}),
		req:     Request{Binaries: []string{"/usr/bin/app"}},
		files:   []string{"/usr/bin/app", ldso},
		missing: []missLib{{"libz.so.1", "/usr/bin/app"}},
	}, {
		name: "ld.so.conf with include globs when there is no ld.so.cache",
		tree: with(debianBase(), tree{
			"/usr/bin/app":             app("libconf.so", "libconf2.so"),
			"/etc/ld.so.conf":          "# comment\ninclude ld.so.conf.d/*.conf\n/opt/first\n",
			"/etc/ld.so.conf.d/a.conf": "/opt/conf # trailing comment\n",
			"/etc/ld.so.conf.d/b.conf": "include /etc/ld.so.conf\n", // a loop
			"/etc/ld.so.conf.d/c.nope": "/opt/ignored\n",
			"/opt/conf/libconf.so":     elfSpec{},
			"/opt/first/libconf.so":    elfSpec{},
			"/opt/first/libconf2.so":   elfSpec{},
			"/opt/ignored/libconf2.so": elfSpec{},
		}),
		req:   Request{Binaries: []string{"/usr/bin/app"}},
		files: []string{"/opt/conf/libconf.so", "/opt/first/libconf2.so", "/usr/bin/app", ldso},
	}, {
		name: "ld.so.cache, with glibc-hwcaps entries and wrong-flag entries",
		tree: with(debianBase(), tree{
			"/usr/bin/app": app("libcache.so.1", "libhw.so.1", "libz.so.1"),
			"/etc/ld.so.cache": buildLDCache([]cacheEnt{
				{"libcache.so.1", "/opt/i386/libcache.so.1", 0x0003, ""},
				{"libcache.so.1", "/opt/cached/libcache.so.1", 0x0303, ""},
				{"libhw.so.1", "/opt/hw/v4/libhw.so.1", 0x0303, "x86-64-v4"},
				{"libhw.so.1", "/opt/hw/v2/libhw.so.1", 0x0303, "x86-64-v2"},
				{"libhw.so.1", "/opt/hw/libhw.so.1", 0x0303, ""},
			}),
			"/etc/ld.so.conf":           "/opt/conf-is-not-read\n",
			"/opt/cached/libcache.so.1": elfSpec{},
			"/opt/i386/libcache.so.1":   elfSpec{class: elf.ELFCLASS32, machine: elf.EM_386},
			"/opt/hw/v4/libhw.so.1":     elfSpec{},
			"/opt/hw/v2/libhw.so.1":     elfSpec{},
			"/opt/hw/libhw.so.1":        elfSpec{},
		}),
		opts:  []Option{WithHWCaps("x86-64-v3", "x86-64-v2")},
		req:   Request{Binaries: []string{"/usr/bin/app"}},
		files: []string{"/opt/cached/libcache.so.1", "/opt/hw/v2/libhw.so.1", "/usr/bin/app", ldso, libc, mdir + "/libz.so.1.2.13"},
	}, {
		name: "symlinks never escape the root",
		tree: with(debianBase(), tree{
			"/usr/bin/app": app("libz.so.1", "libc.so.6", "libm.so.6"),
			// absolute and climbing targets naming files that exist on the host only
			mdir + "/libz.so.1": link("/../../../../../usr/lib/x86_64-linux-gnu/libz.so.1"),
			mdir + "/libc.so.6": link("../../../../../../../../usr/lib/x86_64-linux-gnu/libc.so.6"),
			mdir + "/libm.so.6": link("/proc/self/root/usr/lib/x86_64-linux-gnu/libm.so.6"),
		}),
		req:   Request{Binaries: []string{"/usr/bin/app"}},
		files: []string{"/usr/bin/app", ldso},
		missing: []missLib{
			{"libz.so.1", "/usr/bin/app"}, {"libc.so.6", "/usr/bin/app"}, {"libm.so.6", "/usr/bin/app"},
		},
	}, {
		name: "a missing interpreter is reported, not taken from the host",
		tree: tree{
			"/usr/bin/app": app(),
		},
		req:     Request{Binaries: []string{"/usr/bin/app"}},
		files:   []string{"/usr/bin/app"},
		missing: []missLib{{interp, "/usr/bin/app"}},
	}, {
		name: "extra libraries by soname and by path, dlopen()ed by the first binary",
		tree: with(debianBase(), tree{
			"/usr/bin/app":         elfSpec{interp: interp, needed: []string{"libc.so.6"}, runpath: "/opt/plugins"},
			"/usr/bin/other":       app(),
			"/opt/plugins/libp.so": elfSpec{needed: []string{"libz.so.1"}},
			"/opt/direct/libd.so":  elfSpec{},
		}),
		req:     Request{Binaries: []string{"/usr/bin/app", "/usr/bin/other"}, Libraries: []string{"libp.so", "/opt/direct/libd.so", "libc.so.6", "libnope.so"}},
		files:   []string{"/opt/direct/libd.so", "/opt/plugins/libp.so", "/usr/bin/app", "/usr/bin/other", ldso, libc, mdir + "/libz.so.1.2.13"},
		missing: []missLib{{"libnope.so", "/usr/bin/app"}},
	}, {
		name: "lib64 layout without multiarch directories",
		tree: tree{
			"/lib64":                          link("usr/lib64"),
			"/usr/lib64/ld-linux-x86-64.so.2": elfSpec{},
			"/usr/lib64/libc.so.6":            elfSpec{},
			"/usr/lib/libc.so.6":              elfSpec{},
			"/usr/bin/app":                    app("libc.so.6"),
		},
		req:   Request{Binaries: []string{"/usr/bin/app"}},
		files: []string{"/usr/bin/app", "/usr/lib64/ld-linux-x86-64.so.2", "/usr/lib64/libc.so.6"},
		links: []Link{{"/lib64", "usr/lib64"}},
	}, {
		name: "a 32-bit program gets 32-bit libraries and its own system directories",
		tree: with(debianBase(), tree{
			"/usr/bin/app32":                    elfSpec{class: elf.ELFCLASS32, machine: elf.EM_386, interp: "/lib/ld-linux.so.2", needed: []string{"libc.so.6"}},
			"/usr/lib/ld-linux.so.2":            elfSpec{class: elf.ELFCLASS32, machine: elf.EM_386},
			"/usr/lib/i386-linux-gnu/libc.so.6": elfSpec{class: elf.ELFCLASS32, machine: elf.EM_386},
		}),
		req:   Request{Binaries: []string{"/usr/bin/app32"}},
		files: []string{"/usr/bin/app32", "/usr/lib/i386-linux-gnu/libc.so.6", "/usr/lib/ld-linux.so.2"},
	}}
}
