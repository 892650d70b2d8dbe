package mounts

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/jailimg/jailimg/pkg/bundle"
)

// inRoot resolves a path inside the jail's root, as the jail would, but
// through no symlink at all.
const inRoot = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS

// Mount attributes of what the service may write, and of what it may not.
const (
	writableAttrs = unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC
	readOnlyAttrs = unix.MOUNT_ATTR_RDONLY | writableAttrs
)

// Setup builds the jail's mounts in the calling process's mount namespace,
// which must be a private one of its own (see the package doc), and
// returns a descriptor of the jail's new root: the caller chroots through
// it (fchdir, chroot "."). It runs as root, before anything of the jail
// runs, and leaves the process's umask as it found it.
func Setup(p Plan) (int, error) {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return -1, fmt.Errorf("making the mount namespace private: %w", err)
	}
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	root, orig, err := bindRoot(p.Root, p.RootID)
	if err != nil {
		return -1, err
	}
	defer unix.Close(orig)
	if err := p.mountAll(root, orig); err != nil {
		unix.Close(root)
		return -1, err
	}
	return root, nil
}

// mountAll mounts the devices, the directories, the host files and the
// syslog socket in the jail whose new root is root (orig: the rootfs
// before the bind).
func (p Plan) mountAll(root, orig int) error {
	dirs, err := inspect(root, p.Dirs)
	if err != nil {
		return err
	}
	if err := devices(root, orig); err != nil {
		return err
	}
	for _, d := range dirs {
		if err := p.mountDir(root, d); err != nil {
			return fmt.Errorf("%s %s: %w", d.Key, d.Path, err)
		}
	}
	for _, h := range p.Hostfiles {
		if err := p.hostfile(root, h); err != nil {
			return fmt.Errorf("run.hostfiles %s: %w", h, err)
		}
	}
	if p.Syslog != "" {
		if err := bindSocket(p.Syslog, root); err != nil {
			return fmt.Errorf("run.syslog /dev/log: %w", err)
		}
	}
	return nil
}

// bindRoot opens the rootfs at path (checking that it is want, when
// given), binds it over itself recursively, nosuid and nodev throughout
// and read-only at the top, and returns descriptors of the new root and of
// the rootfs below it.
func bindRoot(path string, want *bundle.FileID) (root, orig int, err error) {
	orig, err = unix.Open(path, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, -1, fmt.Errorf("opening jail %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			unix.Close(orig)
		}
	}()
	id, err := identity(orig)
	if err != nil {
		return -1, -1, fmt.Errorf("jail %s: %w", path, err)
	}
	if want != nil && id != *want {
		return -1, -1, fmt.Errorf("jail %s: replaced since the bundle was checked", path)
	}
	root, err = unix.OpenTree(orig, "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE|unix.AT_EMPTY_PATH)
	if err != nil {
		return -1, -1, fmt.Errorf("binding jail %s: open_tree: %w", path, err)
	}
	if err = bindRootAttrs(root, orig); err == nil {
		// A bind of the same directory: the root is what was checked.
		var got bundle.FileID
		if got, err = identity(root); err == nil && got != id {
			err = errors.New("the bound root is another directory")
		}
	}
	if err != nil {
		unix.Close(root)
		return -1, -1, fmt.Errorf("binding jail %s: %w", path, err)
	}
	return root, orig, nil
}

// bindRootAttrs makes the detached tree root nosuid and nodev throughout
// and read-only at the top, then attaches it over orig.
func bindRootAttrs(root, orig int) error {
	if err := setattr(root, unix.AT_RECURSIVE, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV); err != nil {
		return err
	}
	if err := setattr(root, 0, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV); err != nil {
		return err
	}
	return attach(root, orig)
}

// identity is the device and inode of the file fd refers to.
func identity(fd int) (bundle.FileID, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return bundle.FileID{}, err
	}
	return bundle.FileID{Dev: st.Dev, Ino: st.Ino}, nil
}

