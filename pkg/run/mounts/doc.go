// Package mounts builds a jail's file system view in a private mount
// namespace, as runc's rootfs_linux.go and bubblewrap do: the caller (the
// jail's init, started by package run in a new mount namespace) calls
// Setup, which leaves the current namespace with
//
//   - the jail's rootfs bound over itself, read-only, nosuid and nodev
//     (recursively nosuid and nodev, so a mount the admin made inside the
//     rootfs keeps its own writability but grants neither), whether or not
//     the partition is read-only; the directory bound is the one the
//     caller checked (device and inode compared), and so is the new root;
//   - over each safe character device found in the jail's /dev (null,
//     zero, full, random, urandom, tty, by device number), the host's node
//     of that device, without nodev: they work whether or not the
//     partition is nodev, while every other device node of the jail is
//     dead;
//   - on each runtime directory a fresh tmpfs, size-capped and with one
//     inode per 4 KiB of its size (so that files, names and extended
//     attributes, kernel memory outside the size, are capped too), with the
//     owner and mode the directory has in the image; on /tmp with Tmp a
//     private tmpfs, mode 1777, capped alike;
//   - on each persistent (state, cache, logs) directory a bind of
//     STATE/<path in the jail>, created on first start (STATE root 0700,
//     intermediate directories root 0755, the leaf with the image directory's owner
//     and mode) and given that owner and mode again at each start;
//   - host files (resolv.conf, hosts, localtime) bound read-only over the
//     placeholders the build writes, and the syslog relay's socket (opened
//     by its path, in a directory only root can enter) bound over /dev/log;
//
// every mount nosuid, nodev and noexec but the devices (nosuid, noexec).
//
// How: mount(2) is called once, to make every mount of the namespace
// private, so that nothing propagates to the host (its mountinfo never
// shows the jail's mounts, and they disappear with the namespace's last
// process). Everything else uses the new mount API (open_tree, fsopen,
// fsmount, mount_setattr, move_mount) on descriptors: every target is
// resolved inside the new root with openat2(RESOLVE_IN_ROOT |
// RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS), never by a host path
// string, so that no symlink in the image, and none a service planted in
// its writable directories during an earlier run, can turn a mount
// elsewhere; every step below STATE goes by descriptor with
// RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, so that the jail, which owns its
// leaves and may plant symlinks in them, can never make jailimg create,
// chown or bind anything outside. The owner and mode of every declared
// directory are read from the image before anything is mounted, so that a
// directory nested in another declared one (a/ and a/b) is created, with
// its own owner and mode, in the mount of its parent, which is always
// mounted first.
//
// What it does not do: it mounts no /proc, /sys or /dev file system, makes
// no cgroup, and leaves the admin's own mounts inside the rootfs as they
// are (but nosuid and nodev). STATE must be owned by root, mode 0700:
// Setup refuses it otherwise. No one else may write it (and swap a jail's
// directory for another) nor enter it: the jail's ids are the image's, and
// a host user who could reach a setuid or setgid file the service left in
// its state would become them on the host.
package mounts
