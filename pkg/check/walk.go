package check

import (
	"encoding/binary"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/jailimg/jailimg/internal/lazyre"
	"github.com/jailimg/jailimg/pkg/passwd"
)

// safeDevices are the character devices a jail may hold, by major:minor.
var safeDevices = map[[2]uint32]string{
	{1, 3}: "null", {1, 5}: "zero", {1, 7}: "full", {1, 8}: "random", {1, 9}: "urandom", {5, 0}: "tty",
}

// interpreters matches the base names of shells, interpreters and compilers.
var interpreters = lazyre.New(`^(` +
	`sh|bash|dash|zsh|ksh|ksh93|mksh|pdksh|csh|tcsh|fish|ash|rbash|busybox|toybox|` +
	`perl[0-9.]*|python[0-9.]*|pypy[0-9.]*|ruby[0-9.]*|irb[0-9.]*|php[0-9.]*|lua[0-9.]*|luajit|` +
	`node|nodejs|tclsh[0-9.]*|wish[0-9.]*|expect|awk|gawk|mawk|nawk|` +
	`cc|c\+\+|c89|c99|cpp|gcc(-[0-9.]+)?|g\+\+(-[0-9.]+)?|clang(\+\+)?(-[0-9.]+)?|tcc|` +
	`x86_64-linux-gnu-gcc(-[0-9.]+)?|aarch64-linux-gnu-gcc(-[0-9.]+)?|as|ld|ld\.bfd|ld\.gold|gdb` +
	`)$`)

type link struct {
	path   string
	nlink  uint64
	inside uint64
}

type audit struct {
	root     string
	dev      uint64
	writable []string
	user     *passwd.User
	links    map[uint64]*link
	out      []Finding
}

func (a *audit) add(k Kind, p, format string, args ...any) {
	a.out = append(a.out, Finding{Kind: k, Path: p, Detail: fmt.Sprintf(format, args...)})
}

// entry checks one walked entry, by lstat: nothing is followed.
func (a *audit) entry(p string, d fs.DirEntry) error {
	info, err := d.Info()
	if err != nil {
		return err
	}
	rel, err := filepath.Rel(a.root, p)
	if err != nil {
		return err
	}
	jp := path.Join("/", filepath.ToSlash(rel))
	mode, st := info.Mode(), info.Sys().(*syscall.Stat_t)
	if mode.IsDir() && st.Dev != a.dev {
		a.add(KindMount, jp, "another filesystem is mounted here (device %d:%d); not audited", unix.Major(st.Dev), unix.Minor(st.Dev))
		return fs.SkipDir
	}
	a.interpreter(p, jp, mode)
	switch {
	case mode.Type() == fs.ModeSymlink:
	case mode.Type()&(fs.ModeDevice|fs.ModeCharDevice) != 0:
		// Writable devices (null, tty) are normal; the rest is a device finding.
		a.device(jp, mode, st)
	default:
		if mode.IsRegular() {
			a.regular(p, jp, mode, st)
		}
		a.writability(jp, mode, st)
	}
	return nil
}

// interpreter reports a shell, interpreter or compiler: an executable file,
// or a symlink, by such a name.
func (a *audit) interpreter(p, jp string, mode fs.FileMode) {
	symlink := mode.Type() == fs.ModeSymlink
	if !(mode.IsRegular() && mode&0o111 != 0 || symlink) || !interpreters().MatchString(path.Base(jp)) {
		return
	}
	what := "executable"
	if symlink {
		target, _ := os.Readlink(p)
		what = "symlink to " + target
	}
	a.add(KindInterpreter, jp, "shell, interpreter or compiler (%s)", what)
}

// regular reports a regular file's setuid and setgid bits and file
// capabilities, and counts its hard links inside the tree.
func (a *audit) regular(p, jp string, mode fs.FileMode, st *syscall.Stat_t) {
	if mode&fs.ModeSetuid != 0 {
		a.add(KindSetuid, jp, "setuid, owner uid %d, mode %04o", st.Uid, st.Mode&0o7777)
	}
	if mode&fs.ModeSetgid != 0 {
		a.add(KindSetgid, jp, "setgid, group gid %d, mode %04o", st.Gid, st.Mode&0o7777)
	}
	a.capability(p, jp)
	if st.Nlink > 1 {
		l := a.links[st.Ino]
		if l == nil {
			l = &link{path: jp, nlink: uint64(st.Nlink)}
			a.links[st.Ino] = l
		}
		l.inside++
	}
}

// device reports a block device, or a character device outside the safe
// table.
func (a *audit) device(jp string, mode fs.FileMode, st *syscall.Stat_t) {
	maj, mnr := unix.Major(st.Rdev), unix.Minor(st.Rdev)
	if mode.Type()&fs.ModeCharDevice == 0 {
		a.add(KindDevice, jp, "block device %d:%d", maj, mnr)
	} else if _, ok := safeDevices[[2]uint32{maj, mnr}]; !ok {
		a.add(KindDevice, jp, "character device %d:%d is not in the safe table (null, zero, full, random, urandom, tty)", maj, mnr)
	}
}

// writability reports an entry anyone may write (a sticky directory is
// fine), or else one the service user may write outside the writable
// directories.
func (a *audit) writability(jp string, mode fs.FileMode, st *syscall.Stat_t) {
	if st.Mode&0o002 != 0 && !(mode.IsDir() && mode&fs.ModeSticky != 0) {
		a.add(KindWorldWritable, jp, "world-writable, mode %04o", st.Mode&0o7777)
		return
	}
	if a.user != nil && a.userMayWrite(st) && !a.declared(jp) {
		a.add(KindUserWritable, jp, "writable by the service user %s (uid %d) outside the writable directories %v",
			a.user.Name, a.user.UID, a.writable)
	}
}

// capability reports a security.capability extended attribute.
func (a *audit) capability(p, jp string) {
	buf := make([]byte, 64)
	n, err := unix.Lgetxattr(p, "security.capability", buf)
	if err != nil || n < 8 {
		return
	}
	perm := uint64(binary.LittleEndian.Uint32(buf[4:8]))
	if n >= 20 {
		perm |= uint64(binary.LittleEndian.Uint32(buf[12:16])) << 32
	}
	a.add(KindCapability, jp, "file capabilities, permitted mask %#x", perm)
}

// userMayWrite judges from mode bits, owner and groups.
func (a *audit) userMayWrite(st *syscall.Stat_t) bool {
	u := a.user
	switch {
	case st.Uid == u.UID:
		return st.Mode&0o200 != 0
	case st.Gid == u.GID || slices.Contains(u.Groups, st.Gid):
		return st.Mode&0o020 != 0
	default:
		return st.Mode&0o002 != 0
	}
}

func (a *audit) declared(jp string) bool {
	for _, w := range a.writable {
		if jp == w || w == "/" || len(jp) > len(w) && jp[:len(w)] == w && jp[len(w)] == '/' {
			return true
		}
	}
	return false
}

// hardlinks reports files with links outside the tree.
func (a *audit) hardlinks() {
	for _, l := range a.links {
		if l.nlink > l.inside {
			a.add(KindHardlink, l.path, "%d hard links, %d inside the jail: the file is shared with a path outside it", l.nlink, l.inside)
		}
	}
}