// setattr sets mount attributes on the mount fd refers to (and those below
// it with unix.AT_RECURSIVE).
func setattr(fd int, flags uint, attrs uint64) error {
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH|flags, &unix.MountAttr{Attr_set: attrs}); err != nil {
		return fmt.Errorf("mount_setattr: %w", err)
	}
	return nil
}

// attach mounts the detached mount mnt on the file target refers to.
func attach(mnt, target int) error {
	if err := unix.MoveMount(mnt, "", target, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return fmt.Errorf("move_mount: %w", err)
	}
	return nil
}

// openIn opens the jail path p below root, as the jail would see it but
// through no symlink.
func openIn(root int, p string, flags int) (int, error) {
	rel := strings.TrimPrefix(path.Clean(p), "/")
	if rel == "" {
		rel = "."
	}
	return unix.Openat2(root, rel, &unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Resolve: inRoot})
}

// dirInfo is a declared directory with the owner and mode it has in the image.
type dirInfo struct {
	Dir
	uid, gid uint32
	mode     uint32 // permission bits, with setgid and sticky
}

// inspect reads the owner and mode of each directory in the image, before
// anything hides it, and returns them parents first.
func inspect(root int, dirs []Dir) ([]dirInfo, error) {
	out := make([]dirInfo, 0, len(dirs))
	for _, d := range dirs {
		if !path.IsAbs(d.Path) || path.Clean(d.Path) == "/" {
			return nil, fmt.Errorf("%s %q: want an absolute jail path other than /", d.Key, d.Path)
		}
		fd, err := openIn(root, d.Path, unix.O_PATH|unix.O_DIRECTORY)
		if err != nil {
			return nil, fmt.Errorf("%s %s: not a directory of the jail (or reached through a symlink): %w", d.Key, d.Path, err)
		}
		var st unix.Stat_t
		err = unix.Fstat(fd, &st)
		unix.Close(fd)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", d.Key, d.Path, err)
		}
		out = append(out, dirInfo{Dir: Dir{Path: path.Clean(d.Path), Kind: d.Kind, Key: d.Key}, uid: st.Uid, gid: st.Gid, mode: st.Mode & 0o7777})
	}
	slices.SortStableFunc(out, func(a, b dirInfo) int { return strings.Count(a.Path, "/") - strings.Count(b.Path, "/") })
	return out, nil
}

// mountDir mounts what d asks for on it.
func (p Plan) mountDir(root int, d dirInfo) error {
	target, err := dirTarget(root, d)
	if err != nil {
		return err
	}
	defer unix.Close(target)
	var mnt int
	switch d.Kind {
	case Runtime:
		mnt, err = tmpfs(p.TmpfsSize, d.mode, d.uid, d.gid)
	case Tmp:
		mnt, err = tmpfs(p.TmpfsSize, 0o1777, 0, 0)
	case Persistent:
		mnt, err = p.persistent(d)
	default:
		err = fmt.Errorf("unknown kind %d", d.Kind)
	}
	if err != nil {
		return err
	}
	defer unix.Close(mnt)
	return attach(mnt, target)
}

