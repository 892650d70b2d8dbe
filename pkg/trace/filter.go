package trace

import (
	"path"
	"strings"
)

// pseudo reports whether p is in a kernel file system the jail does not
// carry: /proc, /sys and /dev (device nodes are reported apart).
func pseudo(p string) bool {
	for _, d := range []string{"/proc", "/sys", "/dev"} {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

// loaderState reports whether p is state of the host's dynamic loader,
// which the ELF closure replaces: the jail is built without it.
func loaderState(p string) bool {
	switch p {
	case "/etc/ld.so.cache", "/etc/ld.so.preload", "/etc/ld.so.conf":
		return true
	}
	return strings.HasPrefix(p, "/etc/ld.so.conf.d/") || strings.Contains(p, "/glibc-hwcaps/")
}

// generatedBy names the recipe keys from which the build writes p, or ""
// when the build does not write it: such files are never copied from the
// host (jailimg writes them from the recipe alone).
func generatedBy(p string) string {
	switch p {
	case "/etc/passwd", "/etc/shadow":
		return "users:"
	case "/etc/group", "/etc/gshadow":
		return "groups:"
	case "/etc/nsswitch.conf":
		return "nss:"
	case "/etc/localtime", "/etc/timezone":
		return "timezone:"
	}
	return ""
}

// safeDevices are the device nodes a recipe names by their short name.
var safeDevices = map[string]bool{"null": true, "zero": true, "full": true, "random": true, "urandom": true, "tty": true}

// sharedObjectName reports whether a file name looks like a shared object
// (libfoo.so, libfoo.so.1.2): a miss of such a name is the loader or dlopen
// probing its search path.
func sharedObjectName(p string) bool {
	b := path.Base(p)
	return strings.HasSuffix(b, ".so") || strings.Contains(b, ".so.")
}

// systemDirs are where a distribution's packages install: what a command
// reads below them it finds at the same path in a jail built from the same
// packages. /usr/local is the host administrator's, not the distribution's.
var systemDirs = []string{"/bin", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/sbin", "/usr", "/var/lib"}

// hostSpecific reports whether p lies outside the system directories: a
// configuration named on the command line, a file under /home, /root, /srv,
// /opt, /tmp or /usr/local. Where such a file belongs in a jail is the
// user's choice, so it is never copied to its host path silently.
func hostSpecific(p string) bool {
	if p == "/usr/local" || strings.HasPrefix(p, "/usr/local/") {
		return true
	}
	for _, d := range systemDirs {
		if p == d || strings.HasPrefix(p, d+"/") {
			return false
		}
	}
	return p != "/"
}
