package unpack

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/jailimg/jailimg/pkg/bundle"
)

// mountDevice locks the block device dev and mounts it on m.point unless it
// is mounted there already. It refuses a device mounted anywhere else and a
// target that is the mount point of something else.
func (m *mountState) mountDevice(dev string) error {
	real, err := filepath.EvalSymlinks(dev)
	if err != nil {
		return fmt.Errorf("device %s: %w", dev, err)
	}
	var st unix.Stat_t
	if err := unix.Stat(real, &st); err != nil {
		return fmt.Errorf("device %s: %w", dev, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK {
		return fmt.Errorf("device %s: %w: not a block device", dev, ErrMount)
	}
	// The lock on the device node serializes unpacks that would mount it.
	fd, err := unix.Open(real, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening %s: %w", dev, err)
	}
	m.devfd = fd
	if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
		return fmt.Errorf("locking %s: %w", dev, err)
	}
	mounts, err := readMountinfo()
	if err != nil {
		return err
	}
	maj, min := unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev))
	here, elsewhere := false, []string{}
	for _, e := range mounts {
		if e.Major == maj && e.Minor == min {
			if e.Point == m.point {
				here = true
			} else {
				elsewhere = append(elsewhere, e.Point)
			}
		}
	}
	if len(elsewhere) > 0 {
		return fmt.Errorf("device %s: %w: already mounted on %s", dev, ErrMount, strings.Join(elsewhere, ", "))
	}
	top := topMount(mounts, m.point)
	if here {
		if top.Major != maj || top.Minor != min {
			return fmt.Errorf("device %s: %w: mounted on %s but covered by %s", dev, ErrMount, m.point, top.Source)
		}
		m.o.logger.Debug("device already mounted on target", "device", dev, "target", m.point)
		return nil
	}
	if top != nil {
		return fmt.Errorf("device %s: %w: %s is already the mount point of %s (%s)", dev, ErrMount, m.point, top.Source, top.FSType)
	}
	typ, err := fsType(real)
	if err != nil {
		return err
	}
	if err := unix.Mount(real, m.point, typ, unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
		return fmt.Errorf("mounting %s (%s) on %s: %w", dev, typ, m.point, err)
	}
	m.o.logger.Info("mounted", "device", dev, "type", typ, "target", m.point)
	return nil
}

// remount changes the mount's flags: read-only or not, nosuid always, nodev
// when asked. It remounts the whole filesystem unless it is also mounted
// elsewhere, in which case only this mount's flags change.
func (m *mountState) remount(ro, nodev bool) error {
	flags := uintptr(unix.MS_REMOUNT | unix.MS_NOSUID)
	if m.shared {
		flags |= unix.MS_BIND
	}
	if ro {
		flags |= unix.MS_RDONLY
	}
	if nodev {
		flags |= unix.MS_NODEV
	}
	// Keep the options the administrator chose.
	for opt, f := range map[string]uintptr{"noexec": unix.MS_NOEXEC, "noatime": unix.MS_NOATIME,
		"nodiratime": unix.MS_NODIRATIME, "relatime": unix.MS_RELATIME, "strictatime": unix.MS_STRICTATIME} {
		if m.entry.has(opt) {
			flags |= f
		}
	}
	if err := unix.Mount("", m.point, "", flags, ""); err != nil {
		mode := "read-write"
		if ro {
			mode = "read-only"
		}
		return fmt.Errorf("remounting %s %s: %w", m.point, mode, err)
	}
	return nil
}

// seal leaves the mount read-only and nosuid, with nodev unless the live
// tree holds a device node other than the safe ones in its /dev (which
// jailimg run replaces with the host's), and returns the options now in
// force.
func (m *mountState) seal() (string, error) {
	nodev := true
	if live, err := bundle.Open(m.point); err == nil {
		nodev = !liveHasDevices(live, m.o)
	}
	if err := m.remount(true, nodev); err != nil {
		return "", err
	}
	opts := "ro,nosuid"
	if nodev {
		opts += ",nodev"
	}
	m.o.logger.Info("mount is read-only", "target", m.point, "options", opts)
	return opts, nil
}

func (m *mountState) sealErr() error {
	_, err := m.seal()
	return err
}

// liveHasDevices reports whether the rootfs of live holds a device node
// that jailimg run does not replace; a tree it cannot walk counts as
// holding one, so its devices keep working.
func liveHasDevices(live *bundle.Bundle, o *options) bool {
	root, err := live.OpenRoot()
	if err == nil {
		defer root.Close()
		var found bool
		if found, err = hasDevices(int(root.Fd()), root.Name()); err == nil {
			return found
		}
	}
	o.logger.Warn("scanning for device nodes", "root", live.RootFS(), "err", err)
	return true
}

// hasDevices reports whether the tree of the directory dfd (rel in
// messages) holds a device node that needs its partition without nodev:
// any but the safe character devices (SafeDevices) right under its /dev,
// over each of which jailimg run binds the host's node (pkg/run/mounts),
// so that they work on a nodev partition. It walks by descriptor, every
// directory opened beneath the one before without following a symlink or
// entering a mount point (openat2
// RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_XDEV): a mount in the
// tree, or a directory swapped for a symlink, is not the image's, and
// nothing outside the tree is read.
func hasDevices(dfd int, rel string) (bool, error) {
	return walkDevices(dfd, rel, treeRoot)
}

// treeLevel is where a directory of the walked tree is.
type treeLevel int

const (
	treeRoot  treeLevel = iota // the rootfs
	treeDev                    // its /dev
	treeOther                  // anywhere else
)

// walkDevices is hasDevices of the directory dfd at level.
func walkDevices(dfd int, rel string, level treeLevel) (bool, error) {
	d, err := unix.Dup(dfd) // os.File closes what it reads through
	if err != nil {
		return false, err
	}
	f := os.NewFile(uintptr(d), rel)
	defer f.Close()
	entries, err := f.ReadDir(-1)
	if err != nil {
		return false, fmt.Errorf("listing %s: %w", rel, err)
	}
	for _, e := range entries {
		switch {
		case e.Type()&fs.ModeDevice != 0:
			if level != treeDev || !safeNode(dfd, e.Name()) {
				return true, nil
			}
			continue
		case !e.IsDir():
			continue
		}
		sub := treeOther
		if level == treeRoot && e.Name() == "dev" {
			sub = treeDev
		}
		found, err := subtreeHasDevices(dfd, e.Name(), rel+"/"+e.Name(), sub)
		if found || err != nil {
			return found, err
		}
	}
	return false, nil
}

// safeNode reports whether dfd/name is, still, a character device of the
// SafeDevices table.
func safeNode(dfd int, name string) bool {
	var st unix.Stat_t
	if unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR {
		return false
	}
	d := Device{Major: unix.Major(st.Rdev), Minor: unix.Minor(st.Rdev)}
	for _, safe := range SafeDevices {
		if d == safe {
			return true
		}
	}
	return false
}

// subtreeHasDevices is walkDevices of the directory dfd/name, which is not
// entered when it is a mount point or no longer a directory.
func subtreeHasDevices(dfd int, name, rel string, level treeLevel) (bool, error) {
	how := &unix.OpenHow{Flags: unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV}
	fd, err := openat2(dfd, name, how)
	switch {
	case errors.Is(err, unix.EXDEV), errors.Is(err, unix.ELOOP), errors.Is(err, unix.ENOTDIR), errors.Is(err, unix.ENOENT):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("opening %s: %w", rel, err)
	}
	defer unix.Close(fd)
	return walkDevices(fd, rel, level)
}