// dirTarget opens the directory d mounts on. One hidden by the mount of a
// declared parent (a fresh tmpfs, a state directory) is created there,
// with its owner and mode in the image.
func dirTarget(root int, d dirInfo) (int, error) {
	fd, err := openIn(root, d.Path, unix.O_PATH|unix.O_DIRECTORY)
	if !errors.Is(err, unix.ENOENT) {
		return fd, err
	}
	parent, err := openIn(root, path.Dir(d.Path), unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return -1, err
	}
	defer unix.Close(parent)
	if err := unix.Mkdirat(parent, path.Base(d.Path), d.mode); err != nil && !errors.Is(err, unix.EEXIST) {
		return -1, fmt.Errorf("creating it in the mount of its parent: %w", err)
	}
	fd, err = openIn(root, d.Path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW)
	if err != nil {
		return -1, err
	}
	if err := own(fd, d); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// own gives the directory fd refers to d's owner and mode.
func own(fd int, d dirInfo) error {
	if err := unix.Fchown(fd, int(d.uid), int(d.gid)); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	if err := unix.Fchmod(fd, d.mode); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	return nil
}

// tmpfsInodeBytes is how many bytes of a tmpfs's size allow one inode.
// tmpfs's own default is one inode per page of half the host's memory,
// whatever the size: each inode and dentry is kernel memory (about 1 KiB,
// outside the size cap), and so are extended attributes, which tmpfs
// accounts in the inodes' space. One per 4 KiB keeps that metadata under
// about a quarter of the size, while a tree of one-page files still fits.
const tmpfsInodeBytes = 4 << 10

// tmpfs makes a detached tmpfs of size bytes whose root has mode and owner,
// with one inode per tmpfsInodeBytes of it.
func tmpfs(size uint64, mode, uid, gid uint32) (int, error) {
	if size == 0 {
		return -1, errors.New("tmpfs: no size cap") // 0 would mean unlimited to tmpfs
	}
	inodes := max(size/tmpfsInodeBytes, 1)
	fs, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("fsopen tmpfs: %w", err)
	}
	defer unix.Close(fs)
	for _, kv := range [][2]string{
		{"size", strconv.FormatUint(size, 10)}, {"nr_inodes", strconv.FormatUint(inodes, 10)},
		{"mode", strconv.FormatUint(uint64(mode), 8)},
		{"uid", strconv.FormatUint(uint64(uid), 10)}, {"gid", strconv.FormatUint(uint64(gid), 10)},
	} {
		if err := unix.FsconfigSetString(fs, kv[0], kv[1]); err != nil {
			return -1, fmt.Errorf("tmpfs %s=%s: %w", kv[0], kv[1], err)
		}
	}
	if err := unix.FsconfigCreate(fs); err != nil {
		return -1, fmt.Errorf("tmpfs: %w", err)
	}
	mnt, err := unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, writableAttrs)
	if err != nil {
		return -1, fmt.Errorf("fsmount tmpfs: %w", err)
	}
	return mnt, nil
}

// hostfile binds the host file name read-only over the jail's file of the
// same path; a host without the file gets a warning, and the jail keeps
// its placeholder.
func (p Plan) hostfile(root int, name string) error {
	// The host's own configuration: its symlinks (localtime's) are followed.
	src, err := unix.Open(name, unix.O_PATH|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		if p.Warn != nil {
			p.Warn("run.hostfiles %s: the host has no such file; the jail keeps its empty placeholder", name)
		}
		return nil
	}
	if err != nil {
		return err
	}
	defer unix.Close(src)
	return bindFile(src, root, name, unix.S_IFREG)
}

// bindSocket binds the socket at the host path sock over the jail's
// /dev/log. It is opened here, in this namespace: open_tree clones only
// mounts of the caller's own namespace.
func bindSocket(sock string, root int) error {
	src, err := unix.Open(sock, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(src)
	return bindFile(src, root, "/dev/log", unix.S_IFSOCK)
}

// bindFile binds the file src refers to, which must be of type typ,
// read-only over the regular file at the jail path target.
func bindFile(src, root int, target string, typ uint32) error {
	var st unix.Stat_t
	if err := unix.Fstat(src, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != typ {
		return fmt.Errorf("source is not a %s", typeName(typ))
	}
	dst, err := openIn(root, target, unix.O_PATH|unix.O_NOFOLLOW)
	if err != nil {
		return fmt.Errorf("no placeholder in the jail (the build writes one): %w", err)
	}
	defer unix.Close(dst)
	if err := unix.Fstat(dst, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return errors.New("the jail's placeholder is not a regular file")
	}
	mnt, err := unix.OpenTree(src, "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH)
	if err != nil {
		return fmt.Errorf("open_tree: %w", err)
	}
	defer unix.Close(mnt)
	if err := setattr(mnt, 0, readOnlyAttrs); err != nil {
		return err
	}
	return attach(mnt, dst)
}

func typeName(typ uint32) string {
	switch typ {
	case unix.S_IFREG:
		return "regular file"
	case unix.S_IFSOCK:
		return "socket"
	}
	return "file of the expected type"
}
