package unpack

import (
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/jailimg/jailimg/pkg/bundle"
)

// runningIn returns the pids of the processes whose root directory is the
// rootfs of the generation gen of the target open as tfd: a service that
// jailimg run started there and that still serves from it, as it does
// while an upgrade unpacks its next generation. The root is compared by
// device and inode (/proc/PID/root), so a process that entered it through
// another path or a bind mount counts too. Processes this user may not
// inspect are not counted.
func runningIn(tfd int, gen string) []int {
	var root unix.Stat_t
	if err := unix.Fstatat(tfd, filepath.Join(gen, bundle.RootFS), &root, unix.AT_SYMLINK_NOFOLLOW); err != nil ||
		root.Mode&unix.S_IFMT != unix.S_IFDIR {
		return nil
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		var st unix.Stat_t
		if unix.Stat("/proc/"+p.Name()+"/root", &st) == nil && st.Dev == root.Dev && st.Ino == root.Ino {
			pids = append(pids, pid)
		}
	}
	return pids
}

// removeGen removes the generation name of the target abs (open as tfd),
// as removeTree does, unless a process runs in it (see runningIn): that
// one is left in place, and the first unpack after the process is gone
// removes it.
func removeGen(tfd int, abs, name, what, note string, o *options) {
	if pids := runningIn(tfd, name); len(pids) > 0 {
		o.logger.Info(what+" left in place: a service still runs in it; the first unpack after it stopped removes it",
			"dir", filepath.Join(abs, name), "pids", pids)
		return
	}
	removeTree(tfd, abs, name, what, note, o)
}

// removeLeftover removes a staging directory or a generation that is not
// live (unless a service runs in it) left by an earlier unpack.
func removeLeftover(tfd int, abs, name string, o *options) {
	if len(name) > len(bundle.GenPrefix) && name[:len(bundle.GenPrefix)] == bundle.GenPrefix {
		if pids := runningIn(tfd, name); len(pids) > 0 {
			o.logger.Info("leftover generation left in place: a service still runs in it", "dir", filepath.Join(abs, name), "pids", pids)
			return
		}
	}
	o.logger.Info("removing leftover", "path", filepath.Join(abs, name))
	removeTree(tfd, abs, name, "leftover", "", o)
}
