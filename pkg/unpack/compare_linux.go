package unpack

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sort"
	"time"

	"golang.org/x/sys/unix"
)

// walkResolve keeps every open of the walk on the one element it names:
// the kernel refuses a symlink or magic link, and anything but a lookup
// beneath the directory it starts from.
const walkResolve = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS

// fileKey identifies a file on the system, for hardlinks.
type fileKey struct{ dev, ino uint64 }

// comparer compares a live tree with the model. The tree may be changing
// under it, written by a hostile service: it is walked from the rootfs
// descriptor, one element at a time with openat2(walkResolve), never by
// path; every open has O_NOFOLLOW and O_NONBLOCK, and a file is only read
// once fstat of the open descriptor says it is a regular file. A FIFO,
// device or symlink where the image has a file is a "type" drift, never
// read or followed.
type comparer struct {
	ctx    context.Context
	m      *model
	owners bool
	drifts []Drift
	seen   map[string]bool // paths compared
	walked map[string]bool // directories whose entries were compared
	inos   map[*inode]fileKey
	byIno  map[fileKey]*inode
	buf    []byte
}

// compare walks the tree open as root against the model and returns the
// drifts sorted by path.
func compare(ctx context.Context, m *model, root int, owners bool) ([]Drift, error) {
	c := &comparer{ctx: ctx, m: m, owners: owners, seen: map[string]bool{}, walked: map[string]bool{},
		inos: map[*inode]fileKey{}, byIno: map[fileKey]*inode{}, buf: make([]byte, 1<<20)}
	var st unix.Stat_t
	if err := unix.Fstat(root, &st); err != nil {
		return nil, err
	}
	c.seen[""] = true
	c.meta("/", m.nodes[""], &st)
	err := c.walk(root, "")
	c.missing()
	sort.SliceStable(c.drifts, func(i, j int) bool { return c.drifts[i].Path < c.drifts[j].Path })
	return c.drifts, err
}

func (c *comparer) add(p, what, want, got string) {
	c.drifts = append(c.drifts, Drift{p, what, want, got})
}

// walk compares the entries of the directory open as fd, rel in the tree.
func (c *comparer) walk(fd int, rel string) error {
	c.walked[rel] = true
	names, err := readNames(fd, c.buf)
	if err != nil {
		return fmt.Errorf("listing %q: %w", "/"+rel, err)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := c.ctx.Err(); err != nil {
			return err
		}
		if err := c.entry(fd, n, join(rel, n)); err != nil {
			return err
		}
	}
	return nil
}

