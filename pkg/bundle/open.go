package bundle

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Open resolves dir/current once, checks that the bundle can be trusted
// (see the package doc) and reads the live generation's Meta. Every part is
// opened beneath the one before it without following a symlink. The error
// names the offending path and wraps ErrNotBundle (no live generation) or
// ErrUnsafe (a bundle that must not be used).
func Open(dir string) (*Bundle, error) {
	dfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err == unix.ENOENT || err == unix.ENOTDIR {
		return nil, fmt.Errorf("%s: %w (not a directory)", dir, ErrNotBundle)
	}
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", dir, err)
	}
	defer unix.Close(dfd)
	target, err := readlinkat(dfd, Current)
	switch {
	case err == unix.ENOENT:
		return nil, fmt.Errorf("%s: %w (no %s link)", dir, ErrNotBundle, Current)
	case err == unix.EINVAL:
		return nil, fmt.Errorf("%s: %w: not a symlink", filepath.Join(dir, Current), ErrUnsafe)
	case err != nil:
		return nil, fmt.Errorf("reading %s: %w", filepath.Join(dir, Current), err)
	}
	if !strings.HasPrefix(target, GenPrefix) || strings.ContainsRune(target, '/') {
		return nil, fmt.Errorf("%s: %w: %s points to %q", dir, ErrNotBundle, Current, target)
	}
	if err := fstatTrusted(dfd, "", dir, true); err != nil {
		return nil, err
	}
	if err := fstatTrusted(dfd, Current, filepath.Join(dir, Current), false); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(filepath.Join(dir, target))
	if err != nil {
		return nil, err
	}
	b := &Bundle{Dir: dir, Gen: abs}
	gfd, err := openNoFollow(dfd, target, unix.O_RDONLY|unix.O_DIRECTORY, abs)
	if errors.Is(err, unix.ENOENT) {
		// A broken bundle, not a missing file of the host's: exit 3, and
		// never a plain directory to run without its policy.
		return nil, fmt.Errorf("%s: %w: %s points to %s, which is missing", dir, ErrUnsafe, Current, target)
	}
	if err != nil {
		return nil, err
	}
	defer unix.Close(gfd)
	if err := fstatTrusted(gfd, "", abs, true); err != nil {
		return nil, err
	}
	if b.root, err = checkRootFS(gfd, b.RootFS()); err != nil {
		return nil, err
	}
	if b.Meta, err = readMeta(gfd, filepath.Join(abs, MetaFile)); err != nil {
		return nil, err
	}
	return b, nil
}

// checkRootFS checks that gfd/rootfs is a directory, not a symlink, and
// returns its identity. Its mode and owner are the image's to choose.
func checkRootFS(gfd int, p string) (FileID, error) {
	fd, err := unix.Openat(gfd, RootFS, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return FileID{}, fmt.Errorf("%s: %w", p, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return FileID{}, fmt.Errorf("%s: %w", p, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return FileID{}, fmt.Errorf("%s: %w: %s, not a directory", p, ErrUnsafe, typeName(st.Mode))
	}
	return idOf(&st), nil
}

// readMeta reads and parses gfd/image.json (named p in errors): a trusted
// regular file of at most MaxMetaSize bytes. O_NONBLOCK keeps a FIFO from
// blocking the open; it is then refused as not a regular file.
func readMeta(gfd int, p string) (Meta, error) {
	var m Meta
	fd, err := openNoFollow(gfd, MetaFile, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY, p)
	if err != nil {
		return m, fmt.Errorf("reading %s: %w", MetaFile, err)
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return m, fmt.Errorf("%s: %w", p, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return m, fmt.Errorf("%s: %w: %s, not a regular file", p, ErrUnsafe, typeName(st.Mode))
	}
	if err := trusted(p, &st, true); err != nil {
		return m, err
	}
	if st.Size > MaxMetaSize {
		return m, fmt.Errorf("%s: %w: %d bytes, more than %d", p, ErrUnsafe, st.Size, MaxMetaSize)
	}
	raw, err := io.ReadAll(io.LimitReader(f, MaxMetaSize+1))
	if err != nil {
		return m, fmt.Errorf("%s: reading %s: %w", p, MetaFile, err)
	}
	if len(raw) > MaxMetaSize {
		return m, fmt.Errorf("%s: %w: more than %d bytes", p, ErrUnsafe, MaxMetaSize)
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return m, fmt.Errorf("%s: parsing %s: %w", p, MetaFile, err)
	}
	return m, nil
}

// openNoFollow opens dfd/name without following a final symlink; p names
// it in errors.
func openNoFollow(dfd int, name string, flags int, p string) (int, error) {
	for {
		fd, err := unix.Openat(dfd, name, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		switch {
		case err == nil:
			return fd, nil
		case err == unix.EINTR:
			continue
		case err == unix.ELOOP || err == unix.ENOTDIR:
			want := "a regular file"
			if flags&unix.O_DIRECTORY != 0 {
				want = "a directory"
			}
			var st unix.Stat_t
			if unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
				return -1, fmt.Errorf("%s: %w: %s, not %s", p, ErrUnsafe, typeName(st.Mode), want)
			}
			return -1, fmt.Errorf("%s: %w: not %s", p, ErrUnsafe, want)
		}
		return -1, fmt.Errorf("%s: %w", p, err)
	}
}

// readlinkat reads the symlink dfd/name.
func readlinkat(dfd int, name string) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(dfd, name, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// fstatTrusted applies the trust rule to dfd itself (name "") or to the
// entry dfd/name, not following a symlink; p names it in errors. checkMode
// is false for a symlink, whose mode means nothing.
func fstatTrusted(dfd int, name, p string, checkMode bool) error {
	var st unix.Stat_t
	var err error
	if name == "" {
		err = unix.Fstat(dfd, &st)
	} else {
		err = unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	return trusted(p, &st, checkMode)
}

// TrustedDir applies the trust rule of the package doc to the directory
// open as fd, named p in errors: it must be owned by root or the effective
// uid and not writable by group or others. The error wraps ErrUnsafe.
func TrustedDir(fd int, p string) error {
	return fstatTrusted(fd, "", p, true)
}

func trusted(p string, st *unix.Stat_t, checkMode bool) error {
	if euid := os.Geteuid(); st.Uid != 0 && int(st.Uid) != euid {
		return fmt.Errorf("%s: %w: owned by uid %d, not root or uid %d", p, ErrUnsafe, st.Uid, euid)
	}
	if checkMode && st.Mode&0o022 != 0 {
		return fmt.Errorf("%s: %w: writable by group or others (mode %#o)", p, ErrUnsafe, st.Mode&0o7777)
	}
	return nil
}

// typeName names the file type of a stat mode.
func typeName(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return "a directory"
	case unix.S_IFREG:
		return "a regular file"
	case unix.S_IFLNK:
		return "a symlink"
	case unix.S_IFIFO:
		return "a FIFO"
	case unix.S_IFSOCK:
		return "a socket"
	case unix.S_IFCHR:
		return "a character device"
	case unix.S_IFBLK:
		return "a block device"
	}
	return "a special file"
}
