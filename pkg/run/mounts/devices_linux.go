package mounts

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// safeDevices are the character devices, by number, that keep working in
// a jail whose root is nodev, and the host's node of each: null, zero,
// full, random, urandom and tty, as the recipe's safe table and unpack's
// default allow-list name them.
var safeDevices = map[uint64]string{
	unix.Mkdev(1, 3): "/dev/null", unix.Mkdev(1, 5): "/dev/zero", unix.Mkdev(1, 7): "/dev/full",
	unix.Mkdev(1, 8): "/dev/random", unix.Mkdev(1, 9): "/dev/urandom", unix.Mkdev(5, 0): "/dev/tty",
}

// devices binds, over each safe character device node of the jail's /dev
// (read in orig, the rootfs below the nodev bind), the host's node of the
// same device, read-only (writing a device does not write the file
// system), nosuid and noexec but not nodev: the jail's node is only the
// mount point, so the device works whether or not the partition is nodev.
// Any other device node of the jail is dead.
func devices(root, orig int) error {
	fd, err := openIn(orig, "/dev", unix.O_RDONLY|unix.O_DIRECTORY)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("jail /dev: %w", err)
	}
	dev := os.NewFile(uintptr(fd), "/dev")
	defer dev.Close()
	names, err := dev.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("jail /dev: %w", err)
	}
	for _, name := range names {
		if err := device(root, fd, name); err != nil {
			return fmt.Errorf("jail /dev/%s: %w", name, err)
		}
	}
	return nil
}

// device binds the host's node over the jail's /dev/name when that is a
// safe character device.
func device(root, dev int, name string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(dev, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	host, ok := safeDevices[st.Rdev]
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || !ok {
		return nil
	}
	src, err := unix.Open(host, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("host %s: %w", host, err)
	}
	defer unix.Close(src)
	var hst unix.Stat_t
	if err := unix.Fstat(src, &hst); err != nil {
		return err
	}
	if hst.Mode&unix.S_IFMT != unix.S_IFCHR || hst.Rdev != st.Rdev {
		return fmt.Errorf("host %s is not the device %d:%d", host, unix.Major(st.Rdev), unix.Minor(st.Rdev))
	}
	dst, err := openIn(root, "/dev/"+name, unix.O_PATH|unix.O_NOFOLLOW)
	if err != nil {
		return err
	}
	defer unix.Close(dst)
	mnt, err := unix.OpenTree(src, "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH)
	if err != nil {
		return fmt.Errorf("open_tree: %w", err)
	}
	defer unix.Close(mnt)
	if err := setattr(mnt, 0, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NOEXEC); err != nil {
		return err
	}
	return attach(mnt, dst)
}