// entry compares name, an entry of the directory pfd, at rel in the tree.
func (c *comparer) entry(pfd int, name, rel string) error {
	show := "/" + rel
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err == unix.ENOENT {
		return nil // gone since listed: missing, if the image has it
	} else if err != nil {
		return fmt.Errorf("stat %q: %w", show, err)
	}
	n := c.m.nodes[rel]
	if n == nil {
		c.add(show, "extra", "nothing", typeName(typeOf(st.Mode)))
		return nil
	}
	c.seen[rel] = true
	if got := typeOf(st.Mode); got != n.typ {
		c.add(show, "type", typeName(n.typ), typeName(got))
		return nil
	}
	switch n.typ {
	case 'd':
		return c.dir(pfd, name, rel, n)
	case 'f':
		c.file(pfd, name, rel, n)
	case 'l':
		c.meta(show, n, &st)
		if got, err := readlinkat(pfd, name); err != nil || got != n.link {
			c.add(show, "link", n.link, got)
		}
	case 'c', 'b':
		c.meta(show, n, &st)
		if unix.Major(st.Rdev) != n.major || unix.Minor(st.Rdev) != n.minor {
			c.add(show, "device", fmt.Sprintf("%d:%d", n.major, n.minor), fmt.Sprintf("%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev)))
		}
	}
	return nil
}

// openEntry opens the entry name of pfd (see comparer) and fstats it.
// When it is no longer of the type the model wants, or cannot be opened,
// it reports the drift and returns -1.
func (c *comparer) openEntry(pfd int, name, rel string, n *inode, flags int) (int, *unix.Stat_t) {
	how := &unix.OpenHow{Flags: uint64(flags | unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_NOCTTY | unix.O_CLOEXEC),
		Resolve: walkResolve}
	fd, err := openat2(pfd, name, how)
	if err != nil {
		c.unopened(pfd, name, rel, n, err)
		return -1, nil
	}
	st := &unix.Stat_t{}
	if err := unix.Fstat(fd, st); err != nil {
		unix.Close(fd)
		c.add("/"+rel, "unreadable", typeName(n.typ), err.Error())
		return -1, nil
	}
	if got := typeOf(st.Mode); got != n.typ {
		unix.Close(fd)
		c.add("/"+rel, "type", typeName(n.typ), typeName(got))
		return -1, nil
	}
	return fd, st
}

// unopened reports the entry name of pfd, found of the right type, that
// could not be opened (err): replaced by another type since, gone, or
// unreadable.
func (c *comparer) unopened(pfd int, name, rel string, n *inode, err error) {
	var st unix.Stat_t
	switch serr := unix.Fstatat(pfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); {
	case serr == unix.ENOENT:
		delete(c.seen, rel) // reported missing
	case serr == nil && typeOf(st.Mode) != n.typ:
		c.add("/"+rel, "type", typeName(n.typ), typeName(typeOf(st.Mode)))
	default:
		c.add("/"+rel, "unreadable", typeName(n.typ), err.Error())
	}
}

// dir compares the directory name of pfd and walks it from its descriptor.
// Once done, it reports a path that no longer names the directory walked.
func (c *comparer) dir(pfd int, name, rel string, n *inode) error {
	show := "/" + rel
	fd, st := c.openEntry(pfd, name, rel, n, unix.O_DIRECTORY)
	if fd < 0 {
		return nil
	}
	defer unix.Close(fd)
	c.meta(show, n, st)
	if err := c.walk(fd, rel); err != nil {
		return err
	}
	var now unix.Stat_t
	switch err := unix.Fstatat(pfd, name, &now, unix.AT_SYMLINK_NOFOLLOW); {
	case err == unix.ENOENT:
		c.add(show, "replaced", "the directory walked", "nothing")
	case err != nil:
		return fmt.Errorf("stat %q: %w", show, err)
	case typeOf(now.Mode) != 'd':
		c.add(show, "type", typeName('d'), typeName(typeOf(now.Mode)))
	case now.Dev != st.Dev || now.Ino != st.Ino:
		c.add(show, "replaced", "the directory walked", "another directory")
	}
	return nil
}

// file compares the regular file name of pfd, reading it from the
// descriptor fstat said is a regular file.
func (c *comparer) file(pfd int, name, rel string, n *inode) {
	show := "/" + rel
	fd, st := c.openEntry(pfd, name, rel, n, 0)
	if fd < 0 {
		return
	}
	defer unix.Close(fd)
	c.meta(show, n, st)
	key := fileKey{st.Dev, st.Ino}
	if prev, ok := c.inos[n]; ok && prev != key {
		c.add(show, "hardlink", "same file as its hardlinks", "a separate file")
	}
	if other, ok := c.byIno[key]; ok && other != n {
		c.add(show, "hardlink", "a separate file", "hardlinked to another path")
	}
	c.inos[n], c.byIno[key] = key, n
	if st.Size != n.size {
		c.add(show, "size", fmt.Sprint(n.size), fmt.Sprint(st.Size))
		return
	}
	sum, err := c.sum(fd)
	if err != nil {
		c.add(show, "unreadable", "file", err.Error())
	} else if n.sum == nil || sum != *n.sum {
		want := "unknown"
		if n.sum != nil {
			want = fmt.Sprintf("sha256:%x", *n.sum)
		}
		c.add(show, "content", want, fmt.Sprintf("sha256:%x", sum))
	}
}

// meta compares mode, owner and mtime.
func (c *comparer) meta(show string, n *inode, st *unix.Stat_t) {
	if got := st.Mode & 0o7777; got != n.mode && n.typ != 'l' {
		c.add(show, "mode", fmt.Sprintf("%#o", n.mode), fmt.Sprintf("%#o", got))
	}
	if c.owners && (int(st.Uid) != n.uid || int(st.Gid) != n.gid) {
		c.add(show, "owner", fmt.Sprintf("%d:%d", n.uid, n.gid), fmt.Sprintf("%d:%d", st.Uid, st.Gid))
	}
	if n.hasTime && (st.Mtim.Sec != n.mtime.Unix() || st.Mtim.Nsec != int64(n.mtime.Nanosecond())) {
		c.add(show, "mtime", n.mtime.UTC().String(), time.Unix(st.Mtim.Sec, st.Mtim.Nsec).UTC().String())
	}
}

// sum hashes the open regular file fd, checking the context between reads.
func (c *comparer) sum(fd int) ([32]byte, error) {
	var sum [32]byte
	h := sha256.New()
	for {
		if err := c.ctx.Err(); err != nil {
			return sum, err
		}
		n, err := unix.Read(fd, c.buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return sum, err
		}
		if n == 0 {
			break
		}
		h.Write(c.buf[:n])
	}
	h.Sum(sum[:0])
	return sum, nil
}

// missing reports what the model has and the walk did not see in the
// directories it walked: below a path already reported (missing, or of
// another type), a missing entry is no news.
func (c *comparer) missing() {
	var missing []string
	for k := range c.m.nodes {
		if !c.seen[k] {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	for _, k := range missing {
		if parent, _ := split(k); !c.walked[parent] {
			continue
		}
		c.add("/"+k, "missing", typeName(c.m.nodes[k].typ), "nothing")
	}
}

// readNames lists the directory open as fd, without "." and "..".
func readNames(fd int, buf []byte) ([]string, error) {
	var names []string
	for {
		n, err := unix.ReadDirent(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
}

// readlinkat reads the symlink pfd/name.
func readlinkat(pfd int, name string) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(pfd, name, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}
