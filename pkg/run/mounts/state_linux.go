package mounts

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// beneath resolves a name below a directory of STATE, through no symlink.
const beneath = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS

// persistent returns a detached bind of STATE/<d.Path>, creating it on
// first use; the bind is nosuid, nodev and noexec.
func (p Plan) persistent(d dirInfo) (int, error) {
	leaf, err := p.stateLeaf(d)
	if err != nil {
		return -1, err
	}
	defer unix.Close(leaf)
	mnt, err := unix.OpenTree(leaf, "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH)
	if err != nil {
		return -1, fmt.Errorf("open_tree %s%s: %w", p.State, d.Path, err)
	}
	if err := setattr(mnt, 0, writableAttrs); err != nil {
		unix.Close(mnt)
		return -1, err
	}
	return mnt, nil
}

// stateLeaf opens STATE/<d.Path>, creating what is missing: STATE
// root-owned, mode 0700, and the directories above the leaf root-owned,
// mode 0755; the leaf with d's
// owner and mode, which it is given again every time. Below STATE every
// step is one name, opened by descriptor without following a symlink: the
// jail owns its leaves and may have planted symlinks in them.
func (p Plan) stateLeaf(d dirInfo) (int, error) {
	dir, err := openState(p.State)
	if err != nil {
		return -1, err
	}
	names := strings.Split(strings.TrimPrefix(d.Path, "/"), "/")
	for i, name := range names {
		mode := uint32(0o755)
		if i == len(names)-1 {
			mode = d.mode
		}
		next, err := stepDown(dir, name, mode)
		unix.Close(dir)
		if err != nil {
			return -1, fmt.Errorf("state %s: %s: %w", p.State, strings.Join(names[:i+1], "/"), err)
		}
		dir = next
	}
	if err := own(dir, d); err != nil {
		unix.Close(dir)
		return -1, fmt.Errorf("state %s%s: %w", p.State, d.Path, err)
	}
	return dir, nil
}

// stepDown opens the directory name below dir, creating it with mode when
// missing (owned by the caller, root).
func stepDown(dir int, name string, mode uint32) (int, error) {
	how := &unix.OpenHow{Flags: unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC, Resolve: beneath}
	fd, err := unix.Openat2(dir, name, how)
	if !errors.Is(err, unix.ENOENT) {
		return fd, err
	}
	if err := unix.Mkdirat(dir, name, mode); err != nil && !errors.Is(err, unix.EEXIST) {
		return -1, err
	}
	return unix.Openat2(dir, name, how)
}

// openState creates STATE root 0700 (its missing parents root 0755) and
// opens it. It must be owned by root, and no one else may write it or
// enter it: whoever could write it could swap a jail's persistent
// directory for another; whoever could enter it could run a setuid or
// setgid file the service left in its state, and become the jail's user
// or group on the host (the image chooses them: uid 1000 is the host's
// first user, a group may be disk or shadow). systemd keeps the state of
// a DynamicUser= service below /var/lib/private, mode 0700, for the same
// reason.
func openState(state string) (int, error) {
	if state == "" || !strings.HasPrefix(state, "/") {
		return -1, fmt.Errorf("state directory %q: want an absolute host path (--state)", state)
	}
	if err := os.MkdirAll(filepath.Dir(state), 0o755); err != nil {
		return -1, fmt.Errorf("state directory: %w", err)
	}
	if err := unix.Mkdir(state, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
		return -1, fmt.Errorf("state directory %s: %w", state, err)
	}
	fd, err := unix.Open(state, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("state directory %s: %w", state, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("state directory %s: %w", state, err)
	}
	if st.Uid != 0 || st.Mode&0o077 != 0 {
		unix.Close(fd)
		return -1, fmt.Errorf("state directory %s: owned by uid %d, mode %04o: want root's, mode 0700 (a host user who could enter it could run a setuid file the jail left there)", state, st.Uid, st.Mode&0o7777)
	}
	return fd, nil
}
